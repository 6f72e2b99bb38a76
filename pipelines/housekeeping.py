"""The launcher's own housekeeping: unreadable plans moved aside, output checks, leases, and the clean-up
of what killed runs leave behind. (Plans, summaries and leases are written atomically: dataset/atomic.py.)

- A plan that cannot be read anyway (written by an older version, or damaged by hand) is moved aside with a
  warning, and recovery goes on with the other runs instead of failing every later run.
- Each run leaves a lease (its pid and host). The next run on the same dataset removes the parts, staged
  parts and `beam-temp-*` folders of runs that have neither a plan nor a summary and whose process is
  gone (or that are over a day old, for runs of another host), and says how much it removed.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from typing import Optional

from apache_beam.io.filesystems import FileSystems

from prefmill.dataset import DatasetPaths
from prefmill.dataset.atomic import UnreadablePlan, commit_lock, read_json, write_json  # noqa: F401
from prefmill.dataset.layout import TABLES, is_remote
from prefmill.pipelines.worker_shim import process_alive

LEASE_FILE = "lease.json"
STALE_AFTER_S = 24 * 3600


def move_aside(path: str, reason: str) -> Optional[str]:
    """Rename an unusable file so nothing reads it again; returns the new name (None if it vanished)."""
    target = f"{path}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}"
    try:
        if is_remote(path):
            FileSystems.rename([path], [target])
        else:
            os.replace(path, target)
    except (OSError, IOError):
        return None
    print(f"warning: {reason}; moved aside to {target}", file=sys.stderr)
    return target


def remove_tree(path: str) -> tuple[int, int]:
    """(files, bytes) removed; tolerates another process removing the same files at the same time."""
    if not is_remote(path) and os.path.isfile(path):
        size = os.path.getsize(path)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return 0, 0
        return 1, size
    if is_remote(path):
        matches = FileSystems.match([FileSystems.join(path, "**")])[0].metadata_list
        if matches:
            try:
                FileSystems.delete([m.path for m in matches])
            except IOError:
                pass
        return len(matches), sum(m.size_in_bytes for m in matches)
    files = size = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                size += os.path.getsize(os.path.join(root, name))
                files += 1
            except OSError:
                continue
    shutil.rmtree(path, ignore_errors=True)
    return files, size


def check_output(uri: str) -> None:
    """A local output must be a folder (or not exist yet) under a folder this process can write."""
    from prefmill.schemas import DatasetError

    if is_remote(uri):
        return
    if os.path.exists(uri) and not os.path.isdir(uri):
        raise DatasetError(f"the output {uri} is a file; give a folder (output.uri or --output)")
    existing = uri
    while not os.path.exists(existing):
        existing = os.path.dirname(existing) or "."
    if not os.path.isdir(existing):
        raise DatasetError(f"the output {uri} cannot be made: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DatasetError(f"the output {uri} is not writable ({existing} does not let this user write); "
                           "choose another folder with --output")


def write_lease(paths: DatasetPaths, run_id: str) -> None:
    write_json(FileSystems.join(paths.run_dir(run_id), LEASE_FILE),
               {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()})


def _abandoned(run_dir: str) -> bool:
    lease_path = FileSystems.join(run_dir, LEASE_FILE)
    try:
        lease = read_json(lease_path)
    except (UnreadablePlan, IOError, OSError):
        lease = None
    if lease is None:
        try:  # no lease (an older version, or killed before writing it): only when clearly old
            age = time.time() - os.path.getmtime(run_dir) if not is_remote(run_dir) else STALE_AFTER_S + 1
        except OSError:
            return False
        return age > STALE_AFTER_S
    if lease.get("host") == socket.gethostname() and isinstance(lease.get("pid"), int):
        return not process_alive(lease["pid"])
    return time.time() - float(lease.get("started", 0)) > STALE_AFTER_S


def clean_abandoned(paths: DatasetPaths, plan_file: str, summary_file: str) -> dict:
    """Remove what killed runs left; returns {"runs": n, "files": n, "bytes": n}."""
    report = {"runs": 0, "files": 0, "bytes": 0}
    if is_remote(paths.uri) or not os.path.isdir(paths.runs_root()):
        return report  # bucket datasets: their runs may be running elsewhere; left to lifecycle rules
    for run_id in sorted(os.listdir(paths.runs_root())):
        run_dir = paths.run_dir(run_id)
        done = os.path.exists(os.path.join(run_dir, summary_file))
        planned = os.path.exists(os.path.join(run_dir, plan_file))
        removed = []
        if done:  # a finished run: only the writers' temporary folders can be left
            removed += [os.path.join(run_dir, name) for name in os.listdir(run_dir) if name.startswith("beam-temp")]
        elif not planned and _abandoned(run_dir):
            removed += [paths.join(table, run_id) for table in TABLES]
            evidence = [name for name in os.listdir(run_dir) if ".unreadable-" in name]
            # The run's folder goes too, unless it keeps a plan moved aside for a person to look at.
            removed += [os.path.join(run_dir, n) for n in os.listdir(run_dir) if n not in evidence] if evidence else [run_dir]
            report["runs"] += 1
        for path in removed:
            if os.path.exists(path):
                files, size = remove_tree(path)
                report["files"] += files
                report["bytes"] += size
    return report
