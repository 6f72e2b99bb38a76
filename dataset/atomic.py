"""Files prefmill relies on, written so that no crash or full disk leaves one half-written.

A local file is written to a temporary name (unique per writer), fsynced and renamed into place: a reader
sees the old file or the new one, never a torn one. A bucket object upload is all-or-nothing already.
`commit_lock` lets one prefmill process at a time commit to a local dataset.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from typing import Callable

from apache_beam.io.filesystems import FileSystems

from prefmill.dataset.layout import DatasetPaths, is_remote

_opener: Callable = open  # the fault-injection seam of the reliability tests (a full disk mid-write)


class UnreadablePlan(ValueError):
    """A commit plan that is not the JSON object a plan must be."""


def write_json(path: str, data: dict) -> None:
    payload = json.dumps(data, indent=2, sort_keys=True, default=str).encode("utf-8")
    if is_remote(path):
        with FileSystems.create(path) as handle:
            handle.write(payload)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"  # unique per writer, threads included
    try:
        with _opener(temporary, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    directory = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def read_json(path: str) -> dict:
    with FileSystems.open(path) as handle:
        data = handle.read()
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadablePlan(f"{path} is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise UnreadablePlan(f"{path} is not a JSON object")
    return value


@contextlib.contextmanager
def commit_lock(paths: DatasetPaths):
    """One committer at a time per local dataset (an exclusive flock on `_prefmill/commit.lock`).

    Delta's app transactions make a retried commit of one run a no-op, but two processes recovering the same
    run at the same moment both found it uncommitted and both committed (seen in the tests): under the lock,
    the second one finds the first one's transaction and stops. Bucket datasets rely on Delta alone."""
    if is_remote(paths.uri):
        yield
        return
    import fcntl

    os.makedirs(paths.join("_prefmill"), exist_ok=True)
    with open(paths.join("_prefmill", "commit.lock"), "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
