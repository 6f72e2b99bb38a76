"""What the zygote reads while a job runs: the program's output pipes (`Watch`, under one cap) and the
status pipe of each isolated process (`Keeper`: its pid, wait status, CPU time, or why its setup failed)."""

import os
import select
import signal
import time


class Watch:
    """The pipes of one job, read to EOF under one output cap."""

    def __init__(self, cap):
        self.cap = cap
        self.buffers, self.open = {}, {}

    def add(self, name, fd, limit=None):
        self.buffers[name] = bytearray()
        self.open[fd] = (name, limit or self.cap)

    def is_open(self, name):
        return any(entry[0] == name for entry in self.open.values())

    def read(self, fd):
        """Read what is ready on `fd`; 'output_limit' when a buffer passed its cap, else None."""
        name, limit = self.open[fd]
        chunk = os.read(fd, 65536)
        if not chunk:
            del self.open[fd]
            os.close(fd)
            return None
        if name == "trip":  # the tripwire's records are evidence, kept up to the cap, never a limit hit
            self.buffers[name].extend(chunk[: max(0, limit - len(self.buffers[name]))])
            return None
        self.buffers[name].extend(chunk)
        return "output_limit" if len(self.buffers[name]) > limit else None

    def drain(self):
        """After the kill: take what is already in the pipes, without waiting."""
        for fd in list(self.open):
            name, limit = self.open[fd]
            while fd in self.open and len(self.buffers[name]) <= limit:
                ready, _, _ = select.select([fd], [], [], 0)
                if not ready:
                    break
                self.read(fd)

    def close(self):
        for fd in self.open:
            os.close(fd)
        self.open.clear()


class Keeper:
    """The status pipe of one isolated process: its pid (as the zygote sees it) and its wait status."""

    def __init__(self, keeper_pid, status_fd):
        self.keeper_pid, self.fd = keeper_pid, status_fd
        self.text = b""
        self.closed = False

    def _field(self, prefix):
        """The words after `prefix` on the keeper's line that starts with it (pid, status, setup), or None."""
        for line in self.text.decode(errors="replace").splitlines():
            if line.startswith(prefix + " "):
                return line[len(prefix) + 1:].split()
        return None

    @property
    def program_pid(self):
        words = self._field("pid")
        return int(words[0]) if words else None

    @property
    def wait_status(self):
        words = self._field("status")
        return int(words[0]) if words else None

    @property
    def cpu_seconds(self):
        words = self._field("status")  # "status <wait status> cpu <seconds>"
        return float(words[2]) if words and len(words) >= 3 and words[1] == "cpu" else None

    @property
    def setup_error(self):
        words = self._field("setup")
        return " ".join(words) if words is not None else None

    def finished(self):
        return self.wait_status is not None or self.setup_error is not None or self.closed

    def read(self, timeout=0.0):
        if self.closed:
            return
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if ready:
            chunk = os.read(self.fd, 4096)
            if chunk:
                self.text += chunk
            else:
                self.closed = True

    def kill(self):
        # The program's pid only while it has not been reported dead (after that it could be reused);
        # the keeper is our child and unreaped, so its pid is still its own.
        program = self.program_pid if self.wait_status is None else None
        for pid in (program, self.keeper_pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def reap(self):
        """Kill whatever is left and collect the keeper; never blocks past a short grace period."""
        self.kill()
        deadline = time.monotonic() + 2.0
        while not self.closed and time.monotonic() < deadline:
            self.read(0.05)
        os.close(self.fd)
        try:
            os.waitpid(self.keeper_pid, 0)
        except ChildProcessError:
            pass

    def exit_code(self):
        status = self.wait_status
        return None if status is None else os.waitstatus_to_exitcode(status)
