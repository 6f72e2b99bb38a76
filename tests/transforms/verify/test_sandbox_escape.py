"""Escape attempts with the tripwire off, as root and as an unprivileged uid: the OS layers alone hold.

`tests/sandbox_escape_probe.py` runs every attack through a real Sandbox and reports what it saw from the
outside. As root it runs directly; the unprivileged run uses a private mount namespace that makes the
interpreter and the checkout readable (a pyenv under /root is not), then drops to uid 65100 with setpriv.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from support import REPO

PROBE = REPO / "tests" / "sandbox_escape_probe.py"
SECRET = "sk-prefmill-escape-secret-4f1c"
UNPRIVILEGED = 65100

EXPOSE = r'''
import os, subprocess, sys
needed = sys.argv[1].split(":")
def blocked(path):
    return not os.stat(path).st_mode & 0o001
done = set()
for path in needed:
    parts = path.split("/")
    for depth in range(2, len(parts)):
        ancestor = "/".join(parts[:depth])
        if ancestor in done or not blocked(ancestor):
            continue
        done.add(ancestor)
        stage = "/tmp/prefmill-expose-" + str(len(done))
        os.makedirs(stage, exist_ok=True)
        subprocess.run(["mount", "--bind", ancestor, stage], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", ancestor], check=True)
        children = {p.split("/")[depth] for p in needed if p.startswith(ancestor + "/")}
        for child in children:
            os.makedirs(os.path.join(ancestor, child), exist_ok=True)
            subprocess.run(["mount", "--rbind", os.path.join(stage, child), os.path.join(ancestor, child)], check=True)
os.execvp("setpriv", ["setpriv", "--reuid", sys.argv[2], "--regid", sys.argv[2], "--clear-groups",
                      "--inh-caps=-all", "--bounding-set=-all", "--"] + sys.argv[3:])
'''


def _check(report: dict) -> None:
    runs = report["runs"]
    everything = json.dumps(runs)
    assert SECRET not in everything  # neither the environment nor /proc/<pipeline>/environ leaked
    assert "sk-prefmill" not in everything
    # rename, link, symlink, mkfifo, mknod, .. and /./: whatever "succeeded" landed in the private tmpfs
    assert report["outside_files"] == []
    assert report["connections"] == 0
    assert "connected" not in runs["network"]["stdout"]
    assert "ATTACHED" not in runs["ptrace"]["stdout"]
    assert report["victim_alive"]  # a same-uid process outside survived kill(-1) and kill(pid)
    assert "unshare -1" in runs["unshare_and_mount"]["stdout"] and "mount -1" in runs["unshare_and_mount"]["stdout"]
    assert runs["find_files"]["stdout"].strip() == "{'/work': [], '/tmp': [], '/dev/shm': []}"
    assert runs["neighbour"]["stdout"].strip() == "[] []"
    # per worker: bwrap (2), zygote, the template process, the next program's keeper and process
    assert report["processes_between_jobs"] <= 2 * 6
    assert report["processes_after_close"] == 0  # the orphan died with its namespace; nothing outlives the pool
    assert {"bubblewrap", "user_pid_mount_namespaces_per_program", "seccomp"} <= set(report["isolation"])


def _run(command: list[str], out: Path) -> dict:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.skipif(os.geteuid() != 0, reason="this run is the root mode; the unprivileged one is below")
def test_escapes_fail_as_root(tmp_path):
    report = _run([sys.executable, str(PROBE), str(tmp_path / "out.json")], tmp_path / "out.json")
    assert report["uid"] == 0 and "separate_uid" in report["isolation"]
    _check(report)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("unshare"),
                    reason="needs root to drop to an unused uid with setpriv")
def test_escapes_fail_as_an_unprivileged_user():
    out_dir = Path(tempfile.mkdtemp(prefix="prefmill-escape-out-"))
    os.chmod(out_dir, stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)
    needed = sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), str(REPO.resolve())})
    out = out_dir / "out.json"
    python = os.path.join(sys.prefix, "bin", "python")
    command = ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", EXPOSE, ":".join(needed),
               str(UNPRIVILEGED), "env", "-i", "PATH=/usr/bin:/bin", "HOME=/tmp", python, str(PROBE), str(out)]
    try:
        report = _run(command, out)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    assert report["uid"] == UNPRIVILEGED
    assert "separate_uid" not in report["isolation"]  # the caller's own uid, inside namespaces
    _check(report)
