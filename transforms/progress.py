"""Live progress of a local run: rows seen per stage, printed at most every few seconds.

Beam metrics are exact but only readable after a run on the local runner, so stages also bump this
process-local board. The launcher switches it on for local runs (env PREFMILL_PROGRESS=1); on Dataflow
workers it stays off and the Dataflow UI shows the Beam counters instead. With several worker processes,
each prints its own share, tagged with its pid.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import defaultdict

ENV_FLAG = "PREFMILL_PROGRESS"
_ORDER = ["read", "dedupe", "generate", "verify", "inject", "judge", "pairs", "route", "write"]


class ProgressBoard:
    def __init__(self, interval_s: float = 2.0, stream=None) -> None:
        self.interval_s = interval_s
        self.stream = stream
        self.counts: dict[str, int] = defaultdict(int)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return os.environ.get(ENV_FLAG) == "1"

    def bump(self, stage: str, n: int = 1) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.counts[stage] += n
            now = time.monotonic()
            if now - self._last < self.interval_s:
                return
            self._last = now
            line = self.render()
        print(line, file=self.stream or sys.stderr, flush=True)

    def render(self) -> str:
        names = sorted(self.counts, key=lambda s: (_ORDER.index(s) if s in _ORDER else 99, s))
        parts = " | ".join(f"{name} {self.counts[name]:,}" for name in names)
        return f"[prefmill pid {os.getpid()}] rows seen: {parts}"


BOARD = ProgressBoard()
