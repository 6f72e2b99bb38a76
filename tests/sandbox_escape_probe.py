"""Escape attempts against the code sandbox, run with the tripwire off so only the OS layers stand.

Run as a script (`python tests/sandbox_escape_probe.py OUT.json`), by the escape tests both as root and
as an unprivileged uid. It plants what a program must not reach (a secret in this process's environment,
a file outside, a TCP listener on 127.0.0.1, a sleeping process of the same uid), runs each attack through
a real Sandbox and writes what it observed from the outside as JSON. The test asserts on that JSON.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from prefmill.transforms.verify.sandbox import Sandbox, SandboxLimits

SECRET = "sk-prefmill-escape-secret-4f1c"
LIMITS = SandboxLimits(wall_s=5.0, cpu_s=3.0, memory_mb=256, output_bytes=32_768, file_bytes=1_000_000)


def _attacks(outside: Path, port: int, pipeline_pid: int, victim_pid: int) -> dict[str, str]:
    target = str(outside / "pwned")
    return {
        "environment": "import os\nprint(dict(os.environ))",
        "proc_environ": (
            "import os\nfor p in ['/proc/1/environ', '/proc/self/environ', '/./proc/1/environ', "
            "'../../../proc/1/environ', '/proc/self/../1/environ', '/proc/%d/environ']:\n"
            "    try:\n        print(p, open(p, 'rb').read())\n    except OSError as e:\n        print(p, e)\n"
            % pipeline_pid),
        "write_outside": (
            "import os\nt = %r\nsrc = '/work/f'\nopen(src, 'w').write('x')\n"
            "for op in [lambda: open(t, 'w').write('x'), lambda: open('/work/../' + t, 'w').write('x'),\n"
            "           lambda: open('/./' + t, 'w').write('x'), lambda: os.rename(src, t),\n"
            "           lambda: os.replace(src, t), lambda: os.link(src, t), lambda: os.symlink(src, t),\n"
            "           lambda: os.mkfifo(t), lambda: os.mknod(t), lambda: os.makedirs(t),\n"
            "           lambda: open('/usr/pwned', 'w'), lambda: open('/sandbox/pwned', 'w')]:\n"
            "    try:\n        op(); print('did', t)\n    except OSError as e:\n        print('refused', e)\n"
            % target),
        "network": (
            "import socket\nfor host in ['127.0.0.1', 'localhost', '::1']:\n    try:\n"
            "        socket.create_connection((host, %d), timeout=1); print('connected', host)\n"
            "    except OSError as e:\n        print('refused', host, e)\n" % port),
        "subprocess": (
            "import os, subprocess\nprint(os.system('echo %s > %s'))\n"
            "try:\n    subprocess.run(['/bin/sh', '-c', 'echo sub > %s'])\nexcept OSError as e:\n    print(e)\n"
            % (SECRET[:4], target, target)),
        "ptrace": (
            "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "for pid in [1, 2, 3, os.getppid(), %d, %d]:\n"
            "    r = libc.ptrace(16, pid, 0, 0)\n    print('ptrace', pid, r, ctypes.get_errno())\n"
            "    if r == 0: print('ATTACHED', pid)\n" % (pipeline_pid, victim_pid)),
        "signals": (
            "import os, signal\nfor pid in [%d, %d, -1, 1]:\n    try:\n        os.kill(pid, signal.SIGKILL)\n"
            "    except OSError as e:\n        print('refused', pid, e)\n" % (pipeline_pid, victim_pid)),
        "execv_fresh_interpreter": (
            "import os, sys\nos.execv(sys.executable, [sys.executable, '-c', "
            "\"import os\\nprint(dict(os.environ))\\nfor p in ['/proc/1/environ', '/proc/%d/environ']:\\n"
            "    try: print(open(p,'rb').read())\\n    except OSError as e: print(e)\\n"
            "open(%r, 'w').write('x')\"])" % (pipeline_pid, target)),
        "unshare_and_mount": (
            "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "print('unshare', libc.unshare(0x10000000 | 0x00020000), ctypes.get_errno())\n"
            "print('umount', libc.umount2(b'/proc', 2), ctypes.get_errno())\n"
            "print('mount', libc.mount(b'proc', b'/tmp', b'proc', 0, None), ctypes.get_errno())\n"),
        "orphan": (
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(120)\n    os._exit(0)\nprint('parent done')"),
        "leave_files": "import os\nfor d in ['/work', '/tmp', '/dev/shm']:\n    open(d + '/left-behind', 'w').write('x')",
        "find_files": "import os\nprint({d: os.listdir(d) for d in ['/work', '/tmp', '/dev/shm']})",
    }


def _sandbox_processes() -> list[int]:
    """This probe's sandbox processes: zygote-descended processes under this process (other pools on the
    machine, e.g. a test run's own, are not counted); orphans re-parented away would be found by cmdline
    and uid below, as they keep the zygote's command line."""
    parents: dict[int, int] = {}
    zygotes = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
                if b"/sandbox/zygote.py" in (entry / "cmdline").read_bytes():
                    zygotes.add(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    mine = set()
    for pid in zygotes:
        cursor, seen = pid, 0
        while cursor > 1 and seen < 64:
            if cursor == os.getpid():
                mine.add(pid)
                break
            cursor, seen = parents.get(cursor, 0), seen + 1
    orphans = {pid for pid in zygotes - mine if parents.get(pid) == 1 and _uid(pid) in UIDS}
    return sorted(mine | orphans)


UIDS: set[int] = set()


def _uid(pid: int) -> int:
    try:
        return Path(f"/proc/{pid}").stat().st_uid
    except OSError:
        return -1


def _rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def main(out_path: str) -> None:
    os.environ["OPENAI_API_KEY"] = SECRET
    outside = Path(tempfile.mkdtemp(prefix="prefmill-escape-"))
    os.chmod(outside, 0o777)  # writable by anyone: only the sandbox may stop the write
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    connections: list[str] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append("connected")
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    box = Sandbox(workers=2)
    UIDS.update(box.uids if os.geteuid() == 0 else [os.geteuid()])
    report: dict = {"uid": os.geteuid(), "isolation": box.isolation, "runs": {}}
    attacks = _attacks(outside, listener.getsockname()[1], os.getpid(), victim.pid)
    for name, program in attacks.items():
        result = box.run(program, limits=LIMITS, tripwire=False)
        report["runs"][name] = {"status": result.status, "stdout": result.stdout, "stderr": result.stderr[-500:]}
    # Two programs at once on two workers: one writes and waits, the other looks.
    results = {}

    def run(name: str, program: str) -> None:
        results[name] = box.run(program, limits=LIMITS, tripwire=False).stdout

    writer = threading.Thread(target=run, args=("writer", "import time\nopen('/work/neighbour', 'w').write('x')\n"
                                                 "open('/tmp/neighbour', 'w').write('x')\ntime.sleep(1.5)"))
    writer.start()
    time.sleep(0.3)
    run("reader", "import os\nprint(os.listdir('/work'), os.listdir('/tmp'))")
    writer.join()
    report["runs"]["neighbour"] = {"stdout": results["reader"]}
    deadline = time.monotonic() + 20  # killed namespaces are torn down asynchronously
    while len(_sandbox_processes()) > 2 * 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    between = _sandbox_processes()
    report["processes_between_jobs"] = len(between)
    report["rss_kib_between_jobs"] = _rss_kib(between)
    box.close()
    deadline = time.monotonic() + 20
    while _sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    report["processes_after_close"] = len(_sandbox_processes())
    report["outside_files"] = sorted(p.name for p in outside.iterdir())
    report["connections"] = len(connections)
    report["victim_alive"] = victim.poll() is None
    victim.kill()
    listener.close()
    Path(out_path).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
