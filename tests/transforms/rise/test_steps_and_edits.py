"""RISE step splitting, error types, the rule-based editor and carry-forward, on small fixed inputs."""

from __future__ import annotations

import random

import pytest

from prefmill.transforms.rise import ERROR_TYPES, apply_rule, carry_forward, eligible_types, split_steps, token_distance
from prefmill.transforms.rise.steps import equations, evaluate

SOLUTION = ("Step 1: The muffins cost 7 x 3 = 21 dollars.\n"
            "Step 2: The change is 50 - 21 = 29 dollars.\n"
            "The answer is 29.")


@pytest.mark.parametrize("text,expected", [
    (SOLUTION, ["Step 1: The muffins cost 7 x 3 = 21 dollars.", "Step 2: The change is 50 - 21 = 29 dollars."]),
    ("1. Add 2 and 3 to get 5.\n2. Double it: 5 x 2 = 10.\n#### 10", ["1. Add 2 and 3 to get 5.", "2. Double it: 5 x 2 = 10."]),
    ("First we add.\n\nThen we double.\n\nThe answer is 10.", ["First we add.", "Then we double."]),
    ("We add 2 and 3. Then we double it. So \\boxed{10}", ["We add 2 and 3.", "Then we double it."]),
])
def test_split_steps_by_markers_numbers_paragraphs_sentences(text, expected):
    solution = split_steps(text)
    assert [s.text for s in solution.steps] == expected
    assert solution.conclusion is not None
    for step in solution.steps:
        assert text[step.start:step.end] == step.text
    assert solution.prefix(1) == text[: solution.steps[1].start]


def test_arithmetic_is_exact_and_never_eval():
    assert evaluate("50 - 7 x 3") == 29 and evaluate("1 / 3 + 1 / 6") == evaluate("1 / 2")
    assert evaluate("__import__('os')") is None and evaluate("2 ** 10") is None
    assert [e.holds for e in equations("1,200 - 720 = 480 and 45 x 16 = 700")] == [True, False]


@pytest.mark.parametrize("step,expected", [
    ("Step 1: The muffins cost 7 x 3 = 21 dollars.", ["number_change", "value_change", "wrong_substitution", "operator_change"]),
    ("Step 2: The change is 50 - 21 = 29 dollars.", ["number_change", "value_change", "wrong_substitution", "operator_change", "term_swap"]),
    ("Step 3: Left: 300 - 75 - 20 = 205.", ["number_change", "value_change", "wrong_substitution", "term_deletion", "operator_change", "term_swap"]),
    ("Step 1: There are 12 eggs.", ["number_change"]),
    ("Step 2: The train is slower, so it needs more time.", ["misread"]),
    ("Step 2: We are done.", []),
])
def test_eligibility_rules(step, expected):
    assert eligible_types(split_steps(step).steps[0], ["7", "3", "50", "12"]) == expected


@pytest.mark.parametrize("error_type,step,expected", [
    ("number_change", "Step 1: 12 x 4 = 48.", "Step 1: 12 x 4 = 51."),
    ("value_change", "Step 1: 12 x 4 = 48.", "Step 1: 12 x 5 = 60."),
    ("wrong_substitution", "Step 1: 12 x 4 = 48.", "Step 1: 12 x 12 = 144."),  # 12 is a question number
    ("operator_change", "Step 1: 12 x 4 = 48.", "Step 1: 12 / 4 = 3."),
    ("term_deletion", "Step 1: 300 - 75 - 20 = 205.", "Step 1: 300 - 75 = 225."),
    ("term_swap", "Step 1: 20 - 5 = 15.", "Step 1: 5 - 20 = -15."),
    ("misread", "Step 1: The train needs more time.", "Step 1: The train needs less time."),
])
def test_each_error_type_is_deterministic_for_a_seed(error_type, step, expected):
    parsed = split_steps(step).steps[0]
    first = apply_rule(parsed, error_type, ["12", "9"], random.Random(4))
    again = apply_rule(parsed, error_type, ["12", "9"], random.Random(4))
    assert first == again == expected


def test_every_error_type_is_covered_above():
    assert set(ERROR_TYPES) == {"number_change", "value_change", "wrong_substitution", "term_deletion",
                                "operator_change", "term_swap", "misread"}


def test_carry_forward_recomputes_later_steps_and_the_answer():
    solution = split_steps(SOLUTION)
    text, span = carry_forward(solution, 0, "Step 1: The muffins cost 7 x 3 = 24 dollars.")
    assert text == ("Step 1: The muffins cost 7 x 3 = 24 dollars.\n"
                    "Step 2: The change is 50 - 24 = 26 dollars.\n"
                    "The answer is 26.")
    assert text[span[0]:span[1]] == "Step 1: The muffins cost 7 x 3 = 24 dollars."


def test_token_distance():
    assert token_distance("7 x 3 = 21", "7 x 3 = 24") == 1
    assert token_distance("7 x 3 = 21", "8 x 3 = 24") == 2
    assert token_distance("a b c d", "a b c d") == 0
