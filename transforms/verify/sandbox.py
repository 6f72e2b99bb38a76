"""Run untrusted, model-generated Python behind an operating-system boundary, fast.

`Sandbox` keeps a pool of pre-started workers ("zygotes", `sandbox_runtime/zygote.py`), each inside its
own bubblewrap container; each program is a fork of a warm zygote in fresh namespaces, so a run costs a
few forks, not an interpreter start. What isolates what:

| layer | what it stops | root | not root |
| --- | --- | --- | --- |
| bubblewrap: network namespace | any connection, 127.0.0.1 included | yes | yes |
| bubblewrap: mount namespace, read-only /usr + stdlib only | reading the pipeline's files, configs, keys; writing anywhere | yes | yes |
| bubblewrap: PID/IPC/UTS namespaces, empty environment | seeing, signalling or ptrace-ing the pipeline; its env | yes | yes |
| per program: user + PID + mount namespace, private tmpfs | other programs' files and processes; orphans (killed with the namespace) | yes | yes |
| per program: no capabilities, no_new_privs, seccomp | mount/unshare/ptrace/bpf/... and clone with namespace flags | yes | yes |
| per program: rlimits (CPU, memory, file size, processes, fds) | runaway CPU, memory, disk, fork bombs | yes | yes |
| separate unused uid per worker | the pipeline's uid owning anything the program can reach | yes | no (the caller's uid, inside namespaces) |
| judge in its own process, plain-data results | forged verdicts, `__eq__` tricks, patched builtins | yes | yes |
| audit-hook tripwire | nothing (a program can remove it): it records attempts | yes | yes |

Without bubblewrap the sandbox refuses to start (`SandboxUnavailable`, exit 2, naming the fix), unless
`isolation="unsafe_local"`: then the zygote runs on the host with only the per-program layers the kernel
allows, and every verdict says so.

One pool per process (`shared_sandbox()`), started on first use and stopped at exit.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from prefmill.schemas import PrefmillError
from prefmill.transforms.verify.lines import LineReader, write_all

RUNTIME = Path(__file__).with_name("sandbox_runtime")
EXIT_MEMORY = 85
EXIT_SETUP = 87
EXIT_HARNESS = 88
UID_BASE = 61000  # unused uids the programs run as when the pipeline runs as root
Isolation = Literal["bwrap", "unsafe_local"]


class SandboxError(PrefmillError):
    """The sandbox itself could not run (not the program inside it)."""


class SandboxUnavailable(SandboxError):
    """No operating-system boundary can be set up on this machine."""


class SandboxLimits(BaseModel):
    """Resource limits of one sandboxed execution."""

    model_config = ConfigDict(extra="forbid")

    wall_s: float = Field(10.0, gt=0, description="wall-clock seconds before the program is killed")
    cpu_s: float = Field(5.0, gt=0, description="CPU seconds (RLIMIT_CPU)")
    memory_mb: int = Field(512, gt=32, description="address-space limit in MiB (RLIMIT_AS)")
    output_bytes: int = Field(65_536, gt=0, description="stdout/stderr cap; more is output_limit")
    file_bytes: int = Field(1_048_576, ge=0, description="largest file the program may write (RLIMIT_FSIZE)")
    processes: int = Field(16, ge=1, description="threads + processes of one program (RLIMIT_NPROC, per namespace)")


@dataclass
class SandboxResult:
    """What happened. `status` is None for a run that ended by itself; else timeout, output_limit,
    memory, forbidden, crash or sandbox_error. `tests` are the judge's reports (functions mode), which
    count only when `complete` (the judge's trailer arrived)."""

    status: Optional[str]
    exit_code: Optional[int]
    stdout: str
    stderr: str
    seconds: float
    tests: dict[int, dict[str, Any]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    tampered: list[str] = field(default_factory=list)
    complete: bool = False
    isolation: str = "bwrap"
    detail: str = ""

    @classmethod
    def from_worker(cls, raw: dict, isolation: str = "bwrap", cpu_limit: float = float("inf")) -> "SandboxResult":
        tests: dict[int, dict[str, Any]] = {}
        for entry in raw.get("report") or []:
            if isinstance(entry, dict) and isinstance(entry.get("test"), int):
                tests[entry["test"]] = entry
        violations, tampered = [], []
        for line in raw.get("trip") or []:
            kind, _, event = str(line).partition(" ")
            (tampered if kind == "tamper" else violations).append(event.strip())
        status = raw.get("status")
        code = raw.get("exit_code")
        stderr = raw.get("stderr", "")
        detail = ""
        judge_exit = raw.get("judge_exit")
        if raw.get("setup_error"):  # only the keeper's own report: a program can exit 87 too
            status, detail = "sandbox_error", f"isolation could not be set up: {raw.get('setup_error') or code}"
        elif judge_exit not in (0, None) and status is None:
            status, detail = "sandbox_error", f"the judge process failed (exit {judge_exit}): {stderr[-200:]}"
        if status is None:
            crash_error = str(tests.get(-1, {}).get("error", ""))
            if "File too large" in crash_error:
                status = "output_limit"  # RLIMIT_FSIZE while loading, before any test
            elif violations:
                status = "forbidden"
            elif code == EXIT_MEMORY or "MemoryError" in stderr[-300:]:
                status = "memory"
            elif code == -24:  # SIGXCPU: the CPU limit
                status = "timeout"
            elif code == -25 or "File too large" in stderr[-300:]:  # RLIMIT_FSIZE
                status = "output_limit"
            elif code == -9 and (raw.get("cpu_s") or 0) >= cpu_limit - 0.05:
                status = "timeout"  # the CPU limit's SIGKILL (a PID-1 program never sees SIGXCPU)
            elif code == -9:  # killed by the kernel, in practice the OOM killer
                status = "memory"
            elif code not in (0, None):
                status = "crash"  # EXIT_HARNESS included: the program broke its own side of the harness
        return cls(status=status, exit_code=code, stdout=raw.get("stdout", ""), stderr=stderr,
                   seconds=float(raw.get("seconds", 0.0)), tests=tests, violations=violations, tampered=tampered,
                   complete=bool(raw.get("complete")), isolation=isolation, detail=detail or str(stderr)[-200:])


def bwrap_path() -> Optional[str]:
    return shutil.which("bwrap")


def _interpreter() -> str:
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def bwrap_command(zygote_args: dict) -> list[str]:
    """The bubblewrap command line of one zygote (see the module doc for what each part isolates)."""
    root = os.geteuid() == 0
    cmd = [bwrap_path() or "bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv",
           "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8"]
    if root:
        # Privileged mode: no user namespace here, so the zygote can give each program an unused uid.
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-user"]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    python = _interpreter()
    prefixes = {os.path.realpath(sys.base_prefix), os.path.dirname(os.path.dirname(python))}
    made = set()
    for prefix in sorted(prefixes):
        if not (prefix == "/usr" or prefix.startswith("/usr/")):
            # The folders above it (e.g. /root of a pyenv install) must be traversable by the program's uid.
            parts = Path(prefix).parts
            for depth in range(2, len(parts)):
                ancestor = str(Path(*parts[:depth]))
                if ancestor not in made:
                    made.add(ancestor)
                    cmd += ["--perms", "0755", "--dir", ancestor]
            cmd += ["--ro-bind", prefix, prefix]
    cmd += ["--ro-bind", str(RUNTIME), "/sandbox", "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev",
            "--tmpfs", "/tmp", "--dir", "/work", "--remount-ro", "/", "--chdir", "/"]
    return cmd + [python, "-I", "-S", "-B", "/sandbox/zygote.py", json.dumps(zygote_args)]


def _local_command(zygote_args: dict) -> list[str]:
    return [_interpreter(), "-I", "-S", "-B", str(RUNTIME / "zygote.py"), json.dumps(zygote_args)]


_WORKER_NUMBERS = itertools.count()
_TAKEN: set[int] = set()


def _free_uid(preferred: int) -> int:
    """`preferred`, or the next uid in the range that no process on this machine runs as (several pipelines
    or Beam worker processes each keep pools; two pools on one uid would share RLIMIT_NPROC accounting)."""
    used = set(_TAKEN)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                used.add(entry.stat().st_uid)
            except OSError:
                continue
    for offset in range(4000):
        uid = UID_BASE + (preferred - UID_BASE + offset) % 4000
        if uid not in used:
            _TAKEN.add(uid)
            return uid
    return preferred


class _Worker:
    def __init__(self, slot: int, isolation: Isolation) -> None:
        self.slot = slot
        self.mode = isolation
        self.proc: Optional[subprocess.Popen] = None
        self.isolation: list[str] = []
        # A uid of its own per worker: distinct within this process, and not one a running process holds.
        self.uid = _free_uid(UID_BASE + (os.getpid() * 64 + next(_WORKER_NUMBERS)) % 4000)

    def start(self) -> None:
        uid = self.uid
        if self.mode == "bwrap":
            if bwrap_path() is None:
                raise SandboxUnavailable(
                    "code verification needs bubblewrap, the sandbox's operating-system boundary, and `bwrap` "
                    "is not installed: apt-get install bubblewrap (Debian/Ubuntu) or dnf install bubblewrap; "
                    "or set verify.sandbox: unsafe_local to run model code without that boundary (not for "
                    "untrusted models)")
            args = bwrap_command({"uid": uid, "layers": ["bubblewrap"]})
        else:
            args = _local_command({"uid": uid, "layers": ["unsafe_local"], "namespaces": _userns_works()})
        # An empty environment: nothing of the pipeline's (API keys, tokens) reaches the worker.
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, start_new_session=True,
                                     bufsize=0)
        self.lines = LineReader(self.proc.stdout)
        hello = self.lines.readline(60.0)
        if not hello:
            error = b""
            if self.proc.poll() is not None and self.proc.stderr is not None:
                error = self.proc.stderr.read()[-600:]
            self.stop()
            raise SandboxUnavailable(
                f"the code sandbox could not start ({self.mode}): {error.decode(errors='replace').strip()}. "
                "bubblewrap needs unprivileged user namespaces or root (sysctl kernel.unprivileged_userns_clone=1"
                " / user.max_user_namespaces > 0; in Docker run with --security-opt seccomp=unconfined or "
                "--privileged); or set verify.sandbox: unsafe_local")
        # stderr is not read from here on: a thread drains it so a chatty worker never blocks.
        threading.Thread(target=_discard, args=(self.proc.stderr,), daemon=True).start()
        self.isolation = json.loads(hello)["isolation"]

    def run(self, job: dict, timeout_s: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            write_all(self.proc.stdin, (json.dumps(job) + "\n").encode())
        except (BrokenPipeError, OSError):
            self.stop()
            return _infrastructure("the sandbox worker died")
        reply = self.lines.readline(timeout_s)
        if not reply:
            self.stop()  # a worker that does not answer is replaced, never waited on forever
            return _infrastructure("the sandbox worker did not answer in time")
        return json.loads(reply)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # bwrap --die-with-parent: the whole container goes with it
            self.proc.wait()
        self.proc = None


def _infrastructure(message: str) -> dict:
    return {"status": "sandbox_error", "exit_code": None, "stdout": "", "stderr": message, "report": [],
            "trip": [], "seconds": 0.0}


def _discard(stream) -> None:
    try:
        while stream.read(65536):
            pass
    except (OSError, ValueError):
        pass


_USERNS: Optional[bool] = None


def _userns_works() -> bool:
    global _USERNS
    if _USERNS is None:
        probe = subprocess.run([_interpreter(), "-I", "-S", "-c",
                                "import ctypes,sys; sys.exit(ctypes.CDLL(None).unshare(0x10000000) != 0)"],
                               capture_output=True, timeout=30)
        _USERNS = probe.returncode == 0
    return _USERNS


class Sandbox:
    """A pool of sandbox workers; `run` is thread-safe and blocks until the program ends."""

    def __init__(self, workers: Optional[int] = None, isolation: Isolation = "bwrap") -> None:
        self.size = workers or max(1, os.cpu_count() or 1)
        self.mode: Isolation = isolation
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all = [_Worker(slot, isolation) for slot in range(self.size)]
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

    def check(self) -> None:
        """Start one worker now: raises SandboxUnavailable (naming the fix) when no boundary can be set up."""
        self.isolation  # noqa: B018

    def run(self, solution: str, *, mode: str = "script", tests: Optional[list[str]] = None, stdin: str = "",
            limits: Optional[SandboxLimits] = None, entry_point: Optional[str] = None,
            tripwire: bool = True) -> SandboxResult:
        """Run `solution` as a script (mode "script") or run `tests` against it (mode "functions").

        `tripwire=False` leaves the audit hook out: the escape tests use it to show that the operating-system
        layers hold on their own."""
        limits = limits or SandboxLimits()
        job = {"mode": mode, "solution": solution, "tests": list(tests or []), "stdin": stdin,
               "limits": limits.model_dump(), "entry_point": entry_point, "tripwire": tripwire}
        worker = self._idle.get()
        try:
            raw = worker.run(job, timeout_s=limits.wall_s + 15.0)
        finally:
            self._idle.put(worker)
        return SandboxResult.from_worker(raw, isolation=self.mode, cpu_limit=max(1, int(limits.cpu_s)))

    @property
    def uids(self) -> list[int]:
        """The uids this pool's programs run as (when the pipeline runs as root)."""
        return [worker.uid for worker in self._all]

    def close(self) -> None:
        for worker in self._all:
            worker.stop()


_SHARED: dict[str, Sandbox] = {}
_SHARED_LOCK = threading.Lock()


def shared_sandbox(workers: Optional[int] = None, isolation: Isolation = "bwrap") -> Sandbox:
    """The process-wide sandbox pool (one per Beam worker process and mode), stopped at interpreter exit."""
    with _SHARED_LOCK:
        box = _SHARED.get(isolation)
        if box is None:
            box = _SHARED[isolation] = Sandbox(workers, isolation)
            atexit.register(box.close)
        return box
