"""The command Beam starts for each worker process of a local multi-process run (standard library only, run
with `python -S`, so it starts in milliseconds). It hands its environment, which carries the runner's
control address, to a worker process the launcher started ahead (worker.py --standby), one that has
already loaded Beam and prefmill while the launcher built the pipeline, and exits with that worker's exit
code. With no ready worker it becomes an ordinary one (worker.py)."""

import json
import os
import socket
import sys
import time


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc: kill(pid, 0) is all there is


def claim(directory: str, wait_s: float = 120.0):
    """A connection to one standby worker of `directory` that no other shim gets, or None (no directory,
    every worker taken, or the reserved one died). A worker is reserved by renaming its `<i>.pending` file
    (atomic: one shim wins it); a ready one (its socket is there) is preferred, else the shim waits for the
    reserved one to finish loading, which is sooner than an ordinary worker would."""
    try:
        names = set(os.listdir(directory))
    except OSError:
        return None
    pending = sorted((n for n in names if n.endswith(".pending")), key=lambda n: n[:-8] + ".sock" not in names)
    for name in pending:
        index, path = name[:-8], os.path.join(directory, name)
        try:
            os.rename(path, f"{path}.{os.getpid()}")
        except OSError:
            continue  # another shim reserved it first
        with open(f"{path}.{os.getpid()}") as handle:
            pid = int(handle.read())
        socket_path = os.path.join(directory, index + ".sock")
        deadline = time.monotonic() + wait_s
        while not os.path.exists(socket_path):
            if not process_alive(pid) or time.monotonic() > deadline:
                return None
            time.sleep(0.01)
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(socket_path)
            return connection
        except OSError:
            connection.close()
            return None
    return None


def main() -> None:
    connection = claim(sys.argv[1]) if len(sys.argv) > 1 else None
    if connection is None:
        os.execv(sys.executable, [sys.executable, "-m", "prefmill.pipelines.worker"])
    message = json.dumps({"env": dict(os.environ), "cwd": os.getcwd(), "argv": sys.argv[:1]}).encode()
    connection.sendall(message + b"\n")
    code = b""
    while True:
        chunk = connection.recv(64)
        if not chunk:
            break
        code += chunk
    sys.exit(int(code) if code.strip() else 1)  # no code: the worker died


if __name__ == "__main__":
    main()
