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

_FENCE_LINE = re.compile(r"^[ \t]*```+[ \t]*([A-Za-z0-9_+-]*)")


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, fences on their own lines; one pass over the lines, so a
    response made of thousands of backticks costs linear time."""
    blocks, language, body = [], None, []
    for line in text.splitlines(keepends=True):
        fence = _FENCE_LINE.match(line)
        if language is None:
            if fence:
                language, body = fence.group(1), []
        elif fence and not fence.group(1) and line.strip().strip("`") == "":
            blocks.append((language, "".join(body)))
            language = None
        elif "```" in line and not fence:
            head = line[: line.index("```")]  # a closing fence at the end of a code line
            blocks.append((language, "".join(body) + head))
            language = None
        else:
            body.append(line)
    return blocks


def extract_code(response: str) -> Optional[str]:
    """The program in a response: the last ```python block, else the last fenced block, else the whole
    response when it parses as Python.

    >>> extract_code("Try this:\\n```python\\nprint(1)\\n```\\nor better:\\n```py\\nprint(2)\\n```")
    'print(2)\\n'
    >>> extract_code("just prose, no code") is None
    True
    """
    blocks = _fenced_blocks(response or "")
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
    """Verdict of a response's program against its tests (see module doc).

    Only the judge's reports count, and only when its trailer arrived: a run that timed out, crashed or was
    cut short is never passed. Infrastructure failures (`sandbox_error`) give `passed=None`, so they never
    become the rejected side of a pair. Tampering with the harness or the channel is `reward_hack`.
    """
    spec = _as_tests(tests)
    total = len(spec.asserts) + len(spec.stdio)
    if total == 0:
        return Verdict(passed=None, score=0.0, reason="no_tests", verifier="code", evidence="the prompt has no tests")
    code = extract_code(response)
    if code is None:
        return Verdict(passed=False, score=0.0, reason="no_code", verifier="code",
                       evidence="no Python code found in the response")
    sandbox = sandbox or shared_sandbox()
    policy = f"sandbox={sandbox.mode}"
    outcome = _Outcome(total)

    if spec.asserts:
        result = sandbox.run(code, mode="functions", tests=spec.asserts, limits=limits, entry_point=spec.entry_point)
        outcome.add_functions(result, spec.asserts)

    for index, case in enumerate(spec.stdio):
        result = sandbox.run(code, mode="script", stdin=case.input, limits=limits)
        outcome.note(result)
        if result.status is None and result.complete and _same_output(result.stdout, case.output):
            outcome.passed += 1
        elif result.status != "sandbox_error":
            detail = result.status or f"expected {case.output.strip()[:60]!r}, got {result.stdout.strip()[:60]!r}"
            if result.status == "crash" and result.stderr.strip():
                detail = result.stderr.strip().splitlines()[-1][:200]
            outcome.failures.append(f"stdin case {index + 1}: {detail}")
    return outcome.verdict(policy)


class _Outcome:
    """Collects one response's runs into a verdict; the order of the checks below is the precedence."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.passed = 0
        self.failures: list[str] = []
        self.statuses: list[str] = []
        self.hacks: list[str] = []
        self.infrastructure: list[str] = []
        self.unverifiable: list[str] = []
        self.incomplete = False

    def note(self, result: SandboxResult) -> None:
        if result.status == "sandbox_error":
            self.infrastructure.append(result.detail or "sandbox_error")
            return
        self.hacks += [f"tampered with the harness ({event})" for event in result.tampered]
        # Hostile or broken behaviour outranks plain wrong answers in the reason code.
        if result.status in ("forbidden", "timeout", "memory", "output_limit") and result.status not in self.statuses:
            self.statuses.append(result.status)
        elif result.status == "crash" and not result.tests and "crash" not in self.statuses:
            self.statuses.append("crash")

    def add_functions(self, result: SandboxResult, asserts: list[str]) -> None:
        self.note(result)
        if result.status == "sandbox_error":
            return
        crashed = result.tests.get(-1)
        if crashed and crashed.get("protocol"):
            self.hacks.append(f"broke the harness protocol: {crashed.get('error', '')[:200]}")
        if crashed and result.status is None and "crash" not in self.statuses:
            self.statuses.append("crash")  # the program failed (or exited) before any test could run
        if not result.complete:
            self.incomplete = True
            if result.status is None and "crash" not in self.statuses:
                self.statuses.append("crash")  # the judge's trailer never came
        gone = False  # the program ended (killed at a limit, crashed) during an earlier test
        for index, test in enumerate(asserts):
            entry = result.tests.get(index) or {}
            if entry.get("ok") is True and not gone:  # the judge's report (partial credit; `passed` needs the trailer)
                self.passed += 1
                continue
            if entry.get("ok") is True:
                # a test that needs no program (`assert True`) still "passes" after the program is gone: no credit,
                # or the score would depend on whether the CPU or the wall-clock limit ended the program first
                self.failures.append(f"test {index + 1}: ran after the program had ended ({result.status or 'gone'})")
                continue
            gone = gone or bool(entry.get("gone"))
            if entry.get("protocol"):
                self.hacks.append(f"broke the harness protocol during test {index + 1}: {entry.get('error', '')[:200]}")
            if entry.get("unverifiable"):
                custom = [name for name in entry.get("custom") or [] if name in _TRUTH_METHODS]
                if entry.get("versus_plain", True) and custom:
                    self.hacks.append(f"test {index + 1}: the program returned an object whose own "
                                      f"{', '.join(custom)} would decide the comparison")
                elif not entry.get("versus_plain", True):
                    self.unverifiable.append(f"test {index + 1}: {entry.get('error', '')[:200]}")
            error = (crashed or entry).get("error") or result.status or "not reached"
            self.failures.append(f"test {index + 1} `{test.strip().splitlines()[0][:80]}`: {error}")

    def verdict(self, policy: str) -> Verdict:
        total, passed = self.total, self.passed
        score = passed / total
        if self.hacks:
            return Verdict(passed=False, score=0.0, reason="reward_hack", verifier="code", policy=policy,
                           evidence=("reward hack: " + "; ".join(self.hacks[:3]))[:1000])
        if "forbidden" in self.statuses:
            # A program that tried to escape is never rewarded, even if it caught the refusal and passed.
            return Verdict(passed=False, score=0.0, reason="forbidden", verifier="code", policy=policy,
                           evidence=f"the program attempted forbidden operations; {passed} of {total} tests passed")
        if self.infrastructure:
            return Verdict(passed=None, score=0.0, reason="sandbox_error", verifier="code", policy=policy,
                           evidence=("the sandbox failed, not the program: " + self.infrastructure[0])[:1000])
        if passed == total and not self.incomplete and not self.statuses:
            return Verdict(passed=True, score=1.0, reason="correct", verifier="code", policy=policy,
                           evidence=f"all {total} tests passed")
        if self.unverifiable and len(self.unverifiable) == total - passed and not self.statuses:
            return Verdict(passed=None, score=score, reason="unverifiable", verifier="code", policy=policy,
                           evidence=("only the program's own code could decide: " + "; ".join(self.unverifiable[:3]))[:1000])
        reason = self.statuses[0] if self.statuses else "tests_failed"
        evidence = f"{passed} of {total} tests passed; " + "; ".join(self.failures[:3])
        return Verdict(passed=False, score=score, reason=reason, verifier="code", policy=policy, evidence=evidence[:1000])


_TRUTH_METHODS = {"__eq__", "__ne__", "__bool__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__contains__",
                  "__abs__", "__sub__", "__add__", "__float__", "__int__", "__index__", "__len__"}
