"""Code verification: run a response's Python against the prompt's tests, inside the sandbox.

Tests come from the prompt's reference (`CodeTests`): `asserts` (assert statements, or test functions
`def test_...()` that are then called), and `stdio` cases (the program runs as a script with the given
stdin; its stdout must match, ignoring trailing whitespace). `score` is the fraction of tests passed;
`passed` is True only when all pass. The code itself is taken from the response by `extract_code`.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Optional

from prefmill.schemas import CodeTests, Verdict
from prefmill.transforms.verify.sandbox import Sandbox, SandboxLimits, SandboxResult, shared_sandbox

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.S)


def extract_code(response: str) -> Optional[str]:
    """The program in a response: the last ```python block, else the last fenced block, else the whole
    response when it parses as Python.

    >>> extract_code("Try this:\\n```python\\nprint(1)\\n```\\nor better:\\n```py\\nprint(2)\\n```")
    'print(2)\\n'
    >>> extract_code("just prose, no code") is None
    True
    """
    blocks = _FENCE.findall(response or "")
    python = [body for lang, body in blocks if lang.lower() in ("python", "py", "python3")]
    if python:
        return python[-1]
    if blocks:
        return blocks[-1][1]
    text = (response or "").strip()
    if not text:
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    # A single word or a bare expression also parses; accept only text with a statement or a call in it.
    if any(not isinstance(node, ast.Expr) or isinstance(node.value, ast.Call) for node in tree.body):
        return text
    return None


def _as_tests(tests: Any) -> CodeTests:
    if isinstance(tests, CodeTests):
        return tests
    if isinstance(tests, (list, tuple)):
        return CodeTests(asserts=[str(t) for t in tests])
    if isinstance(tests, dict):
        return CodeTests.model_validate(tests)
    if isinstance(tests, str):
        return CodeTests(asserts=[tests])
    raise TypeError(f"tests must be CodeTests, a dict, a list of asserts or a string, got {type(tests).__name__}")


def _same_output(got: str, expected: str) -> bool:
    norm = lambda s: "\n".join(line.rstrip() for line in s.strip("\n").splitlines()).rstrip()  # noqa: E731
    return norm(got) == norm(expected)


def verify_code(response: str, tests: Any, *, sandbox: Optional[Sandbox] = None,
                limits: Optional[SandboxLimits] = None) -> Verdict:
    """Verdict of a response's program against its tests (see module doc)."""
    spec = _as_tests(tests)
    total = len(spec.asserts) + len(spec.stdio)
    if total == 0:
        return Verdict(passed=None, score=0.0, reason="no_tests", verifier="code", evidence="the prompt has no tests")
    code = extract_code(response)
    if code is None:
        return Verdict(passed=False, score=0.0, reason="no_code", verifier="code",
                       evidence="no Python code found in the response")
    sandbox = sandbox or shared_sandbox()
    passed = 0
    failures: list[str] = []
    statuses: list[str] = []

    if spec.asserts:
        result = sandbox.run(code, mode="functions", tests=spec.asserts, limits=limits)
        crashed = result.tests.get(-1)
        for index, test in enumerate(spec.asserts):
            entry = result.tests.get(index)
            if entry and entry.get("ok"):
                passed += 1
            else:
                error = (crashed or entry or {}).get("error") or result.status or "not reached"
                failures.append(f"test {index + 1} `{test.strip().splitlines()[0][:80]}`: {error}")
        if crashed and result.status is None:
            statuses.append("crash")  # the program failed before any test could run
        _note_status(result, statuses)

    for index, case in enumerate(spec.stdio):
        result = sandbox.run(code, mode="script", stdin=case.input, limits=limits)
        if result.status is None and _same_output(result.stdout, case.output):
            passed += 1
        else:
            detail = result.status or f"expected {case.output.strip()[:60]!r}, got {result.stdout.strip()[:60]!r}"
            if result.status == "crash" and result.stderr:
                detail = result.stderr.strip().splitlines()[-1][:200]
            failures.append(f"stdin case {index + 1}: {detail}")
        _note_status(result, statuses)

    score = passed / total
    if "forbidden" in statuses:
        # A program that tried to escape is never rewarded, even if it caught the refusal and passed.
        return Verdict(passed=False, score=0.0, reason="forbidden", verifier="code",
                       evidence=f"the program attempted forbidden operations; {passed} of {total} tests passed")
    if passed == total:
        return Verdict(passed=True, score=1.0, reason="correct", verifier="code",
                       evidence=f"all {total} tests passed")
    reason = statuses[0] if statuses else "tests_failed"
    evidence = f"{passed} of {total} tests passed; " + "; ".join(failures[:3])
    return Verdict(passed=False, score=score, reason=reason, verifier="code", evidence=evidence[:1000])


def _note_status(result: SandboxResult, statuses: list[str]) -> None:
    # Hostile or broken behaviour outranks plain wrong answers in the reason code.
    if result.status in ("forbidden", "timeout", "memory", "output_limit") and result.status not in statuses:
        statuses.append(result.status)
    elif result.status == "crash" and not result.tests and "crash" not in statuses:
        statuses.append("crash")
