"""How a local run is started: a small input runs on one in-process worker whatever the config asks (worker
processes take seconds to start), and several worker processes run prefmill's worker main."""

from __future__ import annotations

import gzip
import json
import os
import time

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

from prefmill.pipelines.launcher import run_config
from prefmill.pipelines.runners import StandbyWorkers, local_runner, small_input_rows, stop_standby

from support import SAMPLE

TWO_PROCESSES = {"direct_num_workers": 2, "direct_running_mode": "multi_processing"}


def test_a_small_input_runs_on_one_in_process_worker(make_config, tmp_path):
    few = tmp_path / "few.jsonl"
    few.write_text("".join(SAMPLE.read_text().splitlines(keepends=True)[:3]))
    config = make_config(few, runner=TWO_PROCESSES)
    assert small_input_rows(config) == 3
    summary = run_config(config, progress=False)
    assert summary.runner.startswith("FnApiRunner, in_memory, 1 worker(s): 3 input row(s)")
    assert summary.balanced and summary.rows_in == 3
    assert set(summary.phases) == {"checks", "build", "job", "commit"} and summary.phases["job"] > 0


def test_larger_inputs_remote_inputs_and_a_zero_limit_keep_the_configured_workers(make_config, tmp_path):
    many = tmp_path / "many.jsonl"
    many.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"q{i}"}) + "\n" for i in range(65)))
    assert small_input_rows(make_config(many, runner=TWO_PROCESSES)) is None  # 65 > the default 64
    assert small_input_rows(make_config(SAMPLE, runner={**TWO_PROCESSES, "small_input_rows": 0})) is None
    assert small_input_rows(make_config(SAMPLE, runner={**TWO_PROCESSES, "small_input_rows": 64})) == 64
    packed = tmp_path / "many.jsonl.gz"  # compressed: its bytes say nothing of its rows
    packed.write_bytes(gzip.compress(many.read_bytes()))
    assert small_input_rows(make_config(packed, runner=TWO_PROCESSES)) is None


def test_an_explicit_worker_count_on_the_command_line_wins(make_config, tmp_path):
    few = tmp_path / "few.jsonl"
    few.write_text(SAMPLE.read_text().splitlines(keepends=True)[0])
    summary = run_config(make_config(few), progress=False,
                         beam_args=["--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    assert summary.runner == "FnApiRunner, multi_processing, 2 worker(s)" and summary.balanced


def test_worker_processes_are_started_ahead_and_claimed_by_beams_workers():
    import apache_beam as beam

    options = PipelineOptions(["--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    runner = local_runner(options)
    standby = runner.prefmill_standby
    assert runner._default_environment.command_string == standby.command
    assert "worker_shim.py" in standby.command and len(standby.processes) == 2
    assert options.view_as(DirectOptions).direct_running_mode == "in_memory"  # Beam keeps the environment given
    with beam.Pipeline(runner=runner, options=options) as pipeline:
        _ = pipeline | beam.Create(range(40)) | beam.Reshuffle() | beam.Map(lambda x: x * 2)
    stop_standby(pipeline)
    assert standby.claimed == 2  # both of Beam's workers ran in the processes started ahead
    assert all(p.returncode is not None for p in standby.processes) and not os.path.exists(standby.directory)


def test_a_shim_claims_each_standby_worker_once_and_falls_back_without_one():
    from prefmill.pipelines import worker_shim

    standby = StandbyWorkers(2)
    try:
        for _ in range(600):  # the workers listen once they have loaded Beam
            if sum(name.endswith(".sock") for name in os.listdir(standby.directory)) == 2:
                break
            time.sleep(0.1)
        first, second = worker_shim.claim(standby.directory), worker_shim.claim(standby.directory)
        assert first is not None and second is not None and worker_shim.claim(standby.directory) is None
        first.close()  # a shim that goes away takes its worker with it, and only that one
        for _ in range(600):
            if any(p.poll() is not None for p in standby.processes):
                break
            time.sleep(0.1)
        assert sorted(p.poll() is None for p in standby.processes) == [False, True]
        second.close()
        for process in standby.processes:
            assert process.wait(timeout=60) == 1  # ended by its shim going away, not by stop()
    finally:
        standby.stop()
    assert worker_shim.claim(standby.directory) is None  # no directory: the shim starts an ordinary worker


def test_standby_workers_quote_their_paths_and_leave_with_a_launcher_that_dies_while_they_load(tmp_path,
                                                                                                monkeypatch):
    import shlex
    import subprocess
    import sys
    import tempfile

    from prefmill.pipelines.worker_shim import process_alive

    spaced = tempfile.mkdtemp(prefix="pm q ", dir="/tmp")  # short: a Unix socket path has ~107 bytes
    monkeypatch.setattr(tempfile, "tempdir", spaced)
    standby = StandbyWorkers(1)
    try:
        assert shlex.split(standby.command)[-1] == standby.directory and " " in standby.directory
    finally:
        standby.stop()
        os.rmdir(spaced)
    launcher = subprocess.run(
        [sys.executable, "-c", "import os; from prefmill.pipelines.runners import StandbyWorkers; "
                               "print(StandbyWorkers(1).processes[0].pid, flush=True); os._exit(0)"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(tmp_path)})
    orphan = int(launcher.stdout.split()[0])  # its launcher exited before it had loaded Beam
    for _ in range(1200):
        if not process_alive(orphan):
            break
        time.sleep(0.1)
    assert not process_alive(orphan)


def test_a_zombie_is_not_alive():
    import subprocess
    import sys

    from prefmill.pipelines.worker_shim import process_alive

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    for _ in range(600):
        if not process_alive(child.pid):
            break
        time.sleep(0.1)
    assert not process_alive(child.pid)  # exited, not yet reaped: a shim waiting for it gives up at once
    child.wait()
