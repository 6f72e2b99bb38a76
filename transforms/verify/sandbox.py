"""Run untrusted, model-generated Python in a sandbox, fast.

`Sandbox` keeps a pool of pre-started worker processes (see `_sandbox_worker.py` for what each layer of
isolation does). Each execution forks a fresh child from a warm worker, so the per-run cost is a fork,
not an interpreter start. Workers are started with an empty environment: no API key or other secret of
the pipeline process is ever visible to the program.

One pool per process (`shared_sandbox()`), started on first use and stopped at exit.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field

from prefmill.schemas import PrefmillError

WORKER = Path(__file__).with_name("_sandbox_worker.py")
EXIT_MEMORY = 85
EXIT_HARNESS = 86
UID_BASE = 61000  # unused uids the children run as when the pipeline runs as root


class SandboxError(PrefmillError):
    """The sandbox itself could not run (not the program inside it)."""


class SandboxLimits(BaseModel):
    """Resource limits of one sandboxed execution."""

    model_config = ConfigDict(extra="forbid")

    wall_s: float = Field(10.0, gt=0, description="wall-clock seconds before the program is killed")
    cpu_s: float = Field(5.0, gt=0, description="CPU seconds (RLIMIT_CPU)")
    memory_mb: int = Field(512, gt=32, description="address-space limit in MiB (RLIMIT_AS)")
    output_bytes: int = Field(65_536, gt=0, description="stdout/stderr cap; more is output_limit")
    file_bytes: int = Field(1_048_576, ge=0, description="largest file the program may write (RLIMIT_FSIZE)")


@dataclass
class SandboxResult:
    """What happened. `status` is None for a run that ended by itself; else timeout, output_limit,
    memory, forbidden, crash or sandbox_error."""

    status: Optional[str]
    exit_code: Optional[int]
    stdout: str
    stderr: str
    seconds: float
    tests: dict[int, dict[str, Any]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @classmethod
    def from_worker(cls, raw: dict) -> "SandboxResult":
        tests: dict[int, dict[str, Any]] = {}
        violations: list[str] = []
        for line in raw.get("report", "").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and "violations" in entry:
                violations.extend(str(v) for v in entry["violations"])
            elif isinstance(entry, dict) and isinstance(entry.get("test"), int):
                tests[entry["test"]] = entry
        status = raw.get("status")
        code = raw.get("exit_code")
        crash_error = str(tests.get(-1, {}).get("error", ""))
        if status is None and "File too large" in crash_error:
            status = "output_limit"  # the solution hit RLIMIT_FSIZE while loading, before any test
        if status is None:
            if violations:
                status = "forbidden"
            elif code == EXIT_MEMORY or "MemoryError" in raw.get("stderr", "")[-300:]:
                status = "memory"
            elif code == -24:  # SIGXCPU: the CPU limit
                status = "timeout"
            elif code == -25 or "File too large" in raw.get("stderr", "")[-300:]:  # RLIMIT_FSIZE
                status = "output_limit"
            elif code == -9:  # killed by the kernel, in practice the OOM killer
                status = "memory"
            elif code not in (0, None):
                status = "crash"
        return cls(status=status, exit_code=code, stdout=raw.get("stdout", ""), stderr=raw.get("stderr", ""),
                   seconds=float(raw.get("seconds", 0.0)), tests=tests, violations=violations)


class _Worker:
    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.proc: Optional[subprocess.Popen] = None
        self.isolation: list[str] = []

    def start(self) -> None:
        args = [sys.executable, "-I", str(WORKER), str(UID_BASE + (os.getpid() * 4 + self.slot) % 4000)]
        # An empty environment: nothing of the pipeline's (API keys, tokens) reaches the worker.
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, start_new_session=True)
        hello = self.proc.stdout.readline()
        if not hello:
            raise SandboxError("the sandbox worker did not start")
        self.isolation = json.loads(hello)["isolation"]

    def run(self, job: dict, timeout_s: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.flush()
        reply: list[bytes] = []
        reader = threading.Thread(target=lambda: reply.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        if not reply or not reply[0]:
            self.stop()  # a worker that does not answer is replaced, never waited on forever
            return {"status": "sandbox_error", "exit_code": None, "stdout": "", "stderr": "worker did not answer",
                    "report": "", "seconds": timeout_s}
        return json.loads(reply[0])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class Sandbox:
    """A pool of sandbox workers; `run` is thread-safe and blocks until the program ends."""

    def __init__(self, workers: Optional[int] = None) -> None:
        self.size = workers or max(1, os.cpu_count() or 1)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all = [_Worker(slot) for slot in range(self.size)]
        for worker in self._all:
            self._idle.put(worker)

    @property
    def isolation(self) -> list[str]:
        """The isolation layers active on this machine (starts one worker to find out)."""
        worker = self._idle.get()
        try:
            if worker.proc is None:
                worker.start()
            return list(worker.isolation)
        finally:
            self._idle.put(worker)

    def run(self, solution: str, *, mode: str = "script", tests: Optional[list[str]] = None, stdin: str = "",
            limits: Optional[SandboxLimits] = None) -> SandboxResult:
        """Run `solution` as a script (mode "script") or run `tests` against it (mode "functions")."""
        limits = limits or SandboxLimits()
        job = {"mode": mode, "solution": solution, "tests": list(tests or []), "stdin": stdin,
               "limits": limits.model_dump()}
        worker = self._idle.get()
        try:
            raw = worker.run(job, timeout_s=limits.wall_s + 10.0)
        finally:
            self._idle.put(worker)
        return SandboxResult.from_worker(raw)

    def close(self) -> None:
        for worker in self._all:
            worker.stop()


_SHARED: Optional[Sandbox] = None
_SHARED_LOCK = threading.Lock()


def shared_sandbox(workers: Optional[int] = None) -> Sandbox:
    """The process-wide sandbox pool (one per Beam worker process), stopped at interpreter exit."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Sandbox(workers)
            atexit.register(_SHARED.close)
        return _SHARED
