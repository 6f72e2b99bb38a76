"""The `prefmill` command line.

    prefmill run CONFIG [--output URI] [--no-progress] [any Beam option, e.g. --runner DataflowRunner ...]
    prefmill validate CONFIG
    prefmill versions URI [--format table|csv|json]
    prefmill sql URI "QUERY" [--version N] [--format table|csv|json]   (or --file query.sql)
    prefmill show URI [--version N] | prefmill diff URI A B
    prefmill export URI --format trl-dpo|trl-reward|step-dpo|rdpo|openrlhf|jsonl|parquet --out DIR [--split test=0.05]
    prefmill route fit EXPERIMENTS_TABLE --out model.json
    prefmill review export URI --to argilla|label-studio --out DIR | prefmill review import URI EXPORT.json
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Optional

from prefmill.pipelines.cli_dataset import (
    DISPLAY_ROWS, _cmd_diff, _cmd_export, _cmd_report, _cmd_review, _cmd_route_fit, _cmd_show, _cmd_sql,
    _cmd_versions,
)
from prefmill.schemas import PrefmillError
from prefmill.schemas.redact import redact

EXIT_ERROR = 2
EXIT_JOB_FAILED = 1


def _cmd_validate(args: argparse.Namespace) -> int:
    from prefmill.pipelines.config import load_config

    from prefmill.pipelines.config import api_key_problems

    from prefmill.pipelines.config import backend_problems

    config = load_config(args.config)
    problems = backend_problems(config)
    for message, fatal in api_key_problems(config):
        if fatal:
            problems.append(message)
        else:
            print(f"warning: {message}", file=sys.stderr)
    if problems:
        for message in problems:
            print(f"error: {message}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{args.config}: valid (config hash {config.data_hash()}, input {config.input.path}, "
          f"output {config.output.uri})")
    return 0


def _cmd_run(args: argparse.Namespace, beam_args: list[str]) -> int:
    from prefmill.pipelines.config import load_config
    from prefmill.pipelines.launcher import DryRun, PipelineFailedError, run_config

    exports = _parse_exports(args.export or [])  # checked before the run: a typo must not cost a whole run
    config = load_config(args.config, input_path=args.input or None)
    if args.no_cache:
        config.generate.cache.enabled = False
    try:
        summary = run_config(config, output=args.output, beam_args=beam_args, progress=not args.no_progress,
                             allow_partial=args.allow_partial)
    except PipelineFailedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_JOB_FAILED
    if isinstance(summary, DryRun):
        steps = len(summary.transform_names()) if summary.job is not None else 0
        print(f"dry run: {summary.runner} job built with {steps} transforms; nothing was submitted or written")
        return 0
    print(summary.render())
    if exports:
        from prefmill.dataset.export import export

        for fmt, out in exports:  # from the version this run committed, not whatever is latest by now
            counts = export(summary.uri, fmt, out, version=summary.pairs_version, overwrite=True)
            print(f"exported {fmt}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + f" rows -> {out}")
    return 0


def _parse_exports(values: list[str]) -> list[tuple[str, str]]:
    """`--export trl-dpo=out/dpo` -> [("trl-dpo", "out/dpo")]; unknown formats fail before anything runs."""
    from prefmill.dataset.export import FORMATS

    exports = []
    for value in values:
        fmt, sep, out = value.partition("=")
        if not sep or not out:
            raise PrefmillError(f"--export {value!r}: expected FORMAT=FOLDER, e.g. --export trl-dpo=out/dpo")
        if fmt not in FORMATS:
            raise PrefmillError(f"--export {value!r}: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        exports.append((fmt, out))
    return exports


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prefmill", description="Curate preference datasets with Apache Beam.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a pipeline config and commit a new dataset version",
                         description="Unrecognised options are passed to Beam (e.g. --runner DataflowRunner).")
    run.add_argument("config")
    run.add_argument("--output", help="dataset URI (overrides output.uri in the config)")
    run.add_argument("--input", help="prompts path (overrides input.path in the config)")
    run.add_argument("--no-progress", action="store_true", help="do not print live progress lines")
    run.add_argument("--no-cache", action="store_true", help="ignore the response cache: every LLM request is made")
    run.add_argument("--allow-partial", action="store_true",
                     help="commit even a run with no pairs or one that lost most prompts to infrastructure failures")
    run.add_argument("--export", action="append", metavar="FORMAT=FOLDER",
                     help="after the commit, export the new version for a trainer (as `prefmill export`); "
                          "repeatable, e.g. --export trl-dpo=out/dpo")

    validate = sub.add_parser("validate", help="check a config without running anything")
    validate.add_argument("config")

    versions = sub.add_parser("versions", help="list the versions of a dataset")
    versions.add_argument("uri")
    versions.add_argument("--format", choices=["table", "csv", "json"], default="table")

    sql = sub.add_parser("sql", help="query a dataset version with DuckDB (tables: pairs, dead_letters)")
    sql.add_argument("uri")
    sql.add_argument("query", nargs="?", help="SQL text; or use --file")
    sql.add_argument("--file", help="read the query from this file")
    sql.add_argument("--version", type=int, help="dataset version (default: latest)")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sql.add_argument("--timeout", type=float, default=60.0, help="stop the query after this many seconds")
    sql.add_argument("--max-rows", type=int, default=None,
                     help=f"at most this many rows (table format default {DISPLAY_ROWS}; csv and json: all, streamed)")
    sql.add_argument("--memory-limit", default="2GB", help="DuckDB memory limit of the session, e.g. 2GB")
    show = sub.add_parser("show", help="schema and counts of a dataset version")
    show.add_argument("uri")
    show.add_argument("--version", type=int)

    difference = sub.add_parser("diff", help="pairs added, removed and changed between two versions")
    difference.add_argument("uri")
    difference.add_argument("a", type=int)
    difference.add_argument("b", type=int)
    difference.add_argument("--limit", type=int, default=10, help="ids listed per kind")

    exp = sub.add_parser("export", help="write a version in a trainer's format, with a dataset card")
    exp.add_argument("uri")
    exp.add_argument("--format", required=True, help="trl-dpo, trl-reward, step-dpo, rdpo, openrlhf, jsonl, parquet "
                                                      "(the formats in prefmill.dataset.export.EXPORT_FORMATS)")
    exp.add_argument("--out", required=True)
    exp.add_argument("--version", type=int)
    exp.add_argument("--where", help="SQL condition over the pairs table")
    exp.add_argument("--split", help="e.g. test=0.05 (by prompt id; train takes the rest)")
    exp.add_argument("--keys", help="openrlhf: prompt=...,chosen=...,rejected=... column names")
    exp.add_argument("--push-to-hub", metavar="REPO", help="upload with datasets' push_to_hub")
    exp.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder (whole, atomically)")
    exp.add_argument("--include-steps", action="store_true",
                     help="conversational formats: keep RISE step pairs (left out by default; see step-dpo)")

    report = sub.add_parser("report", help="one self-contained HTML page with charts about a version")
    report.add_argument("uri")
    report.add_argument("--version", type=int)
    report.add_argument("--out", required=True)

    route = sub.add_parser("route", help="routing tools")
    route_sub = route.add_subparsers(dest="route_command", required=True)
    fit = route_sub.add_parser("fit", help="fit the HyPER performance model from past experiments")
    fit.add_argument("table", help="CSV, JSONL or Parquet: one row per experiment, a count column per tag bin "
                                   "(e.g. 'domain=chat') and the reward-model score")
    fit.add_argument("--out", required=True, help="where to write the model (JSON)")
    fit.add_argument("--target", default="score", help="the score column")
    review = sub.add_parser("review", help="the human review loop (Argilla, Label Studio)")
    review_sub = review.add_subparsers(dest="review_command", required=True)
    export = review_sub.add_parser("export", help="write the human-routed pairs as annotation tasks")
    export.add_argument("uri")
    export.add_argument("--to", required=True, choices=["argilla", "label-studio"])
    export.add_argument("--out", required=True, help="folder for the task files")
    export.add_argument("--version", type=int, help="dataset version (default: latest)")
    export.add_argument("--show-rationale", action="store_true", help="show the AI rationale to annotators")
    imp = review_sub.add_parser("import", help="apply completed annotations as a new dataset version")
    imp.add_argument("uri")
    imp.add_argument("path", help="the tool's export (Label Studio JSON or Argilla records JSON)")
    imp.add_argument("--keep-ties", action="store_true", help="keep tied pairs (strength 0) instead of dropping them")
    return parser


def _quiet_library_logs() -> None:
    # Beam logs a warning at import when the optional GCP client libraries are absent; users of a local run
    # do not need it. prefmill's own messages are printed, not logged.
    logging.getLogger().setLevel(logging.ERROR)


def preload(argv: list[str]) -> None:
    """Import what `argv`'s command will need now (entry.py loads it with the garbage collector off)."""
    if argv[:1] in (["run"], ["validate"]):
        import prefmill.pipelines.launcher  # noqa: F401  # Beam, the config, every stage


def main(argv: Optional[list[str]] = None) -> int:
    _quiet_library_logs()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "run":
            return _cmd_run(args, extra)
        if args.command == "route":
            return _cmd_route_fit(args)
        if args.command == "review":
            return _cmd_review(args)
        if args.command in ("show", "diff", "export", "report"):
            return {"show": _cmd_show, "diff": _cmd_diff, "export": _cmd_export, "report": _cmd_report}[args.command](args)
        return {"validate": _cmd_validate, "versions": _cmd_versions, "sql": _cmd_sql}[args.command](args)
    except PrefmillError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # `prefmill show ... | head`: the reader left; say nothing more (and do not fail at exit either)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted: nothing was committed for this run; re-run the same command to resume (finished "
              "LLM requests come from the cache, and a finished job is committed by the next run)", file=sys.stderr)
        return EXIT_INTERRUPTED


EXIT_INTERRUPTED = 130


if __name__ == "__main__":
    sys.exit(main())
