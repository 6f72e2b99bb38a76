"""A batch API run killed mid-poll and resumed, beside the same run left alone.

    python bench/batch.py [--prompts N] [--n SAMPLES]

The fake batch server (tests/batch_server.py, a real HTTP server on 127.0.0.1) serves OpenAI's Batch API.
`prefmill run` generates N x SAMPLES requests through the `openai_batch` backend (default 2,500 x 4 =
10,000), in two runs side by side:
- straight: one run, left alone;
- killed: the run's batches are held in progress until the run has polled them, then the run is killed
  (SIGKILL to its process group), the batches are released and the same command is run again.
Printed for each: requests submitted, submitted twice, answered, lost (requests without an answer in the
dataset's candidates), time; and the killed run's submissions per request needed (goal: 1.000, i.e.
0 submitted twice, 0 lost).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from batch_server import FakeBatchServer  # noqa: E402


def write_job(folder: Path, url: str, prompts: int, n: int) -> Path:
    data = folder / "prompts.jsonl"
    with data.open("w") as out:
        for i in range(prompts):
            out.write(json.dumps({"id": f"q{i}", "prompt": f"What is {i} + 1?", "domain": "math",
                                  "reference": {"answer": str(i + 1)}}) + "\n")
    config = {"input": {"path": str(data)}, "output": {"uri": str(folder / "ds")},
              "generate": {"mode": "models", "cache": {"enabled": True}, "models": [
                  {"name": "batch", "backend": "openai_batch", "model": "gpt-test", "n": n,
                   "openai_batch": {"base_url": url, "api_key_env": None, "poll_interval_s": 0.2,
                                    "poll_max_interval_s": 0.5}}]},
              "pairs": {"strategies": ["verified"]}}
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def answer(body: dict) -> str:
    """Half the samples right (even seeds), half off by one: every prompt gets a verified pair."""
    number = int(body["messages"][-1]["content"].split()[2])
    said = number + 1 + (body.get("seed") or 0) % 2
    return f"{number} + 1 = {said}. The answer is {said}."


def run(config: Path, server: FakeBatchServer, kill: bool) -> tuple[float, int]:
    """One `prefmill run` (killed mid-poll and run again, with `kill`): (seconds, killed runs' polls)."""
    command = [sys.executable, "-m", "prefmill.pipelines.cli", "run", str(config)]
    env = {**os.environ, "PREFMILL_PROGRESS": "0"}
    started = time.perf_counter()
    polls_before_kill = 0
    if kill:
        server.hold.set()
        first = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        while server.polls < 3 and first.poll() is None:
            time.sleep(0.05)
        polls_before_kill = server.polls
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        server.hold.clear()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"prefmill run failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started, polls_before_kill


def generate_dead(folder: Path) -> int:
    from prefmill.dataset import run_query

    return run_query(str(folder / "ds"), "SELECT count(*) FROM dead_letters WHERE stage = 'generate'")[1][0][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=2500)
    parser.add_argument("--n", type=int, default=4)
    args = parser.parse_args()
    needed = args.prompts * args.n
    print(f"{needed:,} requests ({args.prompts:,} prompts x {args.n}) through openai_batch and the fake batch server")
    rows = {}
    for name, kill in (("straight", False), ("killed", True)):
        with tempfile.TemporaryDirectory() as tmp, FakeBatchServer(answer=answer) as server:
            folder = Path(tmp)
            seconds, polls = run(write_job(folder, server.url, args.prompts, args.n), server, kill)
            submitted = sum(server.submitted.values())
            twice = sum(1 for times in server.submitted.values() if times > 1)
            cache = folder / "ds" / "_prefmill" / "cache"
            cached = sum(1 for p in cache.rglob("*.json") if p.parent.name != "batches")
            rows[name] = {"submitted": submitted, "twice": twice, "lost": needed - cached, "seconds": seconds,
                          "batches": server.creates, "dead": generate_dead(folder), "polls": polls}
            print(f"{name:<9} batches {server.creates}, requests submitted {submitted:,}, submitted twice {twice:,}, "
                  f"answered {cached:,}, lost {needed - cached:,}, generate dead letters {rows[name]['dead']:,}, "
                  f"{seconds:.1f}s" + (f" (killed after {polls} status polls, then run again)" if kill else ""))
    killed = rows["killed"]
    print(f"killed run: submissions per request needed {killed['submitted'] / needed:.3f} (goal 1.000); "
          f"time killed + resumed / straight {killed['seconds'] / rows['straight']['seconds']:.2f}")


if __name__ == "__main__":
    main()
