"""A small run's fixed cost, broken down, beside a bare `import apache_beam` in the same benchmark.

    python bench/startup.py [--repeat 5]

Each measurement runs in a fresh process, `--repeat` times; medians are printed:
- `python -c "import apache_beam"`: the floor any Beam tool pays;
- `python -c "import prefmill.pipelines.launcher"`: prefmill's imports;
- `prefmill run` of the quickstart on 1 prompt (no model), and of an LLM job on 1 prompt (4 generations
  in one request and a listwise judge call, against a local server with 200 ms per request, like
  bench/vs_distilabel.py's job), end to end, with the LLM job run both as configured (two worker processes,
  as the throughput benchmarks run it) and with `runner.small_input_rows: 0` (what it cost before a tiny
  input ran on one in-process worker).
Each run is broken down from the run's own record (`phases` in its summary.json) and the clock around it:
start (interpreter and imports, until run_config begins), checks, build (the Beam graph), job, commit, and
exit (after the commit until the process is gone); for the LLM jobs also the job's time before the first
request reached the server and after the last one was answered.
The goal of issue 22: a 1-prompt LLM job under 3 s and a 1-prompt quickstart under 2 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from generation import ServerProcess  # noqa: E402
from vs_distilabel import prefmill_config, write_prompts  # noqa: E402


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - started


PARTS = ("start", "checks", "build", "job", "commit", "exit")


def run_parts(config: Path, uri: Path, cwd: Path, server=None) -> tuple[float, dict[str, float]]:
    """One `prefmill run`: (seconds end to end, seconds of each part; with `server`, the job's edges)."""
    seen = len(server.times()) if server is not None else 0
    launched = time.monotonic()
    subprocess.run([str(Path(sys.executable).parent / "prefmill"), "run", str(config), "--no-progress"],
                   check=True, capture_output=True, cwd=cwd)
    ended = time.monotonic()
    [summary_file] = uri.glob("_prefmill/runs/*/summary.json")
    summary = json.loads(summary_file.read_text())
    phases, began = summary["phases"], summary["started_at"]
    parts = {"start": began - launched, **phases, "exit": ended - began - sum(phases.values())}
    if server is not None:
        times = server.times()[seen:]
        job_began = began + phases["checks"] + phases["build"]
        parts["before first request"] = min(times) - job_began
        parts["after last answer"] = job_began + phases["job"] - (max(times) + 0.2)  # answers take 0.2 s
    return ended - launched, parts


def median(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f} s (range {min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    python, prefmill = sys.executable, str(Path(sys.executable).parent / "prefmill")
    work = Path(tempfile.mkdtemp(prefix="prefmill-bench-startup-"))
    one = work / "one.jsonl"
    one.write_text(next(line for line in (REPO / "sample_data" / "prompts.jsonl").read_text().splitlines()
                        if '"domain": "math"' in line) + "\n")
    quickstart = yaml.safe_load((REPO / "pipelines" / "configs" / "quickstart.yaml").read_text())
    quickstart["input"]["path"] = str(one)
    jobs = ("quickstart", "llm", "llm_two_workers")
    results: dict[str, list[float]] = {k: [] for k in ("beam", "prefmill") + jobs}
    parts: dict[str, list[dict[str, float]]] = {k: [] for k in jobs}
    server = ServerProcess(0.2, answers="preference")
    try:
        prompts = write_prompts(work, 1)
        for i in range(args.repeat):
            results["beam"].append(timed([python, "-c", "import apache_beam"], work))
            results["prefmill"].append(timed([python, "-c", "import prefmill.pipelines.launcher"], work))
            for job in jobs:
                uri = work / f"{job}{i}"
                if job == "quickstart":
                    raw = {**quickstart, "output": {"uri": str(uri)}}
                else:
                    raw = prefmill_config(prompts, uri, server.url, 32)
                    if job == "llm_two_workers":
                        raw["runner"]["small_input_rows"] = 0
                config = work / f"{job}{i}.yaml"
                config.write_text(yaml.safe_dump(raw))
                seconds, breakdown = run_parts(config, uri, work, None if job == "quickstart" else server)
                results[job].append(seconds)
                parts[job].append(breakdown)
    finally:
        server.close()
    print(f"import apache_beam                 : {median(results['beam'])}")
    print(f"import prefmill (launcher)         : {median(results['prefmill'])}")
    print(f"1-prompt quickstart                : {median(results['quickstart'])}  goal < 2 s")
    print(f"1-prompt LLM job (2 requests)      : {median(results['llm'])}  goal < 3 s")
    print(f"  the same on two worker processes : {median(results['llm_two_workers'])}  (runner.small_input_rows: 0)")
    base = statistics.median(results["beam"])
    print("as multiples of a bare Beam import: " + ", ".join(
        f"{name} {statistics.median(values) / base:.1f}x" for name, values in results.items() if name != "beam"))
    print("medians of each part (s):")
    names = list(PARTS) + ["before first request", "after last answer"]
    print(f"  {'':<18}" + "".join(f"{n[:14]:>15}" for n in names))
    for job in jobs:
        cells = [statistics.median(p[n] for p in parts[job]) if n in parts[job][0] else None for n in names]
        print(f"  {job:<18}" + "".join(f"{c:>15.2f}" if c is not None else f"{'-':>15}" for c in cells))
    print(json.dumps({k: [round(v, 3) for v in vals] for k, vals in results.items()}))


if __name__ == "__main__":
    main()
