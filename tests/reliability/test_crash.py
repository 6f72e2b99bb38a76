"""Crash safety: runs killed with SIGKILL at random moments (generation, Parquet write, commit), then re-run.

After every kill: the table log reads, versions are contiguous, every version holds exactly the rows its
commit says, the previous version is untouched; after the re-run: the newest version equals an
uninterrupted run (no pair lost, none duplicated) and finished LLM requests came from the cache.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import FAULT_ENV, run_config
from prefmill.dataset import DatasetPaths, list_versions, run_query
from prefmill.dataset.overview import _hashes

from llm_server import FakeLLMServer, body_key
from support import SAMPLE

MATH = [json.loads(line) for line in SAMPLE.read_text().splitlines() if '"domain": "math"' in line][:8]
ANSWERS = {r["prompt"]: r["reference"]["answer"] for r in MATH}
KILLS = 10


def answer(body):
    reference = ANSWERS[body["messages"][-1]["content"]]
    if body["model"] == "weak-id":
        reference = str(int(reference) + 1) if reference.isdigit() else "0"
    return f"Step by step. The answer is {reference}. [{body_key(body)[:10]}]"


def config_dict(prompts, uri, url):
    spec = lambda name: {"name": name, "backend": "openai", "model": f"{name}-id", "n": 2,  # noqa: E731
                         "sampling": {"temperature": 0.8, "max_tokens": 32},
                         "openai": {"base_url": url, "max_concurrency": 2, "backoff_base_s": 0.01}}
    return {"input": {"path": str(prompts)}, "output": {"uri": str(uri), "mode": "overwrite"},
            "generate": {"mode": "models", "models": [spec("strong"), spec("weak")]},
            "pairs": {"max_pairs_per_prompt": 4}}


def check_table(uri: str) -> list:
    versions = list_versions(DatasetPaths.of(uri).table("pairs"))
    assert [v.version for v in versions] == list(range(len(versions)))  # contiguous: no half version
    for v in versions:
        rows = run_query(uri, "SELECT count(*), count(DISTINCT id) FROM pairs", version=v.version)[1][0]
        assert rows == (v.rows, v.rows)  # exactly the rows its commit recorded, no duplicate ids
    return versions


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "candidates"}) + "\n" for r in MATH))
    rng = random.Random(20261122)
    with FakeLLMServer(answer=answer, latency_s=0.03) as server:
        clean = run_config(validate_config(config_dict(prompts, tmp_path / "clean", server.url)), progress=False)
        reference = _hashes(clean.uri, clean.pairs_version)
        uri = tmp_path / "ds"
        config = config_dict(prompts, uri, server.url)
        config_path = tmp_path / "run.json"
        config_path.write_text(json.dumps(config))
        first = run_config(validate_config(config), progress=False)  # version 0: the one that must stay untouched
        v0 = _hashes(first.uri, 0)
        killed, at_points = 0, {3: "before_commit", 7: "between_commits"}
        for attempt in range(KILLS):
            # each killed run starts from an empty cache, so the kill lands in generation, writing or commit
            cache = uri / "_prefmill" / "cache"
            subprocess.run(["rm", "-rf", str(cache)], check=True)
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            if attempt in at_points:
                env[FAULT_ENV] = at_points[attempt]
            proc = subprocess.Popen([sys.executable, "-m", "prefmill.pipelines.cli", "run", str(config_path),
                                     "--no-progress"], env=env, start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if attempt not in at_points:
                time.sleep(rng.uniform(0.5, 4.0))
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            killed += proc.returncode == -signal.SIGKILL
            check_table(str(uri))
            assert _hashes(str(uri), 0) == v0  # the previous version is untouched
            before = len(server.requests)
            rerun = run_config(validate_config(config), progress=False)
            assert _hashes(rerun.uri, rerun.pairs_version) == reference  # nothing lost or duplicated
            generate = rerun.stage("generate").extra
            assert generate.get("cache_hits", 0) + generate.get("cache_misses", 0) == 32
            assert len(server.requests) - before == generate.get("cache_misses", 0)
            check_table(str(uri))
    print(f"\nruns killed with SIGKILL: {killed} of {KILLS}; pairs lost 0, duplicated 0 (checked after every re-run)")
    assert killed >= 8  # most runs really died mid-way (a few may finish before their random moment)
