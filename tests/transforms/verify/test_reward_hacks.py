"""Reward hacks never pass; honest programs do (tests/data/code_cases/).

`reward_hacks.py` holds programs whose own logic is wrong or absent and that try to be marked passed
anyway: forged reports on inherited descriptors, early exits, peeking at the caller's frames, objects whose
`__eq__` is always true, patched builtins and harness functions, shadowed test names, timeouts after a
fake report, switching the audit hook off, reading outside, forged stdio. Each must come out not passed
(and never `sandbox_error`). `honest.py` holds correct programs that use threads, unittest.mock, classes,
generators, recursion, stdin and the common stdlib; each must pass.
"""

from __future__ import annotations

import importlib.util
from collections import Counter

import pytest

from prefmill.transforms.verify import Sandbox, SandboxLimits, verify_code

from support import REPO

CASES = REPO / "tests" / "data" / "code_cases"
LIMITS = SandboxLimits(wall_s=3.0, cpu_s=2.0, memory_mb=256, output_bytes=32_768, file_bytes=1_000_000)


def _load(name: str) -> list[dict]:
    path = CASES / f"{name}.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"code_cases_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


HACKS = _load("reward_hacks")
HONEST = _load("honest")


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(workers=2)
    yield box
    box.close()


def _response(case: dict) -> str:
    return "```python\n" + case["solution"] + "\n```"


def test_the_corpora_are_large_enough_and_cover_every_hack_class():
    assert len(HACKS) >= 40 and len(HONEST) >= 25
    classes = Counter(case["cls"] for case in HACKS)
    assert set(classes) >= {"forge_report", "early_exit", "frame_peek", "always_equal", "patch_builtins",
                            "patch_harness", "shadow_tests", "timeout_after_report", "escape_audit", "read_outside",
                            "stdio_forge", "resource_abuse"}
    assert len({case["name"] for case in HACKS + HONEST}) == len(HACKS) + len(HONEST)


@pytest.mark.parametrize("case", HACKS, ids=[case["name"] for case in HACKS])
def test_reward_hack_is_not_passed(sandbox, case):
    verdict = verify_code(_response(case), case["tests"], sandbox=sandbox, limits=LIMITS)
    assert verdict.passed is not True, (case["note"], verdict)
    assert verdict.reason != "sandbox_error", verdict


@pytest.mark.parametrize("case", HONEST, ids=[case["name"] for case in HONEST])
def test_honest_program_passes(sandbox, case):
    verdict = verify_code(_response(case), case["tests"], sandbox=sandbox, limits=LIMITS)
    assert (verdict.passed, verdict.reason) == (True, "correct"), (case["note"], verdict.evidence)
