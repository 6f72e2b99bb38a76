"""The dataset commands of the `prefmill` command line: versions, sql, show, diff, export, report, route fit
and review. They import no Beam (storage only), so they start in about a second."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from datetime import datetime
from typing import Any, Optional, Sequence

from prefmill.schemas import PrefmillError


def format_rows(columns: list[str], rows: list[Sequence[Any]], fmt: str) -> str:
    """Rows as an aligned text table, CSV or JSON (a list of objects).

    >>> print(format_rows(["a", "b"], [(1, "x")], "table"))
    a  b
    -  -
    1  x
    """
    def cell(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    if fmt == "json":
        return json.dumps([{c: cell(v) for c, v in zip(columns, row)} for row in rows], indent=2, default=str)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows([[cell(v) for v in row] for row in rows])
        return buffer.getvalue().rstrip("\n")
    text = [[str(c) for c in columns]] + [["" if v is None else str(cell(v)) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in text]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cmd_versions(args: argparse.Namespace) -> int:
    from prefmill.dataset import DatasetPaths, list_versions
    from prefmill.dataset.layout import PAIRS

    versions = list_versions(DatasetPaths.of(args.uri).table(PAIRS))
    columns = ["version", "time", "run_id", "config_hash", "rows", "parent", "operation", "schema_version"]
    rows = [(v.version, v.timestamp.strftime("%Y-%m-%d %H:%M:%S"), v.run_id, v.config_hash, v.rows, v.parent,
             v.operation, v.metadata.get("schema_version")) for v in versions]
    print(format_rows(columns, rows, args.format))
    return 0


def _cmd_sql(args: argparse.Namespace) -> int:
    if (args.query is None) == (args.file is None):
        raise PrefmillError("give either a QUERY or --file FILE with the query")
    sql = args.query
    if args.file is not None:
        try:
            with open(args.file, encoding="utf-8") as handle:
                sql = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise PrefmillError(f"cannot read the query file {args.file}: {getattr(exc, 'strerror', None) or exc}") from None
    from prefmill.dataset.query import stream_query

    max_rows = args.max_rows if args.max_rows is not None else (DISPLAY_ROWS if args.format == "table" else None)
    columns, batches = stream_query(args.uri, sql, version=args.version, timeout_s=args.timeout,
                                    memory_limit=args.memory_limit)
    shown, more = _write_rows(columns, batches, args.format, max_rows)
    if more:
        print(f"({shown:,} rows shown; the result has more: --max-rows N, or --format csv|json to stream them)",
              file=sys.stderr)
    return 0


DISPLAY_ROWS = 1000  # the table format holds rows in memory to align them; csv and json stream


def _write_rows(columns: list[str], batches, fmt: str, max_rows: Optional[int]) -> tuple[int, bool]:
    """Write rows as they arrive (csv: line by line; json: one object per array element); the table
    format aligns at most `max_rows`. Returns (rows written, whether rows were left out)."""
    out = sys.stdout
    shown, more, kept = 0, False, []
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(columns)
    if fmt == "json":
        out.write("[")
    for rows in batches:
        if max_rows is not None and shown + len(rows) > max_rows:
            rows, more = rows[: max_rows - shown], True
        if fmt == "table":
            kept.extend(rows)
        elif writer:
            writer.writerows([[_cell(v) for v in row] for row in rows])
        else:
            for row in rows:
                out.write(("," if shown else "") + "\n  " + json.dumps({c: _cell(v) for c, v in zip(columns, row)},
                                                                       default=str))
                shown += 1
            shown -= len(rows)
        shown += len(rows)
        if more:
            break
    if fmt == "json":
        out.write("\n]\n" if shown else "]\n")
    elif fmt == "table":
        out.write(format_rows(columns, kept, "table") + "\n")
    return shown, more


def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _read_table(path: str) -> list[dict]:
    import duckdb

    con = duckdb.connect()
    lower = path.lower()
    reader = "read_parquet" if lower.endswith(".parquet") else "read_json_auto" if lower.endswith(
        (".json", ".jsonl")) else "read_csv_auto"
    try:
        relation = con.sql(f"SELECT * FROM {reader}(?)", params=[path])
        columns, rows = relation.columns, relation.fetchall()
    except duckdb.Error as exc:
        raise PrefmillError(f"cannot read the experiments table {path}: {exc}") from None
    return [dict(zip(columns, row)) for row in rows]


def _cmd_route_fit(args: argparse.Namespace) -> int:
    from prefmill.transforms.route import PerformanceModel

    rows = _read_table(args.table)
    model = PerformanceModel.fit(rows, target=args.target)
    _check_out_file(args.out)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(model.to_json())
    print(f"fitted a quadratic performance model on {len(rows)} experiments and {len(model.features)} tag bins "
          f"(R^2 {model.r2:.3f}); saved to {args.out}")
    return 0


def _cmd_review(args: argparse.Namespace) -> int:
    from prefmill.dataset import review

    from prefmill.dataset import review_import

    if args.review_command == "export":
        pairs, info = review.load_pairs(args.uri, args.version)
        routed = review.human_routed(pairs)
        todo = review.not_yet_reviewed(routed)
        files = review.export_tasks(todo, args.to, args.out, show_rationale=args.show_rationale)
        review.record_export(args.uri, info.version, todo)
        skipped = f" ({len(routed) - len(todo)} already reviewed, not sent again)" if len(todo) < len(routed) else ""
        print(f"exported {len(todo)} human-routed pairs of version {info.version} as {args.to} tasks{skipped}: "
              + ", ".join(files))
        return 0
    stats, version, new = review_import.import_answers(args.uri, args.path, keep_ties=args.keep_ties)
    if not new:
        print(f"every answer in {args.path} is already in dataset version {version}; nothing changed"
              + (f" (refused: {review_import._reasons(review_import.Counter(stats['refused']))})"
                 if stats.get("refused") else ""))
        return 0
    print(review_import.describe(stats, version))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from prefmill.dataset.overview import show

    info = show(args.uri, args.version)
    print(f"{args.uri}, version {info['version']}: {info['pairs']:,} pairs, {info['dead_letters']:,} dead letters")
    for label, rows in info["counts"].items():
        print(f"\nby {label}\n" + format_rows([label, "pairs"], rows, "table"))
    print("\nschema\n" + format_rows(["column", "type"], info["schema"], "table"))
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from prefmill.dataset.overview import diff

    changes = diff(args.uri, args.a, args.b)
    print(f"version {args.a} -> {args.b}: " + ", ".join(f"{len(v):,} {k}" for k, v in changes.items()))
    for kind, ids in changes.items():
        for pair_id in ids[: args.limit]:
            print(f"  {kind:<8} {pair_id}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from prefmill.dataset.export import export, parse_splits

    keys = dict(part.split("=", 1) for part in args.keys.split(",")) if args.keys else None
    counts = export(args.uri, args.format, args.out, version=args.version, where=args.where,
                    splits=parse_splits(args.split), keys=keys, overwrite=args.overwrite,
                    include_steps=args.include_steps)
    print(f"exported {args.format}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + f" rows -> {args.out}")
    if args.push_to_hub:
        import datasets

        suffix = "jsonl" if args.format == "jsonl" else "parquet"
        builder = "json" if suffix == "jsonl" else "parquet"
        data = datasets.load_dataset(builder, data_files={k: f"{args.out}/{k}.{suffix}" for k in counts})
        try:
            data.push_to_hub(args.push_to_hub)
        except Exception as exc:  # noqa: BLE001 - network, auth or Hub errors: the export itself is done
            raise PrefmillError(f"the export is in {args.out}, but pushing it to the Hub failed "
                                f"({type(exc).__name__}: {str(exc)[:200]}); check the network and HF_TOKEN, then "
                                "push again") from None
        print(f"pushed to the Hugging Face Hub as {args.push_to_hub}")
    return 0


def _check_out_file(path: str) -> None:
    """--out of a command that writes one file: not a folder, and in a folder that exists."""
    if os.path.isdir(path):
        raise PrefmillError(f"--out {path} is a folder; give a file name, e.g. {os.path.join(path, 'out.html')}")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise PrefmillError(f"--out {path}: the folder {parent} does not exist")


def _cmd_report(args: argparse.Namespace) -> int:
    from prefmill.dataset.report import build_report

    _check_out_file(args.out)
    page = build_report(args.uri, args.version)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(page)
    print(f"wrote {args.out} ({len(page):,} bytes, self-contained)")
    return 0
