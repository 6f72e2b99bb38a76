"""The program's side of a test run (untrusted); the judge's side, in another process, is `referee.py`.

The program's process loads the solution and then only answers requests: call this function, get this
attribute, iterate this object. It never sees a test, an expected value or the judge's report channel.
In script mode it runs the solution as `__main__`. Its audit hook (`install_tripwire`) is a tripwire
that reports what the program tried, not the boundary: the boundary is the process's namespaces, uid,
rlimits and seccomp filter (`isolate.py`).
"""

import builtins
import os
import sys
import types

from wire import decode, describe, encode, recv, send

EXIT_MEMORY = 85
# Audit events that are attempts to reach past the program (the OS boundary refuses them anyway).
_FORBIDDEN_PREFIXES = ("socket.", "subprocess.", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                       "os.forkpty", "os.kill", "os.killpg", "os.system", "os.setuid", "os.setgid", "ctypes.",
                       "pty.", "os.startfile", "_posixsubprocess", "os.pidfd", "mmap.", "signal.pthread_kill")
# ... and events that only serve to find or tamper with the harness (the audit hook included).
_TAMPER_EVENTS = {"gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames"}
_PATH_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.link", "os.symlink",
                "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move", "os.chflags",
                "os.lchown", "os.setxattr", "os.removexattr", "os.chdir"}
_BLOCKED_MODULES = {"ctypes", "_ctypes"}  # subprocess and pty import fine (mock needs them); their calls are refused


def install_tripwire(trip_fd, workdir="/work"):
    """An audit hook that refuses and records escape attempts on `trip_fd` at once (so an `os._exit`
    right after a caught refusal still leaves the record). A tripwire, not the boundary: a program can
    switch it off (PEP 578 says as much), and the namespaces, rlimits and seccomp filter still hold."""
    write, normpath, join, fsdecode = os.write, os.path.normpath, os.path.join, os.fsdecode

    def absolute(path):
        try:
            text = fsdecode(path)
        except (TypeError, ValueError):
            return None
        return normpath(join(workdir, text)) if not text.startswith("/") else normpath(text)

    private = (workdir, "/tmp", "/dev/shm")  # each a fresh tmpfs of this program's alone

    def inside(path):
        target = absolute(path)
        return target is not None and any(target == d or target.startswith(d + "/") for d in private)

    recorded = set()

    def refuse(kind, event, detail=""):
        line = f"{kind} {event} {detail}"[:300].replace("\n", " ")
        if line not in recorded and len(recorded) < 50:  # each attempt once: a loop of them is one record
            recorded.add(line)
            try:
                write(trip_fd, line.encode() + b"\n")
            except OSError:
                pass
        raise PermissionError(f"prefmill sandbox: {event} is not allowed {detail}".rstrip())

    def hook(event, args):
        if event == "socket.__new__" and len(args) > 1 and args[1] == 1:
            return  # AF_UNIX: asyncio's self-pipe (the network namespace has no network anyway)
        if event.startswith(_FORBIDDEN_PREFIXES):
            refuse("forbidden", event)
        if event in _TAMPER_EVENTS:
            refuse("tamper", event)
        if event == "import" and args and str(args[0]).split(".")[0] in _BLOCKED_MODULES:
            refuse("forbidden", event, str(args[0]))
        if event == "open" and args:
            path, mode, flags = (list(args) + [None, None])[:3]
            if isinstance(path, int) or path is None:
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            target = absolute(path) or ""
            if target.startswith(("/proc", "/sys")):
                refuse("forbidden", "open", target)
            if writing and not inside(path):
                refuse("forbidden", "open for writing outside the working directory", target)
        if event in _PATH_EVENTS and args:
            for path in args[:2]:
                if isinstance(path, (str, bytes)) and not inside(path):
                    refuse("forbidden", event, str(path))

    sys.addaudithook(hook)


# ---- the program's side -------------------------------------------------------------------------

def run_script(solution):
    """Script mode: the solution is `__main__`, reading stdin and writing stdout. Returns an exit code."""
    try:
        exec(compile(solution, "solution.py", "exec"), {"__name__": "__main__", "__builtins__": builtins})
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except MemoryError:
        code = EXIT_MEMORY
    except BaseException as exc:
        sys.stderr.write(describe(exc) + "\n")
        code = 1
    flush_streams()
    return code


def flush_streams():
    """Flush what the program printed; a program may have closed or replaced its streams."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


def serve(solution, requests_fd, replies_fd):
    """Functions mode, the program's side: load the solution, publish its names, answer requests."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    handles = []
    namespace = {"__name__": "solution", "__builtins__": builtins}
    try:
        exec(compile(solution, "solution.py", "exec"), namespace)
    except MemoryError:
        return EXIT_MEMORY
    except BaseException as exc:  # SystemExit included: a solution that exits while loading has failed
        send(replies_fd, {"load_error": describe(exc)})
        return 0
    names = {}
    for name, value in list(namespace.items()):
        if name.startswith("__"):
            continue
        if isinstance(value, types.ModuleType):
            names[name] = ["mod", str(value.__name__)]
            continue
        try:
            names[name] = encode(value, handles)
        except (ValueError, RecursionError):
            continue
    send(replies_fd, {"names": names})
    while True:
        try:
            request = recv(requests_fd)
        except EOFError:
            return 0
        send(replies_fd, _answer(request, handles))


def _answer(request, handles):
    reply = {"id": request.get("id")}
    try:
        target = handles[int(request["h"])]
        op = request["op"]
        args = [decode(a, refs=handles) for a in request.get("a", [])]
        kwargs = {str(k): decode(v, refs=handles) for k, v in request.get("k", {}).items()}
        if op == "call":
            result = target(*args, **kwargs)
        elif op == "getattr":
            result = getattr(target, str(request["n"]))
        elif op == "setattr":
            result = setattr(target, str(request["n"]), args[0])
        elif op == "iter":
            result = iter(target)
        elif op == "next":
            result = next(target)
        elif op == "len":
            result = len(target)
        elif op == "getitem":
            result = target[args[0]]
        else:
            raise ValueError(f"unknown request {op!r}")
        reply["v"] = encode(result, handles)
    except (SystemExit, KeyboardInterrupt):
        raise
    except MemoryError:
        raise
    except BaseException as exc:
        base = next((k.__name__ for k in type(exc).__mro__ if k.__module__ == "builtins"), "Exception")
        reply["raise"] = [type(exc).__name__, describe(exc), base]
    return reply
