"""SQL over a 1M-pair dataset version: prefmill's read-only DuckDB session vs pyarrow's own group_by.

    python bench/sql.py [--pairs 1000000] [--repeat 5]

Builds a version of N synthetic pairs with the real pairs schema (written as Parquet parts and committed
through the same Delta commit as a run), then times, side by side in one run, the aggregate
`SELECT domain, pair_source, count(*), avg(margin) ... GROUP BY ALL` through `run_query` (open the Delta
version, register it, lock the session, query) and the same aggregate with pyarrow on the same files.
Goal: the prefmill query answers in under a second. Best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from prefmill.schemas import PreferencePair, arrow_schema
from prefmill.dataset import DatasetPaths, commit_run_files, run_query

QUERY = "SELECT domain, pair_source, count(*) AS pairs, avg(margin) AS margin FROM pairs GROUP BY ALL ORDER BY ALL"


def synthetic_part(start: int, n: int, rng: np.random.Generator) -> pa.Table:
    schema = arrow_schema(PreferencePair)
    idx = np.arange(start, start + n)
    domains = np.array(["math", "code", "instruction", "chat"])[rng.integers(0, 4, n)]
    sources = np.array(["verified", "self_edit", "judged", "delta"])[rng.integers(0, 4, n)]
    ids = [f"{i:024x}" for i in idx]
    message = lambda role, texts: pa.array([[{"role": role, "content": t}] for t in texts],  # noqa: E731
                                           type=schema.field("prompt").type)
    prompts = [f"question {i % 50_000}" for i in idx]
    columns = {
        "id": pa.array(ids), "prompt_id": pa.array([f"p{i % 50_000}" for i in idx]), "domain": pa.array(domains),
        "prompt": message("user", prompts), "chosen": message("assistant", [f"good answer {i}" for i in idx]),
        "rejected": message("assistant", [f"bad answer {i}" for i in idx]),
        "chosen_model": pa.array(["strong"] * n), "rejected_model": pa.array(["weak"] * n),
        "chosen_score": pa.array(np.ones(n)), "rejected_score": pa.array(np.zeros(n)),
        "pair_source": pa.array(sources), "granularity": pa.array(["solution"] * n),
        "margin": pa.array(rng.random(n)), "strength": pa.array(rng.integers(1, 4, n)),
        "rationale": pa.array(["because"] * n), "label_source": pa.array(["verifier"] * n),
        "chosen_candidate_id": pa.array(ids), "rejected_candidate_id": pa.array(ids),
        "run_id": pa.array(["bench"] * n), "config_hash": pa.array(["bench"] * n),
        "created_at": pa.array([datetime.now(timezone.utc)] * n, type=pa.timestamp("us", tz="UTC")),
    }
    arrays = [columns[f.name] if f.name in columns else pa.array([None] * n, type=f.type) for f in schema]
    return pa.Table.from_arrays([a if a.type == f.type else a.cast(f.type) for a, f in zip(arrays, schema)],
                                schema=schema)


def build(uri: str, n_pairs: int, per_file: int = 100_000) -> list[str]:
    table_uri = DatasetPaths.of(uri).table("pairs")
    os.makedirs(f"{table_uri}/bench", exist_ok=True)
    rng = np.random.default_rng(0)
    files, paths = [], []
    for k, start in enumerate(range(0, n_pairs, per_file)):
        part = synthetic_part(start, min(per_file, n_pairs - start), rng)
        relative = f"bench/part-{k:04d}.parquet"
        pq.write_table(part, f"{table_uri}/{relative}", compression="zstd")
        size = os.path.getsize(f"{table_uri}/{relative}")
        files.append({"path": relative, "rows": part.num_rows, "bytes": size, "mtime_ms": 0})
        paths.append(f"{table_uri}/{relative}")
    commit_run_files(table_uri, files, PreferencePair, run_id="bench", metadata={"rows": n_pairs})
    return paths


def best_of(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    uri = os.path.join(tempfile.mkdtemp(prefix="prefmill-bench-sql-"), "ds")
    started = time.perf_counter()
    paths = build(uri, args.pairs)
    print(f"built a {args.pairs:,}-pair version in {time.perf_counter() - started:.1f}s")

    prefmill_s, (_, rows) = best_of(args.repeat, lambda: run_query(uri, QUERY))

    def plain():
        table = pq.ParquetDataset(paths).read(columns=["domain", "pair_source", "margin"])
        return table.group_by(["domain", "pair_source"]).aggregate([("margin", "count"), ("margin", "mean")])

    plain_s, plain_rows = best_of(args.repeat, plain)
    assert sum(r[2] for r in rows) == args.pairs and plain_rows.num_rows == len(rows)
    print(f"aggregate over {args.pairs:,} pairs (group by domain, pair_source): prefmill sql {prefmill_s * 1000:.0f} ms "
          f"(opens the Delta version, read-only session) | pyarrow group_by on the same files {plain_s * 1000:.0f} ms | "
          f"ratio prefmill/pyarrow {prefmill_s / plain_s:.2f} | goal < 1 s: {'met' if prefmill_s < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
