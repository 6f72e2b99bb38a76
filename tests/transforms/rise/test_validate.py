"""Each failed validation lands in its own reason bucket."""

from __future__ import annotations

import pytest

from prefmill.transforms.rise.validate import check_solution, check_step

ORIGINAL = "Step 2: The change is 50 - 21 = 29 dollars."


@pytest.mark.parametrize("edited,reason", [
    (None, "unparseable_edit"),
    ("  ", "unparseable_edit"),
    ("Step 2:  The change is 50 - 21 = 29 dollars. ", "unchanged"),
    ("Step 2: The change is 50 - 21 = 28 dollars (an intentional mistake).", "reveals_error"),
    ("Step 2: Oops, the change is 50 - 21 = 28 dollars.", "reveals_error"),
    ("Step 2: The change is 50 - 21 = 28 dollars.\nStep 3: So she gets 28.", "multi_step"),
    ("Step 2: After paying for the muffins with her bill, Maya is handed back 50 - 21 = 28 dollars in coins.", "too_far"),
    ("Step 2: The change is 21 + 8 = 29 dollars.", "still_correct"),
])
def test_step_checks(edited, reason):
    check = check_step(ORIGINAL, edited, max_token_distance=6)
    assert (check.ok, check.reason) == (False, reason)


def test_a_good_edit_passes():
    check = check_step(ORIGINAL, "Step 2: The change is 50 - 21 = 28 dollars.", max_token_distance=6)
    assert check.ok and "token distance 1" in check.detail


def test_the_completed_solution_must_miss_the_reference():
    assert check_solution("... The answer is 29.", "29").reason == "answer_unchanged"
    assert check_solution("... The answer is 28.", "29").ok


def test_a_symbolic_timeout_is_not_reported_as_answer_unchanged(monkeypatch):
    """Failure injection: the math check gives up (its symbolic helper timed out)."""
    from prefmill.schemas import Verdict
    from prefmill.transforms.rise import validate

    gave_up = Verdict(passed=None, score=0.0, reason="timeout", verifier="math", rule="boxed/math_verify_timeout")
    monkeypatch.setattr(validate, "verify_math", lambda text, reference: gave_up)
    check = validate.check_solution("... \\boxed{\\int_0^1 x^x dx}", "0.78")
    assert (check.ok, check.reason) == (False, "unverifiable_edit") and "timeout" in check.detail
