"""The launcher's own files: torn commit plans, a full disk during each write, concurrent recoveries, and
what killed runs leave behind."""

from __future__ import annotations

import errno
import io
import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from prefmill.pipelines import housekeeping
from prefmill.dataset import atomic
from prefmill.pipelines.launcher import FAULT_ENV, PLAN_FILE, recover_unfinished
from prefmill.dataset import DatasetPaths, list_versions

from support import SAMPLE

MATH = [line for line in SAMPLE.read_text().splitlines() if '"domain": "math"' in line][:6]


def _config(tmp_path: Path, uri: Path) -> Path:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("\n".join(MATH) + "\n")
    path = tmp_path / "run.yaml"
    path.write_text(json.dumps({"input": {"path": str(prompts)}, "output": {"uri": str(uri)}}))
    return path


def _run(config: Path, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **({FAULT_ENV: kill_at} if kill_at else {})}
    return subprocess.run([sys.executable, "-m", "prefmill.pipelines.cli", "run", str(config), "--no-progress"],
                          capture_output=True, text=True, timeout=600, env=env)


def _killed_before_commit(tmp_path: Path) -> tuple[Path, Path, Path]:
    uri = tmp_path / "ds"
    config = _config(tmp_path, uri)
    assert _run(config, kill_at="before_commit").returncode == -9
    plans = list((uri / "_prefmill" / "runs").glob(f"*/{PLAN_FILE}"))
    assert len(plans) == 1
    return uri, config, plans[0]


@pytest.mark.slow
def test_a_torn_plan_is_moved_aside_and_later_runs_go_on(tmp_path):
    uri, config, plan = _killed_before_commit(tmp_path)
    whole = plan.read_bytes()
    rng = random.Random(7)
    for offset in sorted(rng.sample(range(1, len(whole) - 1), 3)):
        plan.write_bytes(whole[:offset])  # as a disk filling up mid-write left it (before writes were atomic)
        done = _run(config)
        assert done.returncode == 0, done.stderr[-1500:]
        assert "cannot be read" in done.stderr and "moved aside" in done.stderr
        assert not plan.exists() and list(plan.parent.glob(f"{PLAN_FILE}.unreadable-*"))  # kept for a person
        for leftover in plan.parent.glob(f"{PLAN_FILE}.unreadable-*"):
            leftover.unlink()
    versions = list_versions(DatasetPaths.of(str(uri)).table("pairs"))
    assert [v.version for v in versions] == list(range(len(versions))) and len(versions) == 3


class _FullDisk(io.BytesIO):
    """A file on a disk that fills after `room` bytes."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data) -> int:
        if self.tell() + len(data) > self.room:
            super().write(bytes(data)[: max(0, self.room - self.tell())])
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "not a real file")


@pytest.mark.parametrize("room", [0, 10, 100, 1000])
def test_a_full_disk_during_any_launcher_write_leaves_the_old_file_whole(tmp_path, monkeypatch, room):
    target = tmp_path / "run" / "commit-plan.json"
    atomic.write_json(str(target), {"run_id": "old", "files": {}, "summary": {}})
    before = target.read_bytes()
    real_open = open

    def opener(path, mode="r", *args, **kwargs):
        if ".tmp-" in str(path):
            real_open(path, mode).close()  # the temporary file exists, as it would
            return _FullDisk(room)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(atomic, "_opener", opener)
    with pytest.raises(OSError):
        atomic.write_json(str(target), {"run_id": "new", "files": {"pairs": ["x" * 5000]}, "summary": {}})
    assert target.read_bytes() == before  # the reader sees the old plan, never a torn one
    assert [p.name for p in target.parent.iterdir()] == ["commit-plan.json"]  # no temporary left


@pytest.mark.slow
def test_concurrent_recoveries_of_one_plan_commit_it_once(tmp_path):
    uri, _, _ = _killed_before_commit(tmp_path)
    errors: list[BaseException] = []

    def recover() -> None:
        try:
            recover_unfinished(DatasetPaths.of(str(uri)))
        except BaseException as exc:  # noqa: BLE001 - the test reports any of them
            errors.append(exc)

    threads = [threading.Thread(target=recover) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A loser may fail with the Delta log's own conflict error, never with a missing file or a double append.
    assert all("staged" not in str(e) and "No such file" not in str(e) for e in errors), errors
    versions = list_versions(DatasetPaths.of(str(uri)).table("pairs"))
    assert len(versions) == 1


@pytest.mark.slow
def test_the_next_run_removes_what_a_killed_run_left(tmp_path):
    uri = tmp_path / "ds"
    config = _config(tmp_path, uri)
    assert _run(config).returncode == 0
    # A run killed during its job: a lease naming a process that is gone, parts nothing will commit.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = "20990101T000000Z-dead00"
    housekeeping.write_lease(DatasetPaths.of(str(uri)), killed)
    lease = uri / "_prefmill" / "runs" / killed / "lease.json"
    lease.write_text(json.dumps({**json.loads(lease.read_text()), "pid": int(dead.stdout)}))
    for table in ("pairs", "dead_letters"):
        (uri / table / killed).mkdir(parents=True)
        (uri / table / killed / "part-0.parquet").write_bytes(b"x" * 4096)
    (uri / "_prefmill" / "runs" / killed / "beam-temp-parts-123").mkdir()
    done = _run(config)
    assert done.returncode == 0, done.stderr[-1500:]
    assert "removed what 1 killed run(s) left behind: 3 file(s)" in done.stdout  # 2 parts and the lease
    assert not (uri / "pairs" / killed).exists() and not (uri / "_prefmill" / "runs" / killed).exists()
    versions = list_versions(DatasetPaths.of(str(uri)).table("pairs"))
    assert len(versions) == 2  # the committed versions are untouched
