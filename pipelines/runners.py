"""Which Beam runner a run uses, and the options it gets.

Options come from three places, in rising priority: the config's `runner.options`, its `runner.dataflow`
section (turned into Dataflow flags), and the command line. Local runs use FnApiRunner explicitly (Beam's
DirectRunner first tries Prism, which downloads a binary). Remote runs are checked before anything is
submitted: every path the workers touch must be a bucket path, and the workers must get prefmill, from
the source tree (`--setup_file pyproject.toml`, added automatically), a package, or a container image.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Optional

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    DirectOptions, GoogleCloudOptions, PipelineOptions, SetupOptions, StandardOptions, TestOptions,
)

from prefmill.pipelines.config import PrefmillConfig
from prefmill.schemas import ConfigError, PrefmillError
from prefmill.dataset.layout import is_remote
from prefmill.transforms.read import match_input

LOCAL_RUNNERS = {"FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner"}
# any of these tells Beam how workers get prefmill; without one, the launcher stages the source tree
STAGING_OPTIONS = ("setup_file", "extra_package", "extra_packages", "requirements_file", "sdk_container_image",
                   "prebuild_sdk_container_engine")


def option_names(args: list[str]) -> set[str]:
    """Names of the options in a Beam argument list.

    >>> sorted(option_names(["--runner", "DataflowRunner", "--project=p", "--dry_run=True"]))
    ['dry_run', 'project', 'runner']
    """
    return {arg[2:].split("=", 1)[0] for arg in args if arg.startswith("--")}


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# imported by every worker at start-up in runs that call models: Beam's RunInference without torch
LLM_PLUGIN = "prefmill.transforms.llm.beam_ml"


def beam_arguments(config: PrefmillConfig, cli_args: list[str]) -> list[str]:
    """The command line's Beam options, plus the config's `runner.options` the command line does not set,
    plus prefmill's worker plugin when a stage calls models (added to the user's own plugins)."""
    given = option_names(cli_args)
    args = list(cli_args)
    for key, value in config.runner.options.items():
        if key not in given:
            args += [f"--{key}={_text(v)}" for v in (value if isinstance(value, list) else [value])]
    if config.calls_models():
        args.append(f"--beam_plugins={LLM_PLUGIN}")
    return args


def source_pyproject() -> Optional[Path]:
    """pyproject.toml of the source tree prefmill runs from (an editable install), else None."""
    candidate = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if candidate.is_file() and 'name = "prefmill"' in candidate.read_text(encoding="utf-8"):
        return candidate
    return None


def dataflow_arguments(config: PrefmillConfig, args: list[str]) -> list[str]:
    """Dataflow flags from `runner.dataflow`, and package staging when nothing else provides prefmill."""
    dataflow, given = config.runner.dataflow, option_names(args)
    extra = []
    for name, value in (("machine_type", dataflow.machine_type), ("max_num_workers", dataflow.max_num_workers),
                        ("disk_size_gb", dataflow.disk_size_gb)):
        if value is not None and name not in given and not (name == "machine_type" and "worker_machine_type" in given):
            extra.append(f"--{name}={value}")
    if dataflow.worker_accelerator and not any("worker_accelerator=" in a for a in args):
        extra.append(f"--dataflow_service_options=worker_accelerator={dataflow.worker_accelerator}")
    if dataflow.sdk_container_image and "sdk_container_image" not in given:
        extra.append(f"--sdk_container_image={dataflow.sdk_container_image}")
        if "sdk_location" not in given:
            extra.append("--sdk_location=container")  # the image carries the Beam SDK already
    if dataflow.one_sdk_process_per_worker:
        extra.append("--experiments=no_use_multiple_sdk_containers")
    if not (set(STAGING_OPTIONS) & option_names(args + extra)):
        pyproject = source_pyproject()
        if pyproject is None:
            raise ConfigError(
                "Dataflow workers need prefmill, and this install has no source tree to stage. Pass "
                "--extra_package path/to/prefmill-*.whl (build one with `pip wheel --no-deps .` in a checkout), "
                "or set runner.dataflow.sdk_container_image to an image that has prefmill (docker/gpu-worker).")
        extra.append(f"--setup_file={pyproject}")  # Beam builds an sdist with `python -m build` and stages it
    return args + extra


def check_remote_paths(config: PrefmillConfig, output_uri: str, runner: str) -> None:
    """Every path a remote worker reads or writes must be on shared storage (gs://, s3://, ...)."""
    local = []
    if not is_remote(output_uri):
        local.append(f"output.uri ({output_uri}; or --output)")
    fmt = config.input.resolved_format()
    if not is_remote(config.input.path) and not (fmt == "hf" and not os.path.exists(config.input.path)):
        local.append(f"input.path ({config.input.path}; or --input)")
    cache = config.generate.cache
    if cache.enabled and cache.path and not is_remote(cache.path):
        local.append(f"generate.cache.path ({cache.path})")
    if local:
        raise ConfigError(f"{runner} workers cannot reach local paths; use bucket paths (gs://...) for: "
                          + ", ".join(local))


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


def check_cloud_names(options: PipelineOptions, paths: list[str]) -> None:
    """Bucket and project names Google Cloud accepts, checked before Beam, which otherwise tries the network
    for minutes on an invalid name (an uppercase `gs://MY_BUCKET`) before a long traceback."""
    cloud = options.view_as(GoogleCloudOptions)
    if cloud.project and not _PROJECT.match(cloud.project) and not cloud.project.startswith("google.com:"):
        raise ConfigError(f"--project {cloud.project!r} is not a valid Google Cloud project id (6-30 lowercase "
                          "letters, digits and hyphens, starting with a letter): use your project's id")
    for path in [p for p in paths + [cloud.temp_location or "", cloud.staging_location or ""] if p]:
        if path.startswith("gs://"):
            bucket = path[5:].split("/", 1)[0]
            if not _BUCKET.match(bucket):
                raise ConfigError(f"{path}: {bucket!r} is not a valid bucket name (3-63 lowercase letters, digits, "
                                  "dots, hyphens and underscores): use your bucket's name")


def local_runner(options: PipelineOptions):
    """FnApiRunner. Its worker processes get no pipeline options of their own, so the Beam plugins (which
    each worker imports at start-up) are handed to them in the runner's provisioning info. In
    multi_processing mode the workers are prefmill's worker main (worker.py), Beam's SDK worker started
    faster; Beam picks its own command for that mode, so the runner is told in_memory with the subprocess
    environment given (the mode only chooses the environment)."""
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    kwargs, standby = {}, None
    direct = options.view_as(DirectOptions)
    if direct.direct_running_mode == "multi_processing":
        from apache_beam.transforms.environments import SubprocessSDKEnvironment

        workers = direct.direct_num_workers or os.cpu_count() or 1
        standby = StandbyWorkers(workers)
        kwargs["default_environment"] = SubprocessSDKEnvironment.from_command_string(standby.command)
        direct.direct_running_mode = "in_memory"
        # Beam warns that in_memory with several workers gives no parallelism; here it does (processes)
        logging.getLogger("apache_beam.runners.portability.fn_api_runner.fn_runner").setLevel(logging.ERROR)
    plugins = options.view_as(SetupOptions).beam_plugins
    if plugins:
        from apache_beam.portability.api import beam_provision_api_pb2
        from apache_beam.runners.portability.fn_api_runner.fn_runner import ExtendedProvisionInfo
        from google.protobuf import struct_pb2

        worker_options = struct_pb2.Struct()
        worker_options.update({"beam_plugins": list(plugins)})
        info = beam_provision_api_pb2.ProvisionInfo(retrieval_token="unused-retrieval-token",
                                                    pipeline_options=worker_options)
        kwargs["provision_info"] = ExtendedProvisionInfo(info)
    runner = FnApiRunner(**kwargs)
    runner.prefmill_standby = standby  # stopped by stop_standby once the run is over
    return runner


class StandbyWorkers:
    """Worker processes started before the pipeline is built (worker.py --standby), one per worker the run
    will have: each loads Beam and prefmill (about a second) while the launcher builds the graph and starts
    the job, instead of after the runner asks for it. Beam's worker command becomes worker_shim.py, which
    hands the runner's addresses to one of them (or starts an ordinary worker when none is ready)."""

    def __init__(self, count: int) -> None:
        import shlex
        import subprocess
        import tempfile

        _sweep_abandoned()
        self.claimed = 0
        self.processes = []
        for root in (None, "/tmp"):  # the temp directory, or /tmp when its path is too long for a socket's
            self.directory = tempfile.mkdtemp(prefix="prefmill-workers-", dir=root)
            if len(os.path.join(self.directory, f"{count}.sock.new")) <= 100:  # a socket path has ~107 bytes
                break
            os.rmdir(self.directory)
        else:
            self.command = shlex.join([sys.executable, "-m", "prefmill.pipelines.worker"])  # ordinary workers
            return
        shim = Path(__file__).resolve().parent / "worker_shim.py"
        self.command = shlex.join([sys.executable, "-S", str(shim), self.directory])
        for index in range(count):
            process = subprocess.Popen([sys.executable, "-m", "prefmill.pipelines.worker", "--standby",
                                        self.directory, str(index), str(os.getpid())], stdin=subprocess.DEVNULL)
            self.processes.append(process)
            # a shim reserves worker `index` by renaming this file (worker_shim.claim)
            Path(self.directory, f"{index}.pending").write_text(str(process.pid))

    def stop(self) -> None:
        """Ends what no shim claimed (a claimed worker has exited with its job) and removes the sockets."""
        import shutil

        if os.path.isdir(self.directory):  # a shim renamed the reservation file of each worker it claimed
            self.claimed = sum(1 for name in os.listdir(self.directory) if ".pending." in name)
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _sweep_abandoned(older_than_s: float = 600.0) -> None:
    """Remove the standby directories of launchers that were killed mid-job (their workers have all gone)."""
    import glob
    import shutil
    import tempfile
    import time

    from prefmill.pipelines.worker_shim import process_alive

    for directory in {*glob.glob(os.path.join(tempfile.gettempdir(), "prefmill-workers-*")),
                      *glob.glob("/tmp/prefmill-workers-*")}:
        try:
            if time.time() - os.stat(directory).st_mtime < older_than_s:
                continue
            pids = [int(Path(directory, name).read_text() or 0) for name in os.listdir(directory)
                    if ".pending" in name]
        except (OSError, ValueError):
            continue
        if not any(pid and process_alive(pid) for pid in pids):
            shutil.rmtree(directory, ignore_errors=True)


def stop_standby(pipeline) -> None:
    standby = getattr(getattr(pipeline, "runner", None), "prefmill_standby", None)
    if standby is not None:
        standby.stop()


def small_input_rows(config: PrefmillConfig) -> Optional[int]:
    """The input's row count if it is local and has at most `runner.small_input_rows` rows, else None (remote,
    a Hugging Face dataset, or larger). Reads nothing larger than 64 KiB a row allows."""
    limit = config.runner.small_input_rows
    if not limit or is_remote(config.input.path) or config.input.resolved_format() == "hf":
        return None
    try:
        files = match_input(config.input.path)
        if any(not f.lower().endswith((".jsonl", ".json", ".ndjson", ".parquet")) for f in files):
            return None  # compressed: its bytes are not its rows
        if config.input.resolved_format() == "parquet":
            import pyarrow.parquet as pq

            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        else:
            if sum(os.path.getsize(f) for f in files) > limit * 65536:
                return None
            rows = 0
            for name in files:
                with open(name, "rb") as handle:
                    rows += sum(1 for line in handle if line.strip())
    except (OSError, PrefmillError, ValueError):
        return None  # the read stage reports what is wrong with the input
    return rows if rows <= limit else None


def make_pipeline(config: PrefmillConfig, cli_args: list[str], output_uri: str) -> tuple[beam.Pipeline, str, bool]:
    """(pipeline, a label for the summary, dry run?) for this config and command line."""
    args = beam_arguments(config, cli_args)
    runner = PipelineOptions(args).view_as(StandardOptions).runner
    if runner is None or runner in LOCAL_RUNNERS:
        options = PipelineOptions(args)
        direct, given = options.view_as(DirectOptions), option_names(args)
        if "direct_num_workers" not in given:
            direct.direct_num_workers = config.runner.direct_num_workers
        if "direct_running_mode" not in given:
            direct.direct_running_mode = config.runner.direct_running_mode
        workers = direct.direct_num_workers or os.cpu_count()
        rows = small_input_rows(config) if workers > 1 and not {"direct_num_workers", "direct_running_mode"} & given \
            else None
        if rows is not None:  # a second worker process costs seconds to start and has nothing to do
            direct.direct_num_workers, direct.direct_running_mode, workers = 1, "in_memory", 1
        if direct.direct_running_mode == "multi_threading" and workers > 1:
            # Seen here with Beam 2.77: a 4,000-prompt LLM run lost 39 prompts between two stages in this
            # mode (the summary caught it). Refuse it rather than waste a run; processes do not lose rows.
            raise ConfigError("direct_running_mode multi_threading with several workers lost rows in FnApiRunner "
                              "in prefmill's tests; use multi_processing (runner.direct_running_mode or "
                              "--direct_running_mode), which uses every core for CPU stages and LLM calls alike")
        label = f"FnApiRunner, {direct.direct_running_mode}, {workers} worker(s)"
        if rows is not None:
            label += f": {rows} input row(s), at most runner.small_input_rows ({config.runner.small_input_rows})"
        return beam.Pipeline(runner=local_runner(options), options=options), label, False
    check_remote_paths(config, output_uri, runner)
    if runner.endswith("DataflowRunner"):
        args = dataflow_arguments(config, args)
    options = PipelineOptions(args)
    check_cloud_names(options, [output_uri, config.input.path, config.generate.cache.path or ""])
    cloud = options.view_as(GoogleCloudOptions)
    label = f"{runner} ({cloud.project}, {cloud.region})" if runner.endswith("DataflowRunner") else runner
    return beam.Pipeline(options=options), label, bool(options.view_as(TestOptions).dry_run)
