"""Math answer extraction and equivalence (first slice: exact numbers and normalised text)."""

from __future__ import annotations

import pytest

from prefmill.transforms.verify import extract_answer, verify_math


@pytest.mark.parametrize("text,answer", [
    ("first \\boxed{3}, on reflection \\boxed{4}", "4"),
    ("\\boxed{\\frac{1}{\\sqrt{2}}}", "\\frac{1}{\\sqrt{2}}"),
    ("work\n#### 1,200\n", "1,200"),
    ("So the final answer is 17.", "17"),
    ("Answer: 3/4", "3/4"),
    ("no marker, ends with 12 then 15", "15"),
])
def test_extraction_policy(text, answer):
    assert extract_answer(text)[0] == answer


@pytest.mark.parametrize("response,reference", [
    ("The answer is 29.", "29"),
    ("#### $1,200", "1200"),
    ("\\boxed{0.5}", "\\frac{1}{2}"),
    ("\\boxed{\\dfrac{2}{3}}", "2/3"),
    ("The answer is 2 1/2.", "5/2"),
    ("The answer is 25%.", "0.25"),
    ("The answer is \u22127.", "-7"),
    ("The answer is 1.5e3.", "1500"),
    ("\\boxed{x = 6}", "6"),
    ("The answer is 45 degrees.", "45^\\circ"),
    ("The answer is 12 apples.", "12"),
])
def test_equivalent_answers_pass(response, reference):
    verdict = verify_math(response, reference)
    assert verdict.passed is True and verdict.score == 1.0, verdict.evidence


@pytest.mark.parametrize("response,reference,reason", [
    ("The answer is 30.", "29", "wrong_answer"),
    ("\\boxed{}", "5", "no_answer"),
    ("", "5", "no_answer"),
    ("I cannot say.", "5", "no_answer"),
    ("The answer is 1/3.", "0.33", "wrong_answer"),
])
def test_wrong_or_missing_answers_fail(response, reference, reason):
    verdict = verify_math(response, reference)
    assert (verdict.passed, verdict.reason) == (False, reason)


def test_missing_reference_is_unverifiable_not_failed():
    verdict = verify_math("The answer is 3.", "")
    assert verdict.passed is None and verdict.reason == "no_reference"


def test_fallback_none_refuses_to_guess():
    assert verify_math("it might be 7", "7", fallback="none").reason == "no_answer"
    assert verify_math("it might be 7", "7").passed is True
