"""Sandbox worker ("zygote"): a pre-started, stdlib-only process that runs untrusted programs.

Started by `prefmill.transforms.verify.sandbox.Sandbox` with `python -I` and a scrubbed environment. It
reads one JSON job per line on stdin, forks one child per job, and answers one JSON line on stdout.
Forking a warm interpreter is what makes a sandboxed run cheaper than spawning `python -c`.

Layers, each applied when the machine allows it (the `hello` message lists what is active):
- once, at start: a private network namespace (no interfaces but a down loopback) and a private mount
  namespace with fresh tmpfs on /tmp and /dev/shm, so nothing reaches the network or the host's /tmp;
- per child: a new session, a fresh empty working directory, rlimits (CPU, address space, file size,
  open files, no core dumps), all other file descriptors closed, an empty environment, and when started
  as root a switch to an unused uid/gid with RLIMIT_NPROC=1, so the child cannot fork at all, cannot
  signal other users' processes and cannot write where that uid has no permission;
- in the child's interpreter: an audit hook (PEP 578) that refuses sockets, subprocesses, fork/exec,
  signals to other processes, ctypes, and writes or deletions outside the working directory. Refusals
  are recorded even when the program catches the PermissionError.
"""

import ctypes
import errno
import importlib
import json
import os
import resource
import select
import shutil
import signal
import sys
import time
import traceback

MS_BIND = 4096
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 16384
MS_PRIVATE = 1 << 18
EXIT_MEMORY = 85
EXIT_HARNESS = 86
REPORT_FD = 3


def _isolate_namespaces():
    active = []
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return active
    if libc.unshare(CLONE_NEWNET) == 0:
        active.append("network_namespace")
    if libc.unshare(CLONE_NEWNS) == 0:
        if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0:
            ok = all(libc.mount(b"tmpfs", path, b"tmpfs", 0, b"size=256m,mode=1777") == 0
                     for path in (b"/tmp", b"/dev/shm"))
            if ok:
                active.append("private_tmp")
    return active


# Imported once here so every child has them without touching the file system (and faster).
PRELOAD = ("array", "bisect", "collections", "copy", "dataclasses", "datetime", "decimal", "fractions",
           "functools", "heapq", "itertools", "math", "operator", "random", "re", "statistics", "string",
           "textwrap", "typing", "unicodedata", "enum", "abc", "numbers", "cmath", "struct", "hashlib")


def _reachable_by_others(path):
    """True when a user with no special rights can traverse to `path` and list it."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for depth in range(1, len(parts) + 1):
        ancestor = os.sep.join(parts[:depth]) or os.sep
        try:
            mode = os.stat(ancestor).st_mode
        except OSError:
            return False
        if not mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o004)


def _expose_python(isolation):
    """Make the interpreter's import paths readable by the sandbox uid.

    Some installs live under a private home (e.g. /root/.pyenv). Inside the worker's private mount
    namespace such a directory is bind-mounted onto a traversable path under the private
    /tmp, and sys.path points there. Returns False when that is not possible: the caller then keeps the
    worker's uid instead of failing every program that imports a module.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    mapped = []
    for index, entry in enumerate(sys.path):
        if not entry or not os.path.isdir(entry) or _reachable_by_others(entry):
            mapped.append(entry)
            continue
        if "private_tmp" not in isolation:
            return False
        target = f"/tmp/prefmill-python/{index}"
        os.makedirs(target, mode=0o755, exist_ok=True)
        os.chmod("/tmp/prefmill-python", 0o755)
        if libc.mount(os.path.realpath(entry).encode(), target.encode(), None, MS_BIND | MS_REC, None) != 0:
            return False
        mapped.append(target)
    moves = {os.path.realpath(a): b for a, b in zip(sys.path, mapped) if a and a != b}
    sys.path[:] = mapped
    # Packages imported at start-up (encodings, importlib, ...) remember where they came from.
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if isinstance(search, list):
            for i, location in enumerate(search):
                for old, new in moves.items():
                    if location == old or location.startswith(old + os.sep):
                        search[i] = new + location[len(old):]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    return True


def _install_audit_hook(workdir, violations):
    workdir = os.path.realpath(workdir)
    forbidden_prefixes = ("socket.", "subprocess.", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                          "os.forkpty", "os.kill", "os.killpg", "os.system", "os.setuid", "os.setgid",
                          "ctypes.", "pty.", "os.startfile", "_posixsubprocess", "os.pidfd", "mmap.")
    path_events = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.link",
                   "os.symlink", "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "os.chdir",
                   "shutil.move", "os.chflags", "os.lchown", "os.setxattr", "os.removexattr"}
    blocked_modules = {"ctypes", "_ctypes", "_posixsubprocess", "pty"}
    unreadable = ("/proc", "/sys")

    def inside(path):
        try:
            target = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return target == workdir or target.startswith(workdir + os.sep)

    def refuse(event, detail=""):
        violations.append(event)
        raise PermissionError(f"prefmill sandbox: {event} is not allowed {detail}".rstrip())

    def hook(event, args):
        if event.startswith(forbidden_prefixes):
            refuse(event)
        if event == "import" and args and str(args[0]).split(".")[0] in blocked_modules:
            refuse(event, str(args[0]))
        if event == "open" and args:
            path, mode, flags = (list(args) + [None, None])[:3]
            if isinstance(path, int):
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            if writing and not inside(path):
                refuse("open for writing outside the working directory", str(path))
            if not writing and os.fsdecode(path).startswith(unreadable):
                refuse("open", str(path))
        if event in path_events and args and not isinstance(args[0], int) and not inside(args[0]):
            refuse(event, str(args[0]))

    sys.addaudithook(hook)


def _apply_limits(limits, uid):
    cpu = max(1, int(limits["cpu_s"]))
    memory = int(limits["memory_mb"]) * 1024 * 1024
    settings = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_FSIZE, (int(limits["file_bytes"]),) * 2),
        (resource.RLIMIT_NOFILE, (64, 64)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    if uid is not None:
        settings.append((resource.RLIMIT_NPROC, (1, 1)))
    for which, value in settings:
        resource.setrlimit(which, value)
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def _run_program(job, report):
    """In the child, after isolation: run the solution and its tests, report per test on `report`."""
    solution = job["solution"]
    if job["mode"] == "script":
        exec(compile(solution, "solution.py", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        return
    namespace = {"__name__": "solution", "__builtins__": __builtins__}
    try:
        exec(compile(solution, "solution.py", "exec"), namespace)
    except MemoryError:
        raise
    except BaseException as exc:  # the program itself failed: every test fails with this error
        report({"test": -1, "ok": False, "error": _describe(exc)})
        return
    for index, test in enumerate(job["tests"]):
        before = {k for k in namespace if k.startswith("test_")}
        try:
            exec(compile(test, f"test_{index}.py", "exec"), namespace)
            new_functions = [namespace[k] for k in sorted(namespace) if k.startswith("test_") and k not in before]
            for function in new_functions:
                if callable(function):
                    function()
            report({"test": index, "ok": True})
        except MemoryError:
            raise
        except BaseException as exc:
            report({"test": index, "ok": False, "error": _describe(exc)})


def _describe(exc):
    frames = traceback.format_exception_only(type(exc), exc)
    return "".join(frames).strip()[-500:] or type(exc).__name__


def _child(job, workdir, uid, stdin_r, out_w, err_w, report_w):
    os.setsid()
    os.dup2(stdin_r, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(report_w, REPORT_FD)
    os.closerange(REPORT_FD + 1, 4096)
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"})
    sys.stdin = open(0, "r", encoding="utf-8", errors="replace", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)
    _apply_limits(job["limits"], uid)
    violations = []

    def report(entry):
        os.write(REPORT_FD, (json.dumps(entry) + "\n").encode())

    _install_audit_hook(workdir, violations)
    code = 0
    try:
        _run_program(job, report)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except MemoryError:
        code = EXIT_MEMORY
    except BaseException as exc:
        sys.stderr.write(_describe(exc) + "\n")
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    if violations:
        report({"violations": sorted(set(violations))})
    os._exit(code)


def _drain(fds, limits, started, pid):
    """Read the child's pipes until EOF, the wall-clock deadline, or the output cap."""
    buffers = {fd: bytearray() for fd in fds}
    open_fds = set(fds)
    deadline = started + float(limits["wall_s"])
    cap = int(limits["output_bytes"])
    status = None
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            status = "timeout"
            break
        ready, _, _ = select.select(list(open_fds), [], [], min(remaining, 0.5))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
                continue
            buffers[fd].extend(chunk)
            if len(buffers[fd]) > cap:
                status = "output_limit"
        if status:
            break
    if status:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return buffers, status


def run_job(job, base_dir, uid):
    workdir = os.path.join(base_dir, f"job-{os.getpid()}-{time.monotonic_ns()}")
    os.mkdir(workdir, 0o700)
    if uid is not None:
        os.chown(workdir, uid, uid)
    pipes = [os.pipe() for _ in range(4)]  # stdin, stdout, stderr, report
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            _child(job, workdir, uid, pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1])
        finally:
            os._exit(EXIT_HARNESS)
    for fd in (pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]):
        os.close(fd)
    stdin_w = pipes[0][1]
    try:
        os.write(stdin_w, job.get("stdin", "").encode())
    except OSError:
        pass
    os.close(stdin_w)
    readers = [pipes[1][0], pipes[2][0], pipes[3][0]]
    buffers, status = _drain(readers, job["limits"], started, pid)
    _, wait_status = os.waitpid(pid, 0)
    elapsed = time.monotonic() - started
    for fd in readers:
        os.close(fd)
    shutil.rmtree(workdir, ignore_errors=True)
    cap = int(job["limits"]["output_bytes"])
    result = {
        "status": status,
        "exit_code": os.waitstatus_to_exitcode(wait_status),
        "stdout": buffers[readers[0]][:cap].decode("utf-8", "replace"),
        "stderr": buffers[readers[1]][-cap:].decode("utf-8", "replace"),
        "report": buffers[readers[2]][: 4 * cap].decode("utf-8", "replace"),
        "seconds": elapsed,
    }
    return result


def main():
    isolation = _isolate_namespaces()
    for name in PRELOAD:
        importlib.import_module(name)
    uid = int(sys.argv[1]) if len(sys.argv) > 1 and os.geteuid() == 0 else None
    if uid is not None and _expose_python(isolation):
        isolation.append("separate_uid")
    else:
        uid = None
    isolation += ["rlimits", "audit_hook", "empty_env"]
    base_dir = os.path.join("/tmp", f"prefmill-sandbox-{os.getpid()}")
    os.makedirs(base_dir, mode=0o711, exist_ok=True)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    out = sys.stdout
    out.write(json.dumps({"hello": True, "isolation": isolation, "pid": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            job = json.loads(line)
            result = run_job(job, base_dir, uid)
        except (ValueError, KeyError, OSError) as exc:
            result = {"status": "sandbox_error", "exit_code": None, "stdout": "", "stderr": repr(exc),
                      "report": "", "seconds": 0.0}
        out.write(json.dumps(result) + "\n")
        out.flush()
    shutil.rmtree(base_dir, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
