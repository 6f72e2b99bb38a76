"""Run a config end to end: recover unfinished commits, run the Beam job, commit one dataset version.

Order of events, and why:
1. Any earlier run of this dataset that finished its job but not its commit (the launcher was killed
   between job and commit) is committed first, from its saved plan. Commits are idempotent per run id.
2. The Beam job runs. Workers write Parquet parts and a manifest of them; nothing is visible yet.
3. Only when the job succeeded: a commit plan (parts + metadata) is saved, then the dead letters and the
   pairs are committed, each as one Delta version, pairs last so its metadata can name the dead-letter
   version. The summary file written last marks the run done.
A job that fails commits nothing; the previous version stays the latest.
"""

from __future__ import annotations

import json
import os
import sys
import secrets
import signal
import time
from datetime import datetime, timezone
from dataclasses import dataclass
from typing import Any, Optional, Union

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.runners.runner import PipelineState

from prefmill.pipelines import carry_labels, housekeeping
from prefmill.pipelines.build import STAGES, RunContext, build_pipeline
from prefmill.pipelines.config import PrefmillConfig, api_key_problems, backend_problems, data_plugins
from prefmill.pipelines.runners import make_pipeline, stop_standby
from prefmill.pipelines.summary import RunSummary, counters_from_result, stage_counts
from prefmill.schemas import SCHEMA_VERSION, ConfigError, DeadLetter, PreferencePair, PrefmillError
from prefmill.dataset import DatasetPaths, commit_run_files
from prefmill.dataset.layout import DEAD_LETTERS, PAIRS, is_remote
from prefmill.transforms.write import read_manifest
from prefmill.transforms.progress import ENV_FLAG

PLAN_FILE = "commit-plan.json"
SUMMARY_FILE = "summary.json"


class PipelineFailedError(PrefmillError):
    """The Beam job did not finish successfully; nothing was committed."""


@dataclass
class DryRun:
    """A job built with `--dry_run=True`: the runner's job description, not submitted, nothing written."""

    runner: str
    run_id: str
    job: Any  # DataflowRunner: apiclient.Job (its proto_pipeline is the job graph; options are the job's options)

    def transform_names(self) -> list[str]:
        return sorted(t.unique_name for t in self.job.proto_pipeline.components.transforms.values())


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


_write_json = housekeeping.write_json
_read_json = housekeeping.read_json


FAULT_ENV = "PREFMILL_FAULT_KILL_AT"  # failure injection for the reliability suite only


def _fault_point(name: str) -> None:
    """Die here, as a power cut would, when the reliability tests ask for it."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _commit_plan(paths: DatasetPaths, plan: dict) -> tuple[int, int]:
    try:
        with housekeeping.commit_lock(paths):
            return _commit_plan_tables(paths, plan)
    except OSError as exc:  # a full disk or a read-only folder while committing: nothing half-written
        raise PrefmillError(
            f"could not commit run {plan['run_id']} to {paths.uri}: {exc.strerror or exc}. Nothing was committed; "
            "the finished run's plan is kept, and the next prefmill run on this dataset commits it once there "
            "is room") from None


def _commit_plan_tables(paths: DatasetPaths, plan: dict) -> tuple[int, int]:
    run_id = plan["run_id"]
    _fault_point("before_commit")
    dead_version, _ = commit_run_files(
        paths.table(DEAD_LETTERS), plan["files"][DEAD_LETTERS], DeadLetter, run_id=run_id,
        metadata={**plan["metadata"], "rows": plan["rows"][DEAD_LETTERS]}, mode=plan["mode"],
    )
    _fault_point("between_commits")
    pairs_version, _ = commit_run_files(
        paths.table(PAIRS), plan["files"][PAIRS], PreferencePair, run_id=run_id,
        metadata={**plan["metadata"], "rows": plan["rows"][PAIRS], "dead_letters_version": dead_version},
        mode=plan["mode"],
    )
    return pairs_version, dead_version


def _remove_staged(paths: DatasetPaths, run_id: str) -> None:
    """Staged parts were rewritten into the table's parts; once committed they are only clutter."""
    # Tolerant of a concurrent recovery of the same run removing the same files first.
    housekeeping.remove_tree(FileSystems.join(paths.run_dir(run_id), "staged"))


def recover_unfinished(paths: DatasetPaths) -> list[RunSummary]:
    """Commit runs whose job finished but whose commit did not (their plan exists, their summary not)."""
    recovered = []
    pattern = FileSystems.join(paths.runs_root(), "*", PLAN_FILE)
    for match in FileSystems.match([pattern])[0].metadata_list:
        run_dir = match.path[: -len(PLAN_FILE) - 1]
        if FileSystems.exists(FileSystems.join(run_dir, SUMMARY_FILE)):
            continue
        try:
            plan = _read_json(match.path)
            plan["run_id"], plan["files"], plan["summary"]  # noqa: B018 - the keys a plan must have
        except (housekeeping.UnreadablePlan, KeyError) as exc:
            housekeeping.move_aside(match.path, f"the commit plan of run {os.path.basename(run_dir)} cannot be read "
                                                f"({exc}); that run is not committed")
            continue
        except (IOError, OSError):
            continue  # another recovery moved or finished it meanwhile
        try:
            pairs_version, dead_version = _commit_plan(paths, plan)
        except (IOError, OSError):
            if FileSystems.exists(FileSystems.join(run_dir, SUMMARY_FILE)):
                continue  # a concurrent recovery committed it and removed its staged files first
            raise
        summary = RunSummary.model_validate({**plan["summary"], "pairs_version": pairs_version,
                                             "dead_letters_version": dead_version, "recovered": True})
        _write_json(FileSystems.join(run_dir, SUMMARY_FILE), summary.model_dump(mode="json"))
        _remove_staged(paths, plan["run_id"])
        recovered.append(summary)
    return recovered


def _refuse_failed_run(summary: RunSummary, max_loss: float, uri: str) -> None:
    """An empty run, or one that lost too much to infrastructure, is a failure, not a version."""
    share, infra = summary.infrastructure_loss()
    top = ", ".join(f"{r} {n:,}" for r, n in sorted(infra.items(), key=lambda kv: -kv[1])[:4])
    problem = None
    if summary.pairs_written == 0:
        problem = "the run produced no pairs"
    elif share > max_loss:
        problem = f"{share:.0%} of the prompts were lost to infrastructure failures (over output.max_infra_loss {max_loss:.0%})"
    if problem:
        print(summary.render())
        reasons = f"; infrastructure failures: {top}" if top else ""
        raise PipelineFailedError(f"{problem}{reasons}. Nothing was committed to {uri}; fix the cause and re-run "
                                  "(finished LLM requests come from the cache), or pass --allow-partial to commit anyway")


def _pair_stats(paths: DatasetPaths, files: list[dict]) -> dict:
    """Models, and mean chosen/rejected length (length bias), read from the run's parts."""
    if not files:
        return {"models": [], "chosen_chars": None, "rejected_chars": None}
    import duckdb
    import pyarrow.dataset as ds

    dataset = ds.dataset([paths.table(PAIRS) + "/" + f["path"] for f in files], format="parquet")
    con = duckdb.connect()
    con.register("run_pairs", dataset)  # a dataset, not a table: DuckDB streams it batch by batch
    # distinct models through a UNION (a hash of a few names), not list(...) of every row's model
    models = [row[0] for row in con.execute(
        "SELECT chosen_model FROM run_pairs UNION SELECT rejected_model FROM run_pairs ORDER BY 1").fetchall()]
    chosen, rejected = con.execute(
        "SELECT avg(length(chosen[-1].content)), avg(length(rejected[-1].content)) FROM run_pairs").fetchall()[0]
    con.close()
    return {"models": models, "chosen_chars": chosen, "rejected_chars": rejected}


def _routing_record(config: PrefmillConfig) -> Optional[dict]:
    """The routing policy, and the fitted model itself, versioned with the dataset in the commit metadata."""
    if not config.route.enabled:
        return None
    record = {"policy": config.route.policy, "budget": config.route.budget, "budget_unit": config.route.budget_unit}
    if config.route.model_path:
        with open(config.route.model_path, encoding="utf-8") as handle:
            record["model"] = json.loads(handle.read())
    return record


def check_code_sandbox(config: PrefmillConfig) -> None:
    """Refuse to start when code verification is on but no sandbox boundary can be set up here (exit 2,
    naming what to install), before Beam starts and long before a worker would meet the first program."""
    if not config.verify.enabled:
        return
    from prefmill.transforms.verify.sandbox import Sandbox

    box = Sandbox(workers=1, isolation=config.verify.sandbox)
    try:
        box.check()
    finally:
        box.close()
    if config.verify.sandbox == "unsafe_local":
        print("warning: verify.sandbox is unsafe_local: model-generated code runs without an operating-system "
              "boundary; every code verdict is marked sandbox=unsafe_local", file=sys.stderr)


def run_config(config: PrefmillConfig, *, output: Optional[str] = None, beam_args: Optional[list[str]] = None,
               progress: bool = True, allow_partial: bool = False) -> Union[RunSummary, DryRun]:
    """Run one config and commit its dataset version; returns the run summary (or the built job, dry runs)."""
    beam_args = list(beam_args or [])
    began = time.monotonic()
    paths = DatasetPaths.of(output or config.output.uri)
    housekeeping.check_output(paths.uri)
    for message, fatal in api_key_problems(config):
        if fatal:
            raise ConfigError(message)
        print(f"warning: {message}", file=sys.stderr)
    if not is_remote(paths.uri):  # remote workers (Dataflow) bring their own backends
        problems = backend_problems(config)
        if problems:
            raise ConfigError("; ".join(problems))
    pipeline, runner_label, dry_run = make_pipeline(config, beam_args, paths.uri)
    try:
        if not dry_run:
            for summary in recover_unfinished(paths):
                print(f"recovered run {summary.run_id}: committed as pairs version {summary.pairs_version}")
            cleaned = housekeeping.clean_abandoned(paths, PLAN_FILE, SUMMARY_FILE)
            if cleaned["files"]:
                print(f"removed what {cleaned['runs']} killed run(s) left behind: {cleaned['files']} file(s), "
                      f"{cleaned['bytes'] / 2 ** 20:.1f} MiB")

        ctx = RunContext(run_id=new_run_id(), config_hash=config.data_hash(), paths=paths)
        if not dry_run and not is_remote(paths.uri):
            housekeeping.write_lease(paths, ctx.run_id)
        built = time.monotonic()
        build_pipeline(pipeline, config, ctx)
        if not dry_run and runner_label.startswith("FnApiRunner"):
            check_code_sandbox(config)
        if dry_run:
            return DryRun(runner=runner_label, run_id=ctx.run_id, job=getattr(pipeline.run(), "job", None))

        started = time.monotonic()
        previous = os.environ.get(ENV_FLAG)
        if progress:
            os.environ[ENV_FLAG] = "1"
        try:
            result = pipeline.run()
            state = result.wait_until_finish()
        finally:
            if progress:
                if previous is None:
                    os.environ.pop(ENV_FLAG, None)
                else:
                    os.environ[ENV_FLAG] = previous
        if state != PipelineState.DONE:
            raise PipelineFailedError(f"the Beam job ended in state {state}; nothing was committed")
        seconds = time.monotonic() - started
        phases = {"checks": built - began, "build": started - built, "job": seconds}

        counters = counters_from_result(result)
        files = {table: read_manifest(paths.manifest(ctx.run_id, table)) for table in (PAIRS, DEAD_LETTERS)}
        rows = {table: sum(f["rows"] for f in files[table]) for table in files}
        summary = RunSummary(
            run_id=ctx.run_id, config_hash=ctx.config_hash, uri=paths.uri, runner=runner_label, seconds=seconds,
            stages=stage_counts(counters, STAGES), pairs_written=rows[PAIRS], dead_letters_written=rows[DEAD_LETTERS],
            code_sandbox=config.verify.sandbox if config.verify.enabled else None, phases=phases, started_at=began,
        )
        if not summary.balanced:
            # in != out + dead somewhere: rows vanished inside the runner. Committing would hide the loss.
            print(summary.render())
            raise PipelineFailedError("rows were lost between stages (the summary above does not balance); nothing "
                                      f"was committed. The run's parts stay under {paths.uri} for inspection.")
        if not allow_partial:
            _refuse_failed_run(summary, config.output.max_infra_loss, paths.uri)
        if config.output.mode == "overwrite":
            files[PAIRS], summary.human_labels = carry_labels.carry(paths, files[PAIRS], ctx.run_id)
        stats = _pair_stats(paths, files[PAIRS])
        summary.chosen_chars, summary.rejected_chars = stats["chosen_chars"], stats["rejected_chars"]
        metadata = {
            "run_id": ctx.run_id,
            "config_hash": ctx.config_hash,
            "schema_version": SCHEMA_VERSION,
            "name": config.name,
            "models": stats["models"],
            "length": {"chosen_chars": stats["chosen_chars"], "rejected_chars": stats["rejected_chars"]},
            "routing": _routing_record(config),
            "rows_in": summary.rows_in,
            "stages": {s.name: s.model_dump(exclude={"name"}) for s in summary.stages},
        }
        plugins = data_plugins()
        if plugins:
            metadata["plugins"] = plugins  # which installed verifiers, strategies and backends made this data
        plan = {"run_id": ctx.run_id, "mode": config.output.mode, "files": files, "rows": rows, "metadata": metadata,
                "summary": summary.model_dump(mode="json")}
        run_dir = paths.run_dir(ctx.run_id)
        _write_json(FileSystems.join(run_dir, PLAN_FILE), plan)
        summary.pairs_version, summary.dead_letters_version = _commit_plan(paths, plan)
        summary.phases["commit"] = time.monotonic() - started - seconds
        _write_json(FileSystems.join(run_dir, SUMMARY_FILE), summary.model_dump(mode="json"))
        _remove_staged(paths, ctx.run_id)
        return summary
    finally:
        stop_standby(pipeline)  # the worker processes started ahead that no shim claimed
