"""verify_code: code extraction, per-test scoring for asserts, test functions and stdin/stdout cases."""

from __future__ import annotations

import pytest

from prefmill.schemas import CodeTests, StdioCase
from prefmill.transforms.verify import Sandbox, extract_code, verify_code


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(workers=2)
    yield box
    box.close()


ADD = "```python\ndef add(a, b):\n    return a + b\n```"
ADD_BUGGY = "```python\ndef add(a, b):\n    return a + b if a else 0\n```"


@pytest.mark.parametrize("response,code", [
    ("```python\nx = 1\n```", "x = 1\n"),
    ("```\nx = 2\n```", "x = 2\n"),
    ("first\n```py\na = 1\n```\nthen\n```python\nb = 2\n```", "b = 2\n"),
    ("```python\nkeep = 1\n```\n```text\nnot code\n```", "keep = 1\n"),
    ("def f():\n    return 1", "def f():\n    return 1"),
    ("print('hi')", "print('hi')"),
    ("Just use a loop.", None),
    ("hello", None),
    ("", None),
])
def test_extract_code(response, code):
    assert extract_code(response) == code


def test_all_asserts_pass(sandbox):
    verdict = verify_code(ADD, ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"], sandbox=sandbox)
    assert (verdict.passed, verdict.score, verdict.reason) == (True, 1.0, "correct")


def test_score_is_the_fraction_passed_and_evidence_names_the_failure(sandbox):
    verdict = verify_code(ADD_BUGGY, ["assert add(1, 2) == 3", "assert add(0, 5) == 5", "assert add(2, 2) == 4"],
                          sandbox=sandbox)
    assert (verdict.passed, verdict.reason) == (False, "tests_failed")
    assert verdict.score == pytest.approx(2 / 3)
    assert "test 2 `assert add(0, 5) == 5`: AssertionError" in verdict.evidence


def test_test_functions_are_called(sandbox):
    tests = ["def test_small():\n    assert add(1, 1) == 2", "def test_zero():\n    assert add(0, 3) == 3"]
    verdict = verify_code(ADD_BUGGY, tests, sandbox=sandbox)
    assert (verdict.passed, verdict.score) == (False, 0.5)


def test_stdio_cases_compare_output_ignoring_trailing_whitespace(sandbox):
    tests = CodeTests(stdio=[StdioCase(input="2 3\n", output="5\n"), StdioCase(input="10 -4\n", output="6")])
    good = "```python\na, b = map(int, input().split())\nprint(a + b)   \n```"
    bad = "```python\na, b = map(int, input().split())\nprint(a - b)\n```"
    assert verify_code(good, tests, sandbox=sandbox).passed is True
    verdict = verify_code(bad, tests, sandbox=sandbox)
    assert verdict.score == 0.0 and "expected '5', got '-1'" in verdict.evidence


def test_mixed_asserts_and_stdio_from_a_dict(sandbox):
    code = "```python\ndef double(x):\n    return 2 * x\n\nif __name__ == '__main__':\n    print(double(int(input())))\n```"
    tests = {"asserts": ["assert double(4) == 8"], "stdio": [{"input": "21\n", "output": "42\n"}]}
    assert verify_code(code, tests, sandbox=sandbox).passed is True


@pytest.mark.parametrize("response,tests,reason,passed", [
    ("No code, only advice.", ["assert True"], "no_code", False),
    (ADD, [], "no_tests", None),
    ("```python\ndef add(a, b:\n```", ["assert add(1, 1) == 2"], "crash", False),
    ("```python\nwhile True: pass\n```", ["assert True"], "timeout", False),
])
def test_reason_codes(sandbox, response, tests, reason, passed):
    from prefmill.transforms.verify import SandboxLimits

    verdict = verify_code(response, tests, sandbox=sandbox, limits=SandboxLimits(wall_s=1.5, cpu_s=1))
    assert (verdict.passed, verdict.reason) == (passed, reason)


def test_a_timeout_in_one_test_fails_the_rest_with_it(sandbox):
    from prefmill.transforms.verify import SandboxLimits

    code = "```python\ndef spin(n):\n    while n: pass\n```"
    verdict = verify_code(code, ["assert spin(0) is None", "spin(1)", "assert True"], sandbox=sandbox,
                          limits=SandboxLimits(wall_s=1.5, cpu_s=1))
    assert verdict.reason == "timeout" and verdict.score == pytest.approx(1 / 3)


def test_a_test_that_runs_after_the_program_ended_earns_no_credit(sandbox):
    """The program exits during test 2; test 3 needs no program and the judge still runs it. Credit stops
    at the test the program ended in, whichever limit or exit ended it (CI under load once saw 2/3 here)."""
    code = "```python\nimport os\ndef f(n):\n    if n:\n        os._exit(0)\n```"
    verdict = verify_code(code, ["assert f(0) is None", "f(1)", "assert True"], sandbox=sandbox)
    assert verdict.passed is False and verdict.score == pytest.approx(1 / 3), verdict
    assert "ran after the program had ended" in verdict.evidence
