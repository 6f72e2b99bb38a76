"""LLM faults (30% of requests fail in five ways), concurrent writers, and secrets never written anywhere."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from prefmill.pipelines.cli import main
from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import run_config
from prefmill.dataset import DatasetPaths, list_versions, run_query

from llm_server import FakeLLMServer, body_key
from support import SAMPLE

ROWS = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
FAULTS = ["429", "500", "timeout", "drop", "malformed"]


def write_prompts(tmp_path: Path, rows) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "candidates"}) + "\n" for r in rows))
    return path


def model(url: str, name: str = "policy", **openai) -> dict:
    return {"name": name, "backend": "openai", "model": f"{name}-id", "n": 2,
            "sampling": {"temperature": 0.7, "max_tokens": 32},
            "openai": {"base_url": url, "max_concurrency": 8, "backoff_base_s": 0.01, "backoff_max_s": 0.2,
                       "timeout_s": 0.5, "max_retries": 3, **openai}}


def flaky(index: int, body: dict, attempt: int) -> str:
    """30% of attempts fail, spread over five failure modes, decided by the request and the attempt."""
    roll = int(hashlib.sha256(f"{body_key(body)}:{attempt}".encode()).hexdigest(), 16) % 100
    return FAULTS[roll % 5] if roll < 30 else "ok"


def test_thirty_percent_faults_every_prompt_is_accounted_for(tmp_path):
    rows = ROWS[:40]
    with FakeLLMServer(behave=flaky, retry_after="0.05", hang_s=1.0) as server:
        summary = run_config(validate_config({
            "input": {"path": str(write_prompts(tmp_path, rows))}, "output": {"uri": str(tmp_path / "ds")},
            "generate": {"mode": "models", "models": [model(server.url)]},
        }), progress=False, allow_partial=True)  # one policy model of right answers: no pair to make
        behaviours = [r["behaviour"] for r in server.requests]
    injected = sum(b != "ok" for b in behaviours)
    print(f"\nfaults injected: {injected} of {len(behaviours)} requests "
          f"({', '.join(f'{f} {behaviours.count(f)}' for f in FAULTS)})")
    assert 0.2 < injected / len(behaviours) < 0.4 and set(behaviours) >= set(FAULTS)
    assert summary.balanced and summary.rows_in == 40
    _, pairs = run_query(summary.uri, "SELECT DISTINCT prompt_id FROM pairs")
    _, dead = run_query(summary.uri, "SELECT DISTINCT record_id FROM dead_letters WHERE stage != 'generate'")
    accounted = {p for (p,) in pairs} | {d for (d,) in dead}
    assert accounted == {r["id"] for r in rows}  # every prompt is output or dead letter
    generate = summary.stage("generate").extra
    failed = sum(summary.stage("generate").reasons.get(k, 0) for k in summary.stage("generate").reasons)
    assert generate["requests"] == 80 and failed <= 2  # retries absorb nearly all of the faults


def test_two_concurrent_writers_both_land_or_one_fails_clearly(tmp_path):
    uri = tmp_path / "ds"
    config = {"input": {"path": str(SAMPLE)}, "output": {"uri": str(uri), "mode": "append"}}
    (tmp_path / "run.yaml").write_text(json.dumps(config))
    run_config(validate_config(config), progress=False)  # version 0 exists: both writers append
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    procs = [subprocess.Popen([sys.executable, "-m", "prefmill.pipelines.cli", "run", str(tmp_path / "run.yaml"),
                               "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    for code, err in results:
        assert code == 0 or (code == 2 and "concurrent commit" in err), err[-500:]
    versions = list_versions(DatasetPaths.of(str(uri)).table("pairs"))
    landed = 1 + sum(code == 0 for code, _ in results)
    print(f"\nconcurrent writers: exit codes {[code for code, _ in results]}, versions {len(versions)}")
    assert [v.version for v in versions] == list(range(landed))
    per_run = versions[0].rows
    assert run_query(str(uri), "SELECT count(*) FROM pairs")[1] == [(per_run * landed,)]


def test_api_key_is_never_written_anywhere(tmp_path, monkeypatch, capsys):
    secret = "sk-prefmill-SECRET-0123456789"
    monkeypatch.setenv("PREFMILL_RELIABILITY_KEY", secret)
    # Errors that echo the request's Authorization header (401 and 500 bodies) end up in dead letters.
    echo = lambda i, b, a: "401-echo" if i % 7 == 3 else "500-echo" if i % 7 == 5 else "ok"  # noqa: E731
    with FakeLLMServer(behave=echo) as server:
        config = {"input": {"path": str(write_prompts(tmp_path, ROWS[:12]))}, "output": {"uri": str(tmp_path / "ds")},
                  "generate": {"mode": "models", "models": [model(server.url, api_key_env="PREFMILL_RELIABILITY_KEY",
                                                                  max_retries=0)]}}
        (tmp_path / "run.yaml").write_text(json.dumps(config))
        assert main(["run", str(tmp_path / "run.yaml"), "--allow-partial"]) == 0
        assert all(r["auth"] == f"Bearer {secret}" for r in server.requests)  # it was used
    uri = str(tmp_path / "ds")
    assert main(["export", uri, "--format", "jsonl", "--out", str(tmp_path / "export")]) == 0
    assert main(["report", uri, "--out", str(tmp_path / "report.html")]) == 0
    assert main(["sql", uri, "SELECT * FROM dead_letters"]) == 0
    out = capsys.readouterr()
    assert secret not in out.out + out.err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert main(["sql", uri, "SELECT count(*) FROM dead_letters WHERE error LIKE '%REDACTED%'", "--format", "csv"]) == 0
    assert int(capsys.readouterr().out.splitlines()[-1]) > 0  # the echoes were there, and were redacted
