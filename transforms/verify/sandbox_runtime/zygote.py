"""The sandbox worker ("zygote"): a warm, stdlib-only interpreter that runs untrusted programs.

`prefmill.transforms.verify.sandbox` starts it inside a bubblewrap container: no network (its own empty
network namespace), its own PID, IPC and UTS namespaces, an empty environment, and a file system that is
only a read-only view of /usr and the interpreter's standard library, with fresh tmpfs elsewhere. When
the pipeline runs as root, bubblewrap keeps only CAP_SETUID/CAP_SETGID for the zygote, which switches
each program to an unused uid. It reads one JSON job per line on stdin and answers one JSON line.

Per job (see isolate.py): each process it starts gets its own user, mount, PID and IPC namespace, fresh
tmpfs on /tmp, /work and /dev/shm, an empty /proc, no capabilities, no_new_privs, a seccomp filter and
rlimits. A functions-mode job runs in two such processes: the program (started *before* the job is read,
so its memory never held the tests) and the judge (see harness.py and referee.py). Every wait has a deadline; at the
deadline the program's PID namespace is killed whole.
"""

import json
import os
import resource
import select
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out

import harness  # noqa: E402
import isolate  # noqa: E402
import referee  # noqa: E402
from watch import Keeper, Watch  # noqa: E402

EXIT_MEMORY = harness.EXIT_MEMORY
# Imported once here so every program has them without touching the file system (and faster).
PRELOAD = ("array", "bisect", "collections", "copy", "dataclasses", "datetime", "decimal", "fractions",
           "functools", "heapq", "itertools", "math", "operator", "random", "re", "statistics", "string",
           "textwrap", "typing", "unicodedata", "enum", "abc", "numbers", "cmath", "struct", "hashlib",
           "json", "threading", "traceback", "types", "importlib", "builtins", "io")


PROBE_LIMITS = {"wall_s": 20.0, "cpu_s": 5.0, "memory_mb": 256, "output_bytes": 4096, "file_bytes": 0,
                "processes": 4}


class Settings:
    uid = None  # the uid programs run as (root mode), else None: the caller's own
    tmpfs_bytes = 16 << 20  # each of a program's /tmp, /work and /dev/shm
    namespaces = True  # False only in unsafe_local mode where the kernel refuses user namespaces


def _rlimits(limits, *, judge=False):
    cpu = max(1, int(limits["cpu_s"]))
    memory = int(limits["memory_mb"]) * 1024 * 1024 * (2 if judge else 1)
    settings = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_FSIZE, (int(limits["file_bytes"]),) * 2),
        (resource.RLIMIT_NOFILE, (64, 64)),
        (resource.RLIMIT_CORE, (0, 0)),
        # Counted per user namespace (Linux >= 5.14): threads and processes of this program only.
        (resource.RLIMIT_NPROC, (int(limits.get("processes", 16)),) * 2),
    ]
    for which, value in settings:
        resource.setrlimit(which, value)


PIPES = ("job", "stdin", "stdout", "stderr", "trip", "req", "rep")
# Per program: (its descriptor number, the pipe, which end it gets). The zygote keeps the other ends.
PROGRAM_FDS = ((0, "stdin", 0), (1, "stdout", 1), (2, "stderr", 1), (3, "job", 0), (4, "trip", 1), (5, "req", 0),
               (6, "rep", 1))


class Templates:
    """A clean process that forks every program. It is started before the first job and never receives
    one, so a program (forked from it) finds no job, test, expected output or earlier answer in its memory:
    the zygote's memory holds all of those, so programs are never forked from the zygote."""

    def __init__(self):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            self.sock.close()
            try:
                _serve_templates(theirs)
            finally:
                os._exit(0)
        theirs.close()

    def program(self):
        self.sock.send(b"p")
        message, fds, _, _ = socket.recv_fds(self.sock, 64, len(PROGRAM_FDS) + 1)
        if len(fds) != len(PROGRAM_FDS) + 1:
            raise OSError("the template process did not hand over a program")
        return Program(int(message), dict(zip(("status",) + tuple(name for _, name, _ in PROGRAM_FDS), fds)))


def _serve_templates(sock):
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # keepers are reaped by the kernel; the zygote kills by pid
    while sock.recv(16):
        pipes = {name: os.pipe() for name in PIPES}
        given = {number: pipes[name][end] for number, name, end in PROGRAM_FDS}
        keeper, status_fd = isolate.spawn(Program.main, given, uid=Settings.uid, tmpfs_bytes=Settings.tmpfs_bytes,
                                          namespaces=Settings.namespaces)
        kept = [status_fd] + [pipes[name][1 - end] for _, name, end in PROGRAM_FDS]
        socket.send_fds(sock, [str(keeper).encode()], kept)
        for fd in kept + list(given.values()):
            os.close(fd)


class Program:
    """A pre-started program process (forked by `Templates`), waiting for its solution on a private pipe."""

    def __init__(self, keeper, fds):
        self.keeper, self.status_fd = keeper, fds["status"]
        self.fds = fds

    @staticmethod
    def main():
        job = harness.recv(3)
        os.close(3)
        _rlimits(job["limits"])
        if job.get("tripwire", True):
            harness.install_tripwire(4)
        sys.stdin = open(0, "r", encoding="utf-8", errors="replace", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)
        try:
            if job["mode"] == "script":
                os.close(5)
                os.close(6)
                return harness.run_script(job["solution"])
            os.close(0)
            code = harness.serve(job["solution"], 5, 6)
        except MemoryError:
            return EXIT_MEMORY
        harness.flush_streams()
        return code


def _judge_process(job, req_w, rep_r, nonce):
    report_r, report_w = os.pipe()
    null = os.open("/dev/null", os.O_WRONLY)

    def main():
        _rlimits(job["limits"], judge=True)

        def report(entry):
            harness.send(5, entry)

        return referee.judge(job["tests"], job.get("entry_point"), 3, 4, report, nonce)

    keeper, status_fd = isolate.spawn(main, {1: null, 2: null, 3: req_w, 4: rep_r, 5: report_w},
                                      uid=Settings.uid, tmpfs_bytes=16 << 20, namespaces=Settings.namespaces)
    for fd in (null, report_w):
        os.close(fd)
    return keeper, status_fd, report_r


def run_job(job, program):
    limits = job["limits"]
    started = time.monotonic()
    deadline = started + float(limits["wall_s"])
    cap = int(limits["output_bytes"])
    fds = program.fds
    keeper = Keeper(program.keeper, program.status_fd)
    watch = Watch(cap)
    watch.add("stdout", fds["stdout"])
    watch.add("stderr", fds["stderr"])
    watch.add("trip", fds["trip"], limit=16384)
    extra = []
    judge = None
    try:
        harness.send(fds["job"], {"mode": job["mode"], "solution": job["solution"], "limits": limits,
                                  "tripwire": bool(job.get("tripwire", True))})
    except OSError:
        pass  # the program's process is gone: its status says why
    os.close(fds["job"])
    stdin = b""
    if job["mode"] == "script":
        os.close(fds["req"])
        os.close(fds["rep"])
        stdin = job.get("stdin", "").encode()
        os.set_blocking(fds["stdin"], False)  # fed inside the loop: a program that never reads cannot block us
        done = lambda: keeper.finished() and not (watch.is_open("stdout") or watch.is_open("stderr"))  # noqa: E731
    else:
        nonce = os.urandom(16).hex()  # made in the zygote; the program's process was forked elsewhere
        judge_keeper, judge_status, report_r = _judge_process(job, fds["req"], fds["rep"], nonce)
        os.close(fds["req"])
        os.close(fds["rep"])
        judge = Keeper(judge_keeper, judge_status)
        extra.append(judge)
        watch.add("report", report_r, limit=4 * cap + 65536)
        done = lambda: judge.finished() and not watch.is_open("report")  # noqa: E731
    stdin_fd = fds["stdin"]
    if not stdin:
        os.close(stdin_fd)
        stdin_fd = None
    status = None
    keepers = [keeper, *extra]
    while not done():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            status = "timeout"
            break
        waiting = list(watch.open) + [k.fd for k in keepers if not k.closed]
        if not waiting:
            break
        writable = [stdin_fd] if stdin_fd is not None else []
        ready, can_write, _ = select.select(waiting, writable, [], min(remaining, 0.5))
        if can_write:
            try:
                sent = os.write(stdin_fd, stdin[:65536])
                stdin = stdin[sent:]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:  # the program closed its stdin
                stdin = b""
            if not stdin:
                os.close(stdin_fd)
                stdin_fd = None
        for k in keepers:
            if k.fd in ready:
                k.read(0)
        for fd in ready:
            if fd in watch.open:
                status = watch.read(fd)
                if status:
                    break
        if status:
            break
    if stdin_fd is not None:
        os.close(stdin_fd)
    if judge is not None and b'"gone":true' in watch.buffers["report"]:
        # The judge saw the program die: wait briefly for its exit status (memory, CPU limit, crash).
        grace = time.monotonic() + 2.0
        while not keeper.finished() and time.monotonic() < grace:
            keeper.read(0.05)
    # The program is done with when the judge is: kill it (and its namespace) in every case.
    program_done = keeper.finished()
    for k in keepers:
        k.reap()
    watch.drain()
    watch.close()
    elapsed = time.monotonic() - started
    report = _frames(bytes(watch.buffers.get("report", b"")))
    if judge is not None:
        complete = {"done": nonce} in report and status is None
    else:
        complete = status is None and program_done and not keeper.setup_error
    return {
        "complete": complete, "keeper_text": keeper.text.decode(errors="replace"),
        "status": status,
        "exit_code": keeper.exit_code() if program_done else None,
        "cpu_s": keeper.cpu_seconds if program_done else None,
        "setup_error": keeper.setup_error or (judge.setup_error if judge else None),
        "judge_exit": judge.exit_code() if judge else None,
        "stdout": bytes(watch.buffers["stdout"][:cap]).decode("utf-8", "replace"),
        "stderr": bytes(watch.buffers["stderr"][-cap:]).decode("utf-8", "replace"),
        "report": [entry for entry in report if "done" not in entry],
        "trip": bytes(watch.buffers["trip"]).decode("utf-8", "replace").splitlines()[:50],
        "seconds": elapsed,
    }


def _frames(data):
    entries, offset = [], 0
    while offset + 4 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        body = data[offset + 4: offset + 4 + size]
        if len(body) < size:
            break
        try:
            entries.append(json.loads(body))
        except ValueError:
            break
        offset += 4 + size
    return entries


def main():
    sys.set_int_max_str_digits(0)
    args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    Settings.uid = args.get("uid") if os.geteuid() == 0 else None
    Settings.namespaces = bool(args.get("namespaces", True))
    for name in PRELOAD:
        __import__(name)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    # A first program proves the per-process isolation works before the worker says hello.
    templates = Templates()
    probe = run_job({"mode": "script", "solution": "print('ready')", "limits": PROBE_LIMITS}, templates.program())
    if probe.get("stdout") != "ready\n":
        sys.stderr.write(f"the per-program isolation does not work here: {probe.get('setup_error') or probe}\n")
        sys.exit(3)
    program = templates.program()
    layers = list(args.get("layers", []))
    layers += ["user_pid_mount_namespaces_per_program" if Settings.namespaces else "no_namespaces_per_program",
               "rlimits", "seccomp" if harness_seccomp_supported() else "no_seccomp", "tripwire", "empty_env",
               "separate_judge_process"]
    if Settings.uid is not None:
        layers.append("separate_uid")
    out = sys.stdout
    out.write(json.dumps({"hello": True, "isolation": layers, "pid": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            job = json.loads(line)
            result = run_job(job, program)
        except (ValueError, KeyError, OSError) as exc:
            result = {"status": "sandbox_error", "exit_code": None, "stdout": "", "stderr": repr(exc)[:500],
                      "report": [], "trip": [], "seconds": 0.0}
        out.write(json.dumps(result) + "\n")
        out.flush()
        program = templates.program()


def harness_seccomp_supported():
    import seccomp

    return seccomp.supported()


if __name__ == "__main__":
    main()
