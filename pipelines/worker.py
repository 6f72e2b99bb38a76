"""The worker process of a local multi-process run: Beam's own SDK worker (`sdk_worker_main`), started with
its modules (Beam, and every prefmill stage it will unpickle) loaded while the garbage collector is off and
then frozen, as the `prefmill` command itself is (entry.py). A worker process starts in about 0.4 s less,
and exits sooner: the runner waits for it at the end of every job (bench/startup.py measures both).

`--standby DIR INDEX`: started by the launcher as soon as it knows a run has worker processes, so the
imports (about a second) happen while it builds the pipeline. It waits on a Unix socket in DIR for the
shim Beam starts (worker_shim.py), takes the shim's environment (the runner's addresses) and runs as that
worker; it exits when the launcher goes away unclaimed, or when its shim is killed."""

from __future__ import annotations

import atexit
import gc
import json
import os
import signal
import socket
import sys
import threading


def _load():
    gc.disable()
    try:
        from apache_beam.runners.worker import sdk_worker_main

        import prefmill.pipelines.build  # noqa: F401  # every stage the worker will unpickle
    finally:
        gc.freeze()
        gc.enable()
    return sdk_worker_main


def main() -> None:
    if sys.argv[1:2] == ["--standby"]:
        return standby(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    _load().main(sys.argv)
    gc.freeze()  # what the worker left alive is not scanned once more at exit


def _leave_unclaimed(directory: str, index: str) -> None:
    """The launcher is gone and nobody claimed this worker: remove what it left, and exit."""
    path = os.path.join(directory, f"{index}.sock")
    for leftover in (path, os.path.join(directory, f"{index}.pending"), directory):
        try:
            os.rmdir(leftover) if leftover == directory else os.unlink(leftover)
        except OSError:
            pass  # another worker still waits there, or its launcher removed it
    os._exit(0)


def _wait_for_shim(directory: str, index: str, launcher: int) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = os.path.join(directory, f"{index}.sock")
    server.bind(path + ".new")
    server.listen(1)
    os.rename(path + ".new", path)  # a shim sees it only once it listens
    server.settimeout(0.5)
    while True:
        try:
            connection, _ = server.accept()
            break
        except socket.timeout:
            if os.getppid() != launcher:
                server.close()
                _leave_unclaimed(directory, index)
    server.close()
    os.unlink(path)  # claimed: the socket file has done its work
    connection.settimeout(None)
    return connection


def standby(directory: str, index: str, launcher: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the launcher's to report until this is claimed
    if os.getppid() != launcher:
        _leave_unclaimed(directory, index)
    sdk_worker_main = _load()
    if os.getppid() != launcher:  # the launcher died while this loaded
        _leave_unclaimed(directory, index)
    connection = _wait_for_shim(directory, index, launcher)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(1 << 16)
        if not chunk:
            os._exit(1)
        data += chunk
    given = json.loads(data)
    os.environ.clear()
    os.environ.update(given["env"])
    os.chdir(given["cwd"])

    def follow_shim():  # the shim never writes: end of stream means it was killed, and this worker goes too
        connection.recv(1)
        os._exit(1)

    threading.Thread(target=follow_shim, name="prefmill-shim-watch", daemon=True).start()
    code = 0
    try:
        sdk_worker_main.main(given["argv"])
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    except BaseException:  # noqa: BLE001  # reported like a worker's crash: a traceback and a non-zero code
        import traceback

        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()  # what the stages registered (sandboxes and checkers close their processes)
    except BaseException:  # noqa: BLE001  # an exit hook's failure must not change the worker's exit code
        pass
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        connection.sendall(str(code).encode())
    finally:
        os._exit(code)


if __name__ == "__main__":
    main()
