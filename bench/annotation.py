"""Annotation throughput: the annotate stage vs a bare asyncio loop sending the same requests, one run.

    python bench/annotation.py [--pairs N] [--latency S] [--concurrency C]

N preference pairs (TRL format) are annotated by one model (blind comparisons in both orders and a
rationale: 3 requests per pair) through `prefmill run`, against a local OpenAI-compatible server in its own
process with a fixed latency per request. The bare loop sends the same request bodies (built by the same
functions) with aiohttp at the same concurrency. Printed: requests/s of both end to end and over the
server's busy window (first request in to last answer out, as the server saw it). Goal: ratio >= 0.95 over
the busy window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from generation import ServerProcess  # noqa: E402

from prefmill.pipelines.config import validate_config  # noqa: E402
from prefmill.pipelines.launcher import run_config  # noqa: E402


def rows(n: int) -> list[dict]:
    return [{"id": f"a{i}", "prompt": f"Explain item {i} of the list in one sentence.",
             "chosen": f"Item {i} is explained here, clearly and briefly.", "rejected": f"Item {i}? No idea."}
            for i in range(n)]


def bodies(data: list[dict], spec: dict, config) -> list[dict]:
    """The request bodies the annotate stage sends for these pairs (built by its own functions)."""
    from prefmill.transforms.annotate.stage import annotate_requests
    from prefmill.transforms.llm.openai_compat import build_body
    from prefmill.transforms.llm.registry import model_spec
    from prefmill.transforms.pairs.incoming import incoming_pairs
    from prefmill.transforms.preference_in import parse_preference_row, preference_fields_for

    entry = model_spec(spec)
    out = []
    for row in data:
        pc = parse_preference_row(row, "trl", preference_fields_for("trl"))
        (pair,) = incoming_pairs(pc, run_id="bench", config_hash="bench")
        out += [build_body(entry.model, r) for r in annotate_requests(pair, config.annotate, entry, first=True)]
    return out


def main() -> None:
    import aiohttp

    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="prefmill-bench-annotate-"))
    data = rows(args.pairs)
    (work / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data))
    server = ServerProcess(args.latency, answers="stand-in")
    try:
        spec = {"name": "annotator", "backend": "openai", "model": "annotator",
                "sampling": {"temperature": 0.0, "max_tokens": 256, "seed": 0},
                "openai": {"base_url": server.url, "max_concurrency": args.concurrency}}
        config = validate_config({
            "input": {"path": str(work / "pairs.jsonl"), "layout": "trl"}, "output": {"uri": str(work / "ds")},
            "pairs": {"strategies": ["incoming"]}, "generate": {"cache": {"enabled": False}},
            "annotate": {"enabled": True, "models": [spec]}})
        requests = bodies(data, spec, config)

        async def bare() -> int:
            gate = asyncio.Semaphore(args.concurrency)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as client:
                async def one(body):
                    async with gate:
                        async with client.post(f"{server.url}/chat/completions", json=body) as reply:
                            await reply.read()
                            return reply.status == 200
                return sum(await asyncio.gather(*(one(b) for b in requests)))

        started = time.perf_counter()
        bare_ok = asyncio.run(bare())
        bare_s = time.perf_counter() - started
        bare_times = server.times()
        bare_busy = max(bare_times) - min(bare_times) + args.latency

        started = time.perf_counter()
        summary = run_config(config, progress=False)
        pipe_s = time.perf_counter() - started
        pipe_times = server.times()[len(bare_times):]
        pipe_busy = max(pipe_times) - min(pipe_times) + args.latency
    finally:
        server.close()
    pipe_n = len(pipe_times)
    assert bare_ok == len(requests) == pipe_n, (bare_ok, len(requests), pipe_n)
    end_to_end = (pipe_n / pipe_s) / (bare_ok / bare_s)
    busy = (pipe_n / pipe_busy) / (bare_ok / bare_busy)
    limit = args.concurrency / args.latency
    print(f"annotation, {args.latency * 1000:.0f} ms per request, concurrency {args.concurrency} ({args.pairs} pairs, "
          f"{pipe_n} requests): pipeline {pipe_n / pipe_s:,.0f} req/s ({pipe_n / pipe_busy:,.0f} over its busy window) "
          f"| bare loop {bare_ok / bare_s:,.0f} req/s ({bare_ok / bare_busy:,.0f}) | limit {limit:,.0f} req/s | "
          f"ratio end to end {end_to_end:.3f} | ratio over the busy window {busy:.3f} | goal >= 0.95: "
          f"{'met' if busy >= 0.95 else 'NOT met'} | pairs written {summary.pairs_written}")


if __name__ == "__main__":
    main()
