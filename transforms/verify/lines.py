"""Lines from a helper process's stdout under a deadline, without a thread per read.

The sandbox workers and the Math-Verify helper answer one JSON line per request; reading it with a
deadline used to start a thread per request. A select() on the pipe does the same on the hot path.
"""

from __future__ import annotations

import os
import select
import time
from typing import Optional


class LineReader:
    """Reads one line at a time from an unbuffered pipe (Popen with bufsize=0)."""

    def __init__(self, stream) -> None:
        self.fd = stream.fileno()
        self.pending = b""

    def readline(self, timeout_s: float) -> Optional[bytes]:
        """The next line (without its newline), or None at the deadline or at end of file."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line


def write_all(stream, data: bytes) -> None:
    """Write every byte to an unbuffered pipe (a raw write may take only part of a large request)."""
    view = memoryview(data)
    while view:
        view = view[os.write(stream.fileno(), view):]
