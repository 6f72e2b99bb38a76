"""The Generate stage end to end on a real FnApiRunner: a tiny transformers model, and two models behind a
real local OpenAI-compatible server, with failures, the response cache, and a run killed midway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import run_config
from prefmill.dataset import run_query

from llm_server import FakeLLMServer, body_key
from support import REPO, SAMPLE

MATH = [json.loads(line) for line in SAMPLE.read_text().splitlines() if '"domain": "math"' in line][:8]
ANSWERS = {row["prompt"]: row["reference"]["answer"] for row in MATH}


def write_prompts(folder: Path, rows=MATH) -> Path:
    path = folder / "prompts.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "candidates"}) + "\n" for r in rows))
    return path


def strong_weak_answer(body: dict) -> str:
    """The strong model answers with the reference, the weak one is off by one."""
    question = body["messages"][-1]["content"]
    answer = ANSWERS[question]
    if body["model"] == "weak-id":
        try:
            answer = str(int(answer) + 1)
        except ValueError:
            answer = "0"
    return f"Working it out step by step. The answer is {answer}. [{body_key(body)[:12]}]"


def openai_models(url: str, n: int = 2, **openai) -> list[dict]:
    options = {"base_url": url, "max_concurrency": 4, "backoff_base_s": 0.01, **openai}
    return [
        {"name": "strong", "backend": "openai", "model": "strong-id", "n": n, "batch_size": 4, "openai": options,
         "policy": True,
         "sampling": {"temperature": 0.8, "max_tokens": 64, "seed": 1}},
        {"name": "weak", "backend": "openai", "model": "weak-id", "n": n, "batch_size": 4, "openai": options,
         "sampling": {"temperature": 0.8, "max_tokens": 64, "seed": 1}},
    ]


def config_for(prompts: Path, uri: Path, models: list[dict], **generate):
    return validate_config({
        "input": {"path": str(prompts)}, "output": {"uri": str(uri)},
        "generate": {"mode": "models", "models": models, **generate},
        "pairs": {"max_pairs_per_prompt": 4},
    })


def test_two_models_on_an_openai_server_make_verified_pairs(tmp_path):
    with FakeLLMServer(answer=strong_weak_answer) as server:
        config = config_for(write_prompts(tmp_path), tmp_path / "ds", openai_models(server.url))
        summary = run_config(config, progress=False)
        assert len(server.requests) == 8 * 2 * 2
    generate = summary.stage("generate")
    assert generate.extra["requests"] == 32 and generate.extra["cache_misses"] == 32
    assert "LLM requests 32 (generate 32): cache hits 0, cache misses 32" in summary.render()
    assert summary.stage("pairs").emitted == 8 * 4  # 2 strong x 2 weak samples per prompt
    _, rows = run_query(summary.uri, "SELECT DISTINCT chosen_model, rejected_model FROM pairs")
    assert rows == [("strong", "weak")]
    _, rows = run_query(summary.uri, "SELECT count(DISTINCT chosen[1].content) FROM pairs")
    assert rows == [(16,)]  # 2 distinct samples (seed + index) per prompt


def test_failed_requests_become_dead_letters_per_sample(tmp_path):
    def behave(index, body, attempt):
        return "500" if body["model"] == "weak-id" and body["seed"] == 2 else "ok"  # weak sample 1 always fails

    with FakeLLMServer(answer=strong_weak_answer, behave=behave) as server:
        config = config_for(write_prompts(tmp_path), tmp_path / "ds", openai_models(server.url, max_retries=1))
        summary = run_config(config, progress=False)
    assert summary.stage("generate").reasons == {"http_500": 8}
    _, rows = run_query(summary.uri, "SELECT reason, record_id, error FROM dead_letters WHERE stage = 'generate'")
    assert len(rows) == 8 and all(r[1].endswith("/weak/1") and "HTTP 500" in r[2] and "2 attempt" in r[2] for r in rows)
    assert summary.stage("pairs").emitted == 8 * 2 and summary.balanced


def test_a_backend_that_raises_for_a_batch_loses_no_prompt(tmp_path, monkeypatch):
    # failure injection: the weak model's engine raises instead of answering. Its requests become
    # inference_error dead letters; every prompt still goes on with the strong model's candidates.
    from prefmill.transforms.llm.openai_compat import OpenAICompatibleHandler

    answer = OpenAICompatibleHandler.generate

    def generate(self, requests, model):
        if self.model_id == "weak-id":
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return answer(self, requests, model)

    monkeypatch.setattr(OpenAICompatibleHandler, "generate", generate)
    with FakeLLMServer(answer=strong_weak_answer) as server:
        config = config_for(write_prompts(tmp_path), tmp_path / "ds", openai_models(server.url))
        # No pair can be made (every strong answer is right): committed only because it is asked for.
        summary = run_config(config, progress=False, allow_partial=True)
    assert summary.stage("generate").reasons == {"inference_error": 16}  # 8 prompts x 2 weak samples
    assert summary.stage("generate").rows_out == 8 and summary.balanced
    _, rows = run_query(summary.uri, "SELECT DISTINCT error FROM dead_letters WHERE reason = 'inference_error'")
    assert len(rows) == 1 and "illegal memory access" in rows[0][0]
    # every prompt reached pair building with its strong candidates only: all correct, so no pair to make
    assert summary.stage("pairs").rows_in == 8 and summary.stage("pairs").reasons == {"no_failing_candidate": 8}


def test_rerun_is_served_from_the_cache_and_no_cache_flag_bypasses_it(tmp_path):
    with FakeLLMServer(answer=strong_weak_answer) as server:
        config = config_for(write_prompts(tmp_path), tmp_path / "ds", openai_models(server.url))
        first = run_config(config, progress=False)
        second = run_config(config, progress=False)
        assert len(server.requests) == 32
        assert second.stage("generate").extra.get("cache_hits") == 32
        config.generate.cache.enabled = False
        run_config(config, progress=False)
        assert len(server.requests) == 64
    ids = [run_query(first.uri, "SELECT id, chosen[1].content FROM pairs ORDER BY id", version=v)[1] for v in (0, 1)]
    assert ids[0] == ids[1]


def test_tiny_transformers_model_end_to_end(tmp_path, tiny_model):
    models = [{"name": "tiny", "backend": "transformers", "model": str(tiny_model), "n": 2, "batch_size": 8,
               "sampling": {"temperature": 1.0, "max_tokens": 6, "seed": 3}, "transformers": {"batch_size": 4}}]
    config = config_for(write_prompts(tmp_path, MATH[:4]), tmp_path / "ds", models, keep_truncated=True)
    summary = run_config(config, progress=False, allow_partial=True)  # random weights: maybe no pair
    generate = summary.stage("generate")
    assert generate.extra["requests"] == 8 and generate.rows_in == 4
    # Random weights: the text is nonsense, so nothing passes and no prompt gets a pair; every prompt is
    # accounted for with a reason, and nothing crashed.
    assert summary.balanced and summary.rows_in == 4
    pairs = summary.stage("pairs")
    assert pairs.rows_in == 4 and pairs.rows_out + pairs.dead == 4  # every prompt: a pair, or a reason why not
    assert sum(pairs.reasons.values()) == pairs.dead
    _, rows = run_query(summary.uri, "SELECT count(*) FROM dead_letters")
    assert rows[0][0] == summary.rows_dead



def test_killed_run_rerun_repeats_no_finished_request(tmp_path):
    """SIGKILL a run midway, re-run it: no request that had finished (is in the cache) is made again,
    every other request is made exactly once, and the dataset equals an uninterrupted run's."""
    prompts = write_prompts(tmp_path)
    total = 8 * 2 * 3
    with FakeLLMServer(answer=strong_weak_answer, latency_s=0.15) as server:
        config = {"input": {"path": str(prompts)}, "output": {"uri": str(tmp_path / "ds")},
                  "generate": {"mode": "models", "models": openai_models(server.url, n=3, max_concurrency=2)},
                  "pairs": {"max_pairs_per_prompt": 9}}
        config_path = tmp_path / "run.yaml"
        config_path.write_text(json.dumps(config))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        proc = subprocess.Popen([sys.executable, "-m", "prefmill.pipelines.cli", "run", str(config_path),
                                 "--no-progress"], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cache_dir = tmp_path / "ds" / "_prefmill" / "cache"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(list(cache_dir.rglob("*.json"))) < 12:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        cached = {json.loads(p.read_text())["text"].rsplit("[", 1)[1].rstrip("]") for p in cache_dir.rglob("*.json")}
        assert 12 <= len(cached) < total, "the kill should land midway"
        before = len(server.requests)

        summary = run_config(validate_config(config), progress=False)
        rerun = [r["key"][:12] for r in server.requests[before:]]
    assert not set(rerun) & cached  # nothing finished before the kill is asked again
    assert len(rerun) == len(set(rerun)) == total - len(cached)  # everything else exactly once
    assert summary.stage("generate").extra["cache_hits"] == len(cached)

    with FakeLLMServer(answer=strong_weak_answer) as clean_server:
        clean = {**config, "output": {"uri": str(tmp_path / "clean")},
                 "generate": {"mode": "models", "models": openai_models(clean_server.url, n=3)}}
        clean_summary = run_config(validate_config(clean), progress=False)
    query = "SELECT id, chosen[1].content, rejected[1].content FROM pairs ORDER BY id"
    assert run_query(summary.uri, query)[1] == run_query(clean_summary.uri, query)[1]


def test_a_run_lost_to_the_infrastructure_is_not_committed(tmp_path, capsys):
    import json

    from prefmill.pipelines.cli import main
    from prefmill.dataset import DatasetPaths
    from prefmill.dataset.delta import open_table

    config = tmp_path / "down.yaml"
    config.write_text(json.dumps({
        "input": {"path": str(write_prompts(tmp_path))}, "output": {"uri": str(tmp_path / "ds")},
        "generate": {"mode": "models", "models": [{"name": "p", "backend": "openai", "model": "p-id", "n": 2,
                     "openai": {"base_url": "http://127.0.0.1:9", "max_retries": 0, "timeout_s": 0.5}}]}}))
    assert main(["run", str(config), "--no-progress"]) == 1  # the server is down
    err = capsys.readouterr().err
    assert "the run produced no pairs; infrastructure failures: connection_error 16" in err
    assert "--allow-partial" in err and open_table(DatasetPaths.of(str(tmp_path / "ds")).table("pairs")) is None
    assert main(["run", str(config), "--no-progress", "--allow-partial"]) == 0  # asked for: committed
    assert open_table(DatasetPaths.of(str(tmp_path / "ds")).table("pairs")) is not None


def test_a_run_that_lost_most_prompts_to_the_infrastructure_is_not_committed(tmp_path):
    from prefmill.pipelines.launcher import PipelineFailedError

    # Both models' server fails every request of 6 of the 8 prompts: the other 2 make pairs, but 75% of the
    # run was lost to the infrastructure, over the 50% default.
    lost = {row["prompt"] for row in MATH[:6]}
    behave = lambda i, body, a: "500" if body["messages"][-1]["content"] in lost else "ok"  # noqa: E731
    with FakeLLMServer(answer=strong_weak_answer, behave=behave) as server:
        config = config_for(write_prompts(tmp_path), tmp_path / "ds", openai_models(server.url, max_retries=0))
        with pytest.raises(PipelineFailedError, match=r"75% of the prompts were lost to infrastructure failures"):
            run_config(config, progress=False)
        config.output.max_infra_loss = 0.8  # a looser threshold, set by the user: committed
        summary = run_config(config, progress=False)
    assert summary.pairs_written > 0 and summary.pairs_version == 0
