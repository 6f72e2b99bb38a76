"""`openai.machine_concurrency`: one pool of in-flight slots per server for every process of a machine.

Checked with real processes against a real local server, which counts what it has in flight: two client
processes (and a two-worker pipeline run) never exceed the pool together, while without it they do; a
SIGKILLed holder gives its slots back; a cancelled waiter keeps none."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import run_config
from prefmill.schemas import ConfigError
from prefmill.transforms.llm.adaptive import AdaptiveGate
from prefmill.transforms.llm.machine_slots import MachineSlots

from llm_server import FakeLLMServer, preference_answer

CLIENT = textwrap.dedent("""
    import json, sys
    from prefmill.transforms.llm import LLMRequest, SamplingParams
    from prefmill.transforms.llm.openai_compat import OpenAICompatibleHandler, OpenAIOptions
    url, tag, pool = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    options = OpenAIOptions(base_url=url, max_concurrency=8, machine_concurrency=pool)
    handler = OpenAICompatibleHandler(model_id="m", options=options)
    requests = [LLMRequest(f"{tag}{i}", "m", [{"role": "user", "content": f"{tag} {i}"}], SamplingParams())
                for i in range(48)]
    print(sum(1 for r in handler.run_inference(requests, handler.load_model()) if r.ok))
""")


def _two_clients(tmp_path, url: str, pool) -> list[int]:
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    env = {**os.environ, "PREFMILL_SLOTS_DIR": str(tmp_path / "slots")}
    clients = [subprocess.Popen([sys.executable, str(script), url, tag, json.dumps(pool)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    answered = []
    for client in clients:
        out, err = client.communicate(timeout=120)
        assert client.returncode == 0, err[-2000:]
        answered.append(int(out.strip()))
    return answered


def test_two_processes_share_one_pool_and_exceed_it_without(tmp_path):
    with FakeLLMServer(latency_s=0.03) as server:
        assert _two_clients(tmp_path, server.url, 5) == [48, 48]  # every request answered
        shared = server.max_in_flight
    with FakeLLMServer(latency_s=0.03) as server:
        _two_clients(tmp_path, server.url, None)
        alone = server.max_in_flight
    assert shared <= 5
    assert alone > 5  # each process its own 8: the check above can fail


def test_a_killed_holder_gives_its_slots_back(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFMILL_SLOTS_DIR", str(tmp_path))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import asyncio, time
        from prefmill.transforms.llm.machine_slots import MachineSlots
        pool = MachineSlots("http://server/v1", 3)
        async def take(): return [await pool.acquire() for _ in range(3)]
        asyncio.run(take())
        print("held", flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert holder.stdout.readline().strip() == "held"
        pool = MachineSlots("http://server/v1", 3)
        assert pool._take() is None  # all three are held by the other process
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)

        async def take_all():
            return await asyncio.wait_for(asyncio.gather(*(pool.acquire() for _ in range(3))), timeout=30)
        assert sorted(asyncio.run(take_all())) == [0, 1, 2]
        pool.close()
    finally:
        holder.kill()
        holder.wait()


def test_a_cancelled_waiter_keeps_no_slot(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFMILL_SLOTS_DIR", str(tmp_path))

    async def main():
        pool = MachineSlots("http://server/v1", 1)
        gate = AdaptiveGate(4, pool=pool)
        async with gate:
            waiting = asyncio.ensure_future(gate.__aenter__())
            await asyncio.sleep(0.02)
            assert gate.in_flight == 2 and not waiting.done()  # room at the gate, no slot in the pool
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert gate.in_flight == 1
        assert gate.in_flight == 0
        async with gate:  # the one slot is free again
            assert pool._held == {0}
        assert pool._held == set()
    asyncio.run(main())


def _judged_config(tmp_path, url: str, pools: tuple, prompts: int = 0):
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"question {i}"}) + "\n" for i in range(prompts)))
    entry = {"backend": "openai", "sampling": {"max_tokens": 32, "seed": 0}}
    return {
        "input": {"path": str(path)}, "output": {"uri": str(tmp_path / "ds")},
        "generate": {"mode": "models", "cache": {"enabled": False}, "models": [
            {**entry, "name": "policy", "model": "policy", "n": 2,
             "openai": {"base_url": url, "max_concurrency": 8, "machine_concurrency": pools[0]}}]},
        "judge": {"enabled": True, "mode": "listwise", "domains": ["chat"], "models": [
            {**entry, "name": "judge", "model": "judge",
             "openai": {"base_url": url, "max_concurrency": 8, "machine_concurrency": pools[1]}}]},
        "pairs": {"strategies": ["judged"], "min_score_gap": 0.0},
        "runner": {"direct_num_workers": 2, "direct_running_mode": "multi_processing", "small_input_rows": 0},
    }


def test_entries_calling_one_server_must_agree_on_the_pool(tmp_path):
    with pytest.raises(ConfigError) as caught:
        validate_config(_judged_config(tmp_path, "http://127.0.0.1:9/v1", (6, None)))
    assert "disagree on openai.machine_concurrency" in str(caught.value)
    assert "generate.models.0" in str(caught.value) and "judge.models.0" in str(caught.value)
    validate_config(_judged_config(tmp_path, "http://127.0.0.1:9/v1", (6, 6)))


def test_a_two_process_run_keeps_generation_and_judging_within_the_pool(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFMILL_SLOTS_DIR", str(tmp_path / "slots"))  # the worker processes inherit it
    with FakeLLMServer(latency_s=0.02, answer=preference_answer) as server:
        config = validate_config(_judged_config(tmp_path, server.url, (3, 3), prompts=80))
        summary = run_config(config, progress=False)
        assert summary.runner.startswith("FnApiRunner, multi_processing, 2 worker(s)")
        assert summary.balanced and len(server.requests) == 240  # 2 samples of 80 prompts, one request each; 80 judge
        assert server.max_in_flight <= 3


def test_a_waiter_cancelled_behind_another_is_skipped_and_the_rest_are_served(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFMILL_SLOTS_DIR", str(tmp_path))

    async def main():
        pool = MachineSlots("http://server/v1", 1)
        first = await pool.acquire()
        waiters = [asyncio.ensure_future(pool.acquire()) for _ in range(3)]
        await asyncio.sleep(0.01)
        waiters[1].cancel()  # the middle one of three
        pool.release(first)
        second = await asyncio.wait_for(waiters[0], 5)
        pool.release(second)
        third = await asyncio.wait_for(waiters[2], 5)  # the poller passed over the cancelled one
        assert waiters[1].cancelled() and pool._held == {third}
        pool.release(third)
        assert pool._held == set()
    asyncio.run(main())


def test_one_server_is_one_pool_however_its_url_is_spelled(tmp_path):
    from prefmill.transforms.llm.machine_slots import server_key

    assert server_key("HTTP://Host.Example:80/v1/") == server_key("http://host.example/v1") == "http://host.example/v1"
    assert server_key("https://h:8443/v1") == "https://h:8443/v1"
    with pytest.raises(ConfigError):  # the same server spelled twice still has to agree
        config = _judged_config(tmp_path, "http://127.0.0.1:9/v1", (6, 6))
        config["judge"]["models"][0]["openai"].update(base_url="HTTP://127.0.0.1:9/v1/", machine_concurrency=8)
        validate_config(config)


def test_a_slot_directory_others_can_write_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFMILL_SLOTS_DIR", str(tmp_path))
    shared = tmp_path / f"prefmill-slots-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)  # as if another user had made it first
    with pytest.raises(PermissionError, match="PREFMILL_SLOTS_DIR"):
        MachineSlots("http://server/v1", 2)


def test_with_a_pool_batches_start_at_one_round_and_grow_without_one_they_start_full():
    from prefmill.transforms.llm.openai_compat import OpenAICompatibleHandler, OpenAIOptions

    pooled = OpenAICompatibleHandler(model_id="m", max_batch_size=8192, options=OpenAIOptions(
        max_concurrency=64, machine_concurrency=64, samples_per_request=4)).for_groups()
    kwargs = pooled.batch_elements_kwargs()
    assert (kwargs["min_batch_size"], kwargs["max_batch_size"]) == (256, 8192)  # one round: 64 requests x 4
    assert kwargs["target_batch_duration_secs"] is None
    alone = OpenAICompatibleHandler(model_id="m", max_batch_size=8192, options=OpenAIOptions(max_concurrency=64))
    assert alone.batch_elements_kwargs() == {"min_batch_size": 8192, "max_batch_size": 8192}
