"""Regressions from an independent attack on the sandbox (each reproducer once made a wrong program pass,
made it look like an infrastructure failure, or stalled or crashed the verifier)."""

from __future__ import annotations

import pytest

from prefmill.transforms.verify import Sandbox, SandboxLimits, verify_code

LIMITS = SandboxLimits(wall_s=3.0, cpu_s=2.0, memory_mb=256)

PEEK_PREVIOUS_JOB = '''
import sys, re, ast
f = sys._getframe()
while f and not (f.f_code.co_name == "main" and "job" in f.f_locals): f = f.f_back
job, res = (f.f_locals["job"], f.f_locals.get("result")) if f else ({}, {})
ans = {ast.literal_eval(a): ast.literal_eval(e) for t in job.get("tests") or []
       for a, e in re.findall(r"f\\(([^()]*)\\)\\s*==\\s*([^\\n]+)", t)}
def f(x): return ans.get(x, 0)
if __name__ == "__main__": sys.stdout.write((res or {}).get("stdout", ""))
'''


def _code(source: str) -> str:
    return "```python\n" + source + "\n```"


def test_a_program_cannot_read_an_earlier_job_of_its_worker():
    box = Sandbox(workers=1)
    try:
        tests = ["assert f(2) == 4", "assert f(10) == 20", "def test_x():\n    assert f(7) == 14"]
        assert verify_code(_code("def f(x):\n    return 2 * x"), tests, sandbox=box, limits=LIMITS).passed is True
        assert verify_code(_code(PEEK_PREVIOUS_JOB), tests, sandbox=box, limits=LIMITS).passed is False
        stdio = {"stdio": [{"input": "3\n", "output": "6\n"}]}
        assert verify_code(_code("print(2 * int(input()))"), stdio, sandbox=box, limits=LIMITS).passed is True
        assert verify_code(_code(PEEK_PREVIOUS_JOB), stdio, sandbox=box, limits=LIMITS).passed is False
    finally:
        box.close()


@pytest.mark.parametrize("solution,test", [
    ("def f(x): return 0\ndef abs(x): return 0", "assert abs(f(2) - 4) < 1e-6"),
    ("def f(x): return 0\ndef set(*a): return 1", "assert set(f([1, 2])) == set([2, 4])"),
    ("def f(x): return 0\ndef sorted(*a, **k): return 1", "assert sorted(f([2, 1])) == sorted([2, 4])"),
    ("def f(x): return 0\ndef all(*a): return True", "assert all([f(1) == 2, f(2) == 4])"),
    ("def f(x): return 0\nclass M:\n    isclose = staticmethod(lambda *a, **k: True)\nmath = M()",
     "import math\nassert math.isclose(f(2), 4.0)"),
    ("def f(x): return 0\nclass M:\n    isclose = staticmethod(lambda *a, **k: True)\nmath = M()",
     "assert math.isclose(f(2), 4.0)"),
    ("def f(x): raise StopIteration", "assert all(map(lambda x: f(x) == 2 * x, [1, 2, 3]))"),
    ("from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int = 0\ndef Point(*a): return P()\n"
     "def f(x): return P()", "assert f(2) == Point(1, 2)"),
])
def test_program_names_do_not_decide_the_test(solution, test):
    box = Sandbox(workers=1)
    try:
        verdict = verify_code(_code(solution), [test], sandbox=box, limits=LIMITS)
        assert verdict.passed is not True, verdict
        assert verdict.reason != "sandbox_error", verdict
    finally:
        box.close()


@pytest.mark.parametrize("solution", [
    "import os\nos._exit(87)",
    "import os\ndef f(x):\n    os._exit(87)",
    "import os, json, struct\nbody = b'[1]'\nos.write(6, struct.pack('>I', len(body)) + body)\nimport time; time.sleep(5)",
    "import os, struct\nbody = b'{\"names\":{\"f\":[\"r\",0,Infinity,1]}}'\n"
    "os.write(6, struct.pack('>I', len(body)) + body)\nimport time; time.sleep(5)",
])
def test_a_program_cannot_pass_itself_off_as_an_infrastructure_failure(solution):
    box = Sandbox(workers=1)
    try:
        verdict = verify_code(_code(solution), ["assert f(2) == 4"], sandbox=box, limits=LIMITS)
        assert verdict.passed is False and verdict.reason != "sandbox_error", verdict
    finally:
        box.close()


def test_whitespace_only_stderr_and_a_program_that_never_reads_stdin():
    box = Sandbox(workers=1)
    try:
        crash = verify_code(_code("import sys\nsys.stderr.write('\\n')\nsys.exit(1)"),
                            {"stdio": [{"input": "", "output": "1"}]}, sandbox=box, limits=LIMITS)
        assert (crash.passed, crash.reason) == (False, "crash")
        big = {"stdio": [{"input": "1\n" * 100_000, "output": "1"}]}
        sleeper = box.run("import time\ntime.sleep(60)", stdin=big["stdio"][0]["input"],
                          limits=SandboxLimits(wall_s=1.0))
        assert sleeper.status == "timeout" and sleeper.seconds < 1.0 + 2.0
        echo = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line)"
        result = box.run(echo, stdin="1\n" * 100_000, limits=SandboxLimits(output_bytes=1_000_000))
        assert result.status is None and result.stdout.count("\n") == 100_000
    finally:
        box.close()


def test_code_extraction_is_linear_on_backtick_floods():
    from prefmill.transforms.verify import extract_code

    flood = "```" * 150_000  # quadratic in the old regex
    assert extract_code(flood + "\n```python\nprint(1)\n```") is not None


@pytest.mark.parametrize("solution,tests", [
    ("def chunk(xs, n):\n    return [xs[i:i + n] for i in range(0, len(xs), n)]", ["assert chunk([1, 2, 3], 2) == [[1, 2], [3]]"]),
    ("def random(seed):\n    return seed * 7 % 11", ["assert random(3) == 10"]),
    ("def sum(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total", ["assert sum([1, 2]) == 3"]),
    ("import math\ndef hyp(a, b):\n    return math.hypot(a, b)", ["assert math.isclose(hyp(3, 4), 5.0)"]),
])
def test_honest_names_that_match_a_module_or_the_entry_point_stay_the_programs(solution, tests):
    box = Sandbox(workers=1)
    try:
        entry = "sum" if "def sum" in solution else None
        verdict = verify_code(_code(solution), {"asserts": tests, "entry_point": entry}, sandbox=box, limits=LIMITS)
        assert (verdict.passed, verdict.reason) == (True, "correct"), verdict
    finally:
        box.close()


DUNDER_BUILTINS = """
import harness, wire
def similar(a, b):
    return None
_send = wire.send
def send(fd, message):
    if isinstance(message, dict) and "names" in message:
        message["names"]["__builtins__"] = ["d", [[k, ["i", "0"]] for k in ("abs", "set", "sorted")]]
    return _send(fd, message)
wire.send = harness.send = send
"""


@pytest.mark.parametrize("solution,tests", [
    (DUNDER_BUILTINS, {"asserts": ["assert set(similar([3, 4, 5], [4, 5, 6])) == set((4, 5))"]}),
    ("from dataclasses import dataclass\n@dataclass\nclass T:\n    pass\ndef is_prime(n):\n    return T()",
     {"asserts": ["assert is_prime(7)", "assert is_prime(13)"]}),
    ("def add(a, b):\n    return 0", {"asserts": ["def check(candidate):\n    assert candidate(1, 2) == 3\n"]}),
])
def test_second_review_findings_are_not_passed(solution, tests):
    box = Sandbox(workers=1)
    try:
        verdict = verify_code(_code(solution), tests, sandbox=box, limits=LIMITS)
        assert verdict.passed is not True, verdict
    finally:
        box.close()
