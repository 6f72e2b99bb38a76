"""Adaptive concurrency against fixed settings, on a server whose capacity changes during the run.

    python bench/adaptive.py [--requests N] [--latency S]

A local OpenAI-compatible server answers 429 (Retry-After: 0.2 s) to any request beyond its capacity, which
is 24 requests in flight for the first third of the answers, 6 for the second third and 24 again after.
The same N requests go through the openai handler with adaptive concurrency (max 24) and with each fixed
in-flight limit of a sweep (adaptive off). Printed: each setting's time, requests/s and 429s, and the
adaptive run's throughput against the best fixed one. Goal: within 20%.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from llm_server import FakeLLMServer  # noqa: E402

from prefmill.transforms.llm import LLMRequest, SamplingParams  # noqa: E402
from prefmill.transforms.llm.openai_compat import OpenAICompatibleHandler, OpenAIOptions  # noqa: E402


def one_run(n: int, latency: float, concurrency: int, adaptive: bool) -> tuple[float, int, int]:
    state = {"served": 0}
    lock = threading.Lock()
    server = FakeLLMServer(latency_s=latency, retry_after="0.2")

    def behave(index, body, attempt):
        with lock:
            capacity = 6 if n // 3 <= state["served"] < 2 * n // 3 else 24
            if server.in_flight >= capacity:
                return "429"
            state["served"] += 1
            return "ok"

    server.behave = behave
    with server:
        options = OpenAIOptions(base_url=server.url, max_concurrency=concurrency, adaptive_concurrency=adaptive,
                                max_retries=100, backoff_base_s=0.05, backoff_max_s=1.0)
        handler = OpenAICompatibleHandler(model_id="m", options=options, max_batch_size=n)
        endpoint = handler.load_model()
        requests = [LLMRequest(f"p{i}", "m", [{"role": "user", "content": f"q{i}"}], SamplingParams())
                    for i in range(n)]
        started = time.perf_counter()
        out = list(handler.run_inference(requests, endpoint))
        seconds = time.perf_counter() - started
        rejected = sum(1 for r in server.requests if r["behaviour"] == "429")
        endpoint.close()
    assert all(r.ok for r in out), "a request was lost"
    return seconds, rejected, endpoint.gate.size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    fixed = {}
    for limit in (4, 6, 8, 12, 16, 24):
        seconds, rejected, _ = one_run(args.requests, args.latency, limit, adaptive=False)
        fixed[limit] = seconds
        print(f"fixed {limit:>2} in flight: {seconds:6.2f} s, {args.requests / seconds:6.1f} req/s, {rejected} 429s",
              flush=True)
    seconds, rejected, settled = one_run(args.requests, args.latency, 24, adaptive=True)
    best = min(fixed, key=fixed.get)
    ratio = fixed[best] / seconds
    print(f"adaptive (AIMD, 1-24): {seconds:6.2f} s, {args.requests / seconds:6.1f} req/s, {rejected} 429s, "
          f"settled at {settled} | best fixed: {best} in flight | adaptive / best fixed throughput {ratio:.3f} | "
          f"goal >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'}")


if __name__ == "__main__":
    main()
