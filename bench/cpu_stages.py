"""The CPU stages in Beam vs a plain Python loop over the same pure functions, measured in one run.

Work: N prompts x 4 recorded candidates (bench/make_prompts.py) through read + dedupe, verify (math,
code in the sandbox, instruction constraints), rule-based RISE injection, verified / self-edit / delta
pairs with verifier-grounded rationales, routing by uncertainty score under a budget, and Parquet output.

- loop: one process, one core, calling the stages' per-record functions (`parse_row`, each stage's
  `handle`, `score_pair`, `select`, `to_row`) in a for loop, and writing the pairs and dead letters as
  Parquet. It is the best case a hand-written script gets: no framework, no bookkeeping beyond a list.
- prefmill: `prefmill run` on the quickstart config with the same input, with 1 worker (in_memory) and
  with 2 workers (multi_processing); the time includes the Delta commit.
Both sides must produce the same number of pairs and dead letters, or the bench fails.

Goals (issue 9): one worker within 1.5x of the loop's time; two workers faster than one.

    python bench/cpu_stages.py --n 100000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_prompts import write_prompts  # noqa: E402
from scale import bench_config  # noqa: E402


def plain_loop(input_path: str, out_dir: str, config_path: str) -> dict:
    """The whole job as a plain loop; returns counts. Imports happen inside, so they are timed too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from prefmill.pipelines.config import load_config
    from prefmill.schemas import DeadLetter, PreferencePair, Routing, arrow_schema, to_row
    from prefmill.transforms.base import Reject
    from prefmill.transforms.generate import CheckCandidates
    from prefmill.transforms.parse import RowError, parse_row
    from prefmill.transforms.pairs import BuildPairs
    from prefmill.transforms.rise import InjectErrors
    from prefmill.transforms.route.policy import select
    from prefmill.transforms.route.stage import score_pair
    from prefmill.transforms.verify import Verify

    config = load_config(config_path)
    fields = config.input.field_map()
    stages = [CheckCandidates(config.generate), Verify(config.verify), InjectErrors(config.inject),
              BuildPairs(config.pairs, "loop", config.data_hash())]
    dead: list[dict] = []
    pairs: list = []
    items = []
    seen: set[str] = set()

    def reject(stage: str, reason: str, payload: str) -> None:
        dead.append(to_row(DeadLetter(stage=stage, reason=reason, payload=payload, error="", run_id="loop")))

    with open(input_path, "rb") as handle:
        for line in handle:
            try:
                record = parse_row(line.rstrip(b"\n"), fields, default_domain=config.input.default_domain,
                                   default_model=config.input.candidate_model, max_row_bytes=config.input.max_row_bytes)
            except RowError as err:
                reject("read", err.reason, line.decode("utf-8", "replace"))
                continue
            if record.prompt.id in seen:
                reject("dedupe", "duplicate_id", record.prompt.id)
                continue
            seen.add(record.prompt.id)
            batch = [record]
            for stage in stages:
                following = []
                for element in batch:
                    for out in stage.handle(element):
                        if isinstance(out, Reject):
                            reject(stage.name, out.reason, out.record_id or "")
                        else:
                            following.append(out)
                batch = following
            for pair in batch:
                scored, item = score_pair(pair, config.route)
                pairs.append(scored)
                if item.eligible:
                    items.append(item)
    human = select(items, config.route)
    rows = []
    for pair in pairs:
        if pair.id in human:
            pair = pair.model_copy(update={"routing": Routing(decision="human", score=pair.routing.score,
                                                              policy=pair.routing.policy)})
        rows.append(to_row(pair))
    os.makedirs(out_dir, exist_ok=True)
    for name, table_rows, model in (("pairs", rows, PreferencePair), ("dead_letters", dead, DeadLetter)):
        with pq.ParquetWriter(os.path.join(out_dir, f"{name}.parquet"), arrow_schema(model), compression="zstd") as w:
            for start in range(0, len(table_rows), 5000):
                w.write_table(pa.Table.from_pylist(table_rows[start:start + 5000], schema=arrow_schema(model)))
    return {"pairs": len(rows), "dead_letters": len(dead), "human": len(human)}


def run_loop(input_path: str, directory: str, config_path: str) -> dict:
    """The loop in its own process (like prefmill), timed from process start to exit."""
    started = time.monotonic()
    code = (f"import sys, json; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
            f"from cpu_stages import plain_loop; "
            f"print(json.dumps(plain_loop({input_path!r}, {os.path.join(directory, 'loop-out')!r}, {config_path!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["seconds"] = time.monotonic() - started
    return result


def run_prefmill(input_path: str, directory: str, workers: int, mode: str) -> dict:
    config_path = os.path.join(directory, f"cpu-{workers}w.yaml")
    output = os.path.join(directory, f"cpu-dataset-{workers}w-{time.time_ns()}")
    with open(config_path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(bench_config(input_path, output, workers, mode), handle)
    prefmill = os.path.join(os.path.dirname(sys.executable), "prefmill")
    started = time.monotonic()
    out = subprocess.run([prefmill, "run", config_path, "--no-progress"], capture_output=True, text=True)
    seconds = time.monotonic() - started
    if out.returncode != 0:
        raise SystemExit(f"prefmill run failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    pairs = int(re.search(r"pairs written ([\d,]+)", out.stdout).group(1).replace(",", ""))
    dead = int(re.search(r"dead-letter rows ([\d,]+)", out.stdout).group(1).replace(",", ""))
    human = int(re.search(r"routing: human ([\d,]+)", out.stdout).group(1).replace(",", ""))
    return {"seconds": seconds, "pairs": pairs, "dead_letters": dead, "human": human, "config": config_path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "prefmill-bench"))
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    input_path = os.path.join(args.dir, f"prompts-{args.n}.jsonl")
    if not os.path.exists(input_path):
        write_prompts(input_path, args.n)
    print(f"bench/cpu_stages.py: {args.n:,} prompts x 4 candidates, {os.cpu_count()} cores", flush=True)
    one = run_prefmill(input_path, args.dir, 1, "in_memory")
    print(f"prefmill, 1 worker : {one['seconds']:7.1f}s  {one['pairs']:,} pairs", flush=True)
    loop = run_loop(input_path, args.dir, one["config"])
    print(f"plain loop, 1 core : {loop['seconds']:7.1f}s  {loop['pairs']:,} pairs", flush=True)
    two = run_prefmill(input_path, args.dir, 2, "multi_processing")
    print(f"prefmill, 2 workers: {two['seconds']:7.1f}s  {two['pairs']:,} pairs", flush=True)
    for result in (one, two):
        if (result["pairs"], result["dead_letters"], result["human"]) != (loop["pairs"], loop["dead_letters"], loop["human"]):
            raise SystemExit(f"outputs differ: loop {loop}, prefmill {result}")
    print(f"1 worker / loop = {one['seconds'] / loop['seconds']:.2f} (goal <= 1.5)")
    print(f"2 workers / 1 worker = {two['seconds'] / one['seconds']:.2f} (goal < 1); "
          f"2 workers / loop = {two['seconds'] / loop['seconds']:.2f}")


if __name__ == "__main__":
    main()
