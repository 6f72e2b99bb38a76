"""Streaming at scale on one machine: 100k and 1M prompts with recorded candidates through the CPU stages.

The CPU stages are the quickstart's: read + dedupe, verify (math, code in the sandbox, instruction
constraints), rule-based RISE injection, verified / self-edit / delta pairs with verifier-grounded
rationales, routing by uncertainty score under a budget, and the Delta commit. Each size runs as its own
`prefmill run` process; the peak memory is the proportional set size summed over the whole process tree
(launcher, SDK workers, sandbox pool, sympy helper), sampled every 0.2 s.

Goals (issue 9): peak memory <= 2 GiB at 1M, and time(1M) <= 11 x time(100k).

    python bench/scale.py                      # 100k and 1M, two workers (multi_processing)
    python bench/scale.py --sizes 10000,100000 --workers 1
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_prompts import write_prompts  # noqa: E402
from memory import run_measured  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 2**30


def bench_config(input_path: str, output: str, workers: int, mode: str) -> dict:
    """The quickstart config with the bench input, output and runner."""
    with open(os.path.join(REPO, "pipelines", "configs", "quickstart.yaml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config["name"] = "bench-scale"
    config["input"]["path"] = input_path
    config["output"]["uri"] = output
    config["route"]["budget"] = 1000
    config["runner"] = {"direct_num_workers": workers, "direct_running_mode": mode}
    return config


def prompts_file(directory: str, n: int) -> str:
    path = os.path.join(directory, f"prompts-{n}.jsonl")
    if not os.path.exists(path):
        print(f"generating {n:,} prompts -> {path}", flush=True)
        write_prompts(path, n)
    return path


def run_size(n: int, directory: str, workers: int, mode: str) -> dict:
    output = os.path.join(directory, f"dataset-{n}-{workers}w")
    config_path = os.path.join(directory, f"config-{n}-{workers}w.yaml")
    with open(config_path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(bench_config(prompts_file(directory, n), output, workers, mode), handle)
    prefmill = os.path.join(os.path.dirname(sys.executable), "prefmill")
    result = run_measured([prefmill, "run", config_path, "--no-progress"])
    if result["rc"] != 0:
        raise SystemExit(f"prefmill run failed for {n:,} prompts:\n{result['output'][-3000:]}")
    written = re.search(r"pairs written ([\d,]+)", result["output"])
    job = re.search(r", ([\d.]+)s, config", result["output"])
    result.update(n=n, pairs=int(written.group(1).replace(",", "")), job_seconds=float(job.group(1)))
    print(f"{n:>9,} prompts: {result['seconds']:7.1f}s end to end ({result['job_seconds']:.1f}s Beam job), "
          f"peak memory {result['peak_rss'] / GIB:.2f} GiB, {result['pairs']:,} pairs, "
          f"{n / result['seconds']:,.0f} prompts/s", flush=True)
    tenths = [max((m for t, m in result["timeline"] if i * result["seconds"] / 10 <= t < (i + 1) * result["seconds"] / 10),
                  default=0) for i in range(10)]
    print("           memory by tenth of the run (GiB): " + " ".join(f"{m / GIB:.2f}" for m in tenths), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mode", default="multi_processing", choices=["in_memory", "multi_threading", "multi_processing"])
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "prefmill-bench"))
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"bench/scale.py: {args.workers} worker(s), {args.mode}, sizes {sizes}", flush=True)
    results = [run_size(n, args.dir, args.workers, args.mode) for n in sizes]
    small, large = results[0], results[-1]
    if large["n"] != small["n"]:
        ratio = large["seconds"] / small["seconds"]
        print(f"time({large['n']:,}) / time({small['n']:,}) = {ratio:.2f} for {large['n'] / small['n']:.0f}x the "
              f"prompts (goal <= 11)")
    peak = max(r["peak_rss"] for r in results)
    print(f"peak memory {peak / GIB:.2f} GiB (goal <= 2 GiB at 1M)")


if __name__ == "__main__":
    main()
