"""Math equivalence by Math-Verify (Hugging Face's `math-verify`, what TRL and verl use), time-bounded.

Math-Verify parses both sides (LaTeX and plain expressions, boxed answers, "final answer is ..." phrasing,
sets, intervals, equations, units) into sympy and compares them. Its own timeouts use SIGALRM, which only
works in a process's main thread (Beam runs DoFns in threads), so prefmill runs it in a helper process
with those timeouts off: when a comparison overruns `timeout_s` the helper is killed and replaced and the
caller gets `None, "timeout"` instead of a hung worker.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import subprocess
import sys
import threading
from typing import Optional

from prefmill.transforms.verify.lines import LineReader, write_all

TIMEOUT_S = 5.0


@functools.lru_cache(maxsize=1)
def engine_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"math-verify {version('math-verify')}"
    except PackageNotFoundError:
        return "math-verify (not installed)"


@functools.lru_cache(maxsize=4096)
def parse_gold(gold: str) -> tuple:
    """The parsed reference, once per reference: a prompt's n candidates share it.

    A bare reference is read as LaTeX ($...$), except a plain number, which Math-Verify's expression reader
    takes as written (1,22 is a decimal comma there, a set of two numbers in LaTeX)."""
    from math_verify import parse

    bare = "$" not in gold and "\\(" not in gold and "\\[" not in gold and "\\boxed" not in gold
    plain = re.fullmatch(r"[\d\s,.+\-/]+", gold.strip()) is not None
    parsed_gold = parse(f"${gold}$" if bare and not plain else gold, parsing_timeout=None)
    if not parsed_gold and bare:
        parsed_gold = parse(gold if not plain else f"${gold}$", parsing_timeout=None)
    return tuple(parsed_gold)


def compare(gold: str, prediction: str) -> dict:
    """Math-Verify's default API on one pair: {"equal": bool, "gold": ..., "extracted": ...}."""
    from math_verify import parse, verify

    parsed_gold = list(parse_gold(gold))
    parsed = parse(prediction, parsing_timeout=None)
    extracted = str(parsed[-1]) if parsed else None
    if not parsed_gold:
        return {"equal": None, "gold": None, "extracted": extracted}
    equal = bool(parsed) and bool(verify(parsed_gold, parsed, timeout_seconds=None))
    return {"equal": equal, "gold": str(parsed_gold[-1]), "extracted": extracted}


def serve() -> None:
    """Helper process loop: one JSON request per line in, one JSON answer per line out."""
    logging.disable(logging.WARNING)  # "timeout is disabled" on every call: this process is the timeout
    compare("$\\frac{1}{2}$", "0.5")  # import and warm the parser before the first timed request
    sys.stdout.write('{"ready": true}\n')
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = compare(request["gold"], request["prediction"])
        except Exception as exc:  # noqa: BLE001 - any failure inside the engine means "cannot decide"
            result = {"equal": None, "gold": None, "extracted": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


class SymbolicChecker:
    """Client of one helper process; thread-safe; restarts the helper after a timeout or crash."""

    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._proc: Optional[subprocess.Popen] = None
        self._lock = threading.Lock()
        self._lines: Optional[LineReader] = None

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from prefmill.transforms.verify.symbolic import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        self._lines = LineReader(proc.stdout)
        if self._lines.readline(120.0) is None:  # ready (imports sympy: slow on a busy machine)
            proc.kill()
            raise RuntimeError("the Math-Verify helper did not start")
        return proc

    def verify(self, gold: str, prediction: str) -> tuple[Optional[bool], str, Optional[str]]:
        """(equal or None, status, what Math-Verify extracted); status is ok, unparseable or timeout."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            write_all(self._proc.stdin, (json.dumps({"gold": gold, "prediction": prediction}) + "\n").encode())
            line = self._lines.readline(self.timeout_s)
            if not line:
                self.close_locked()
                return None, "timeout", None
        result = json.loads(line)
        equal = result.get("equal")
        return equal, "ok" if equal is not None else "unparseable", result.get("extracted")

    def close_locked(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def close(self) -> None:
        with self._lock:
            self.close_locked()


_SHARED: Optional[SymbolicChecker] = None
_SHARED_LOCK = threading.Lock()


def shared_checker(timeout_s: float = TIMEOUT_S) -> SymbolicChecker:
    """The process-wide checker; `timeout_s` applies from the call that creates it on."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            import atexit

            _SHARED = SymbolicChecker(timeout_s)
            atexit.register(_SHARED.close)
        return _SHARED
