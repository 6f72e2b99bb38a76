"""Symbolic answer equivalence with sympy, in a helper process with a time limit.

LaTeX is parsed by latex2sympy2_extended (the parser behind Hugging Face's math-verify) and compared
with sympy: sets as sets, intervals with their open/closed ends, equations `x = ...` by their right-hand
side, expressions by `simplify(a - b) == 0` or numeric agreement to 1e-9. sympy can take unbounded time on
pathological input, so every comparison runs in a helper process; when it overruns the limit the process
is killed and replaced, and the caller gets `None, "timeout"` instead of a hung worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Optional

TIMEOUT_S = 2.0


def _parse(text: str):
    from latex2sympy2_extended import latex2sympy

    return latex2sympy(text)


def _rhs(expr):
    import sympy

    if isinstance(expr, sympy.Eq) and isinstance(expr.lhs, sympy.Symbol):
        return expr.rhs
    return expr


def _equal(a, b) -> bool:
    import sympy

    a, b = _rhs(a), _rhs(b)
    if isinstance(a, sympy.Set) or isinstance(b, sympy.Set):
        if not (isinstance(a, sympy.Set) and isinstance(b, sympy.Set)):
            return False
        if isinstance(a, sympy.FiniteSet) and isinstance(b, sympy.FiniteSet):
            left, right = list(a), list(b)
            return len(left) == len(right) and all(any(_equal(x, y) for y in right) for x in left) and all(
                any(_equal(y, x) for x in left) for y in right)
        return a == b
    if isinstance(a, (tuple, sympy.Tuple)) or isinstance(b, (tuple, sympy.Tuple)):
        if not (isinstance(a, (tuple, sympy.Tuple)) and isinstance(b, (tuple, sympy.Tuple))) or len(a) != len(b):
            return False
        return all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, sympy.Eq) or isinstance(b, sympy.Eq):
        if isinstance(a, sympy.Eq) and isinstance(b, sympy.Eq):
            return sympy.simplify((a.lhs - a.rhs) - (b.lhs - b.rhs)) == 0
        return False
    if not (isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr)):
        return a == b
    if a == b:
        return True
    difference = sympy.simplify(a - b)
    if difference == 0:
        return True
    if not difference.free_symbols:
        value = complex(sympy.N(difference, 30))
        scale = max(1.0, abs(complex(sympy.N(b, 30))))
        return abs(value) <= 1e-9 * scale
    return False


def compare(answer: str, reference: str) -> Optional[bool]:
    """True/False when both sides parse; None when either cannot be parsed."""
    try:
        left, right = _parse(answer), _parse(reference)
    except Exception:  # noqa: BLE001 - the parser raises many types on bad LaTeX; all mean "cannot parse"
        return None
    try:
        return bool(_equal(left, right))
    except (TypeError, ValueError, AttributeError, RecursionError, OverflowError):
        return None


def serve() -> None:
    """Helper process loop: one JSON request per line in, one JSON answer per line out."""
    compare("\\frac{1}{2}", "0.5")  # import and warm the parser before the first timed request
    sys.stdout.write('{"ready": true}\n')
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        result = compare(request["answer"], request["reference"])
        sys.stdout.write(json.dumps({"equal": result}) + "\n")
        sys.stdout.flush()


class SymbolicChecker:
    """Client of one helper process; thread-safe; restarts the helper after a timeout or crash."""

    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._proc: Optional[subprocess.Popen] = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from prefmill.transforms.verify.symbolic import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        proc.stdout.readline()  # ready
        return proc

    def _read(self, proc: subprocess.Popen, timeout_s: float) -> Optional[str]:
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        return box[0] if box else None

    def equal(self, answer: str, reference: str) -> tuple[Optional[bool], str]:
        """(equal or None, status) where status is ok, unparseable or timeout."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            self._proc.stdin.write(json.dumps({"answer": answer, "reference": reference}) + "\n")
            self._proc.stdin.flush()
            line = self._read(self._proc, self.timeout_s)
            if not line:
                self.close_locked()
                return None, "timeout"
        result = json.loads(line)["equal"]
        return result, "ok" if result is not None else "unparseable"

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
