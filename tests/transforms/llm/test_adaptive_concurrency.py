"""Adaptive concurrency (AIMD) against a real local server whose capacity changes during the run: requests
over its capacity get 429, the handler's in-flight limit halves, then grows back when the capacity does,
and no request is lost. The gate's own rules are checked without a server (no clock: answers drive it)."""

from __future__ import annotations

import asyncio
import threading

from prefmill.transforms.llm import LLMRequest, SamplingParams
from prefmill.transforms.llm.adaptive import AdaptiveGate
from prefmill.transforms.llm.openai_compat import OpenAICompatibleHandler, OpenAIOptions

from llm_server import FakeLLMServer


def test_the_gate_halves_once_per_round_and_grows_back_additively():
    gate = AdaptiveGate(32, min_concurrency=2)
    for _ in range(10):  # one round of overload answers: only the first halves the limit
        gate.overloaded()
    assert gate.size == 16
    for _ in range(8):
        gate.overloaded()  # answers 11-18: the round of 16 after the first halving ends at 17: halved again
    assert gate.size == 8
    for _ in range(200):
        gate.answered()
    assert gate.size == 21  # +1/limit per answer: about one more per round (sqrt(8^2 + 2 * 200) = 21.5)
    for _ in range(2000):
        gate.answered()
    assert gate.size == 32  # never past the bound
    fixed = AdaptiveGate(32, adaptive=False)
    fixed.overloaded()
    assert fixed.size == 32 and AdaptiveGate(4, min_concurrency=3).size == 4


def test_the_gate_never_lets_more_than_its_size_in():
    async def main():
        gate, peak, seen = AdaptiveGate(6, min_concurrency=1), 0, []

        async def one(i):
            nonlocal peak
            async with gate:
                peak = max(peak, gate.in_flight)
                seen.append(gate.in_flight <= gate.size)
                await asyncio.sleep(0)
                (gate.overloaded if 50 <= i < 60 else gate.answered)()
        await asyncio.gather(*(one(i) for i in range(300)))
        return peak, seen, gate
    peak, seen, gate = asyncio.run(main())
    assert peak == 6 and all(seen) and gate.lowest < 6 and gate.in_flight == 0


def test_a_server_whose_capacity_shrinks_and_grows_back_loses_no_request():
    state = {"served": 0, "capacity": 24}
    lock = threading.Lock()
    server = FakeLLMServer(latency_s=0.02, retry_after="0")

    def behave(index, body, attempt):
        with lock:
            # capacity 24 for the first 150 answers, 6 until 450, then 24 again
            state["capacity"] = 6 if 150 <= state["served"] < 450 else 24
            if server.in_flight >= state["capacity"]:
                return "429"
            state["served"] += 1
            return "ok"

    server.behave = behave
    with server:
        options = OpenAIOptions(base_url=server.url, max_concurrency=24, min_concurrency=2, max_retries=50,
                                backoff_base_s=0.005, backoff_max_s=0.05)
        handler = OpenAICompatibleHandler(model_id="m", options=options)
        endpoint = handler.load_model()
        requests = [LLMRequest(f"p{i}", "m", [{"role": "user", "content": f"q{i}"}], SamplingParams())
                    for i in range(900)]
        out = list(handler.run_inference(requests, endpoint))
        gate = endpoint.gate
    assert all(r.ok for r in out) and len(out) == 900  # every request answered, none lost
    assert sum(1 for r in server.requests if r["behaviour"] == "429") > 0
    assert gate.lowest <= 6  # it backed off to the small capacity
    assert gate.size > gate.lowest  # and grew back when the capacity did
