"""Live progress: rows seen per stage, printed at most once per interval, only when switched on."""

from __future__ import annotations

import io
import time

from prefmill.transforms.progress import ENV_FLAG, ProgressBoard


def test_progress_prints_throttled_lines_in_stage_order(monkeypatch):
    monkeypatch.setenv(ENV_FLAG, "1")
    out = io.StringIO()
    board = ProgressBoard(interval_s=0.0, stream=out)
    board.bump("pairs", 2)
    board.bump("read", 5)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[-1].endswith("rows seen: read 5 | pairs 2")
    slow = ProgressBoard(interval_s=3600, stream=out)
    slow._last = time.monotonic() - 7200  # a long pause: the first bump prints, the next waits for the interval
    slow.bump("read")
    slow.bump("read")
    assert len(out.getvalue().splitlines()) == 3


def test_progress_is_silent_unless_switched_on(monkeypatch):
    monkeypatch.delenv(ENV_FLAG, raising=False)
    out = io.StringIO()
    board = ProgressBoard(interval_s=0.0, stream=out)
    board.bump("read", 10)
    assert out.getvalue() == "" and board.counts == {}
