"""Requests in flight to one server from a whole machine: `openai.machine_concurrency`.

`max_concurrency` bounds one worker process. A local run has several worker processes, and RunInference
hands each of them one batch at a time, so between two batches a process has nothing in flight while the
others are held to their own share: the server idles. With `machine_concurrency` every process (and every
stage, and every prefmill run on the machine) that calls the same `base_url` draws from one pool of slots,
so a process between batches leaves its slots to the others.

A slot is a file locked with `flock`: the kernel drops a dead process's locks, so a killed worker never
keeps slots. The files live in `/dev/shm` (or the temp directory), under a directory named by the
user, the server and the pool size. A process that wants slots polls for free ones every `poll_s`
(2 ms) from one task per pool. What the pool guarantees is the total, not fairness: a process whose
requests keep arriving can take a freed slot before another process's next poll, so one worker may get
most of the pool for a while (the total is what a batch run's throughput depends on).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import random
import stat
import tempfile
from collections import deque
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit


def server_key(base_url: str) -> str:
    """One spelling per server: scheme and host lowercased, the default port and a trailing slash dropped.
    (Two names of one host, localhost and 127.0.0.1, are still two pools.)"""
    parts = urlsplit(base_url.rstrip("/"))
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return f"{parts.scheme.lower()}://{host}{parts.path}"


def slots_directory(base_url: str, size: int) -> Path:
    """Where the slot files of one pool live: the same path in every process of the machine."""
    root = Path(os.environ.get("PREFMILL_SLOTS_DIR") or
                ("/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()))
    digest = hashlib.sha256(f"{server_key(base_url)}|{size}".encode()).hexdigest()[:16]
    return root / f"prefmill-slots-{os.getuid()}" / digest


def _own_directory(path: Path) -> None:
    """Create `path` (mode 0700) or accept it only if it is this user's and nobody else can write in it: a
    directory another user made could hold locked slot files, and stall every request."""
    path.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise PermissionError(
            f"{path} is not a private directory of this user (a link, another owner, or writable by others); "
            "remove it, or set PREFMILL_SLOTS_DIR to a directory of your own for openai.machine_concurrency")


class MachineSlots:
    """One process's handle on a machine-wide pool of `size` slots. Used from one event loop only."""

    def __init__(self, base_url: str, size: int, poll_s: float = 0.002) -> None:
        directory = slots_directory(base_url, size)
        directory.parent.parent.mkdir(parents=True, exist_ok=True)  # /dev/shm, the temp dir, or PREFMILL_SLOTS_DIR
        _own_directory(directory.parent)
        _own_directory(directory)
        self.size = size
        self.poll_s = poll_s
        self._fds = [os.open(directory / f"slot-{i}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
                     for i in range(size)]
        self._held: set[int] = set()
        self._waiters: deque[asyncio.Future] = deque()
        self._poller: Optional[asyncio.Task] = None

    def _take(self) -> Optional[int]:
        """A free slot of the pool, locked for this process, or None. (A lock this process already holds
        would be granted again, so held slots are skipped.)"""
        start = random.randrange(self.size)
        for step in range(self.size):
            index = (start + step) % self.size
            if index in self._held:
                continue
            try:
                fcntl.flock(self._fds[index], fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            self._held.add(index)
            return index
        return None

    async def acquire(self) -> int:
        if not self._waiters:
            index = self._take()
            if index is not None:
                return index
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result())  # granted as it was cancelled: give the slot back
            raise

    async def _poll(self) -> None:
        """Grant free slots to this process's waiters in order, until none waits."""
        try:
            while self._waiters:
                while self._waiters:
                    if self._waiters[0].done():
                        self._waiters.popleft()  # cancelled while waiting
                        continue
                    index = self._take()
                    if index is None:
                        break
                    self._waiters.popleft().set_result(index)
                if self._waiters:
                    await asyncio.sleep(self.poll_s)
        except BaseException as exc:  # noqa: BLE001  # nobody would ever wake the waiters: hand them the error
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(exc if isinstance(exc, Exception) else RuntimeError("slot poller stopped"))
            raise

    def release(self, index: int) -> None:
        self._held.discard(index)
        fcntl.flock(self._fds[index], fcntl.LOCK_UN)

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)  # closing drops this process's locks
        self._fds = []


class Slot:
    """`async with Slot(pool):` holds one slot of `pool` (None: no machine pool, nothing to hold)."""

    def __init__(self, pool: Optional[MachineSlots]) -> None:
        self.pool = pool
        self.index: Optional[int] = None

    async def __aenter__(self) -> "Slot":
        if self.pool is not None:
            self.index = await self.pool.acquire()
        return self

    async def __aexit__(self, *exc) -> None:
        if self.pool is not None and self.index is not None:
            self.pool.release(self.index)
