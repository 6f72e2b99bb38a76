"""Instruction constraints: each kind has a satisfied and a violated example; bad constraints are unverifiable."""

from __future__ import annotations

import pytest

from prefmill.transforms.verify import constraint_kinds, verify_instructions
from prefmill.transforms.verify.instructions import check_constraint

# kind -> (args, a response that satisfies it, one that does not)
CASES = {
    "word_count": ({"relation": "at_most", "value": 5}, "Short and sweet.", "This one has far too many words in it."),
    "sentence_count": ({"relation": "exactly", "value": 2}, "One. Two.", "One. Two. Three."),
    "paragraph_count": ({"value": 2, "separator": "***"}, "First.\n***\nSecond.", "Only one."),
    "keywords_include": ({"keywords": ["basil", "trellis"]}, "Basil by the trellis.", "Basil by the fence."),
    "keywords_exclude": ({"keywords": ["coffee"]}, "Tea please.", "Coffee please."),
    "keyword_frequency": ({"keyword": "rain", "relation": "at_least", "value": 2}, "Rain, rain, go away.", "Rain."),
    "letter_frequency": ({"letter": "z", "relation": "at_least", "value": 3}, "Zig zag zoo", "Zoo"),
    "required_phrase": ({"phrase": "in summary"}, "In summary, yes.", "So, yes."),
    "forbidden_phrases": ({"phrases": ["as an AI"]}, "I think so.", "As an AI, I think so."),
    "start_phrase": ({"phrase": "Dear team"}, "Dear team, hello.", "Hello, dear team."),
    "end_phrase": ({"phrase": "Any questions?"}, "That is all. Any questions?", "Any questions? That is all."),
    "bullet_count": ({"value": 2}, "* one\n* two", "* one\n* two\n- three"),
    "numbered_list_count": ({"value": 3}, "1. a\n2. b\n3. c", "1. a\n2. b"),
    "section_count": ({"value": 2, "marker": "SECTION"}, "SECTION 1\nx\nSECTION 2\ny", "SECTION 1\nx"),
    "json_format": ({}, '{"a": 1}', "a: 1"),
    "title": ({}, "<<Night Sky>>\nStars.", "Night Sky\nStars."),
    "placeholders": ({"value": 2}, "Hi [name], see you on [date].", "Hi [name]."),
    "lowercase": ({}, "all quiet in the harbour tonight, and the boats are resting.", "All quiet here."),
    "uppercase": ({}, "THE HARBOUR IS QUIET TONIGHT AND THE BOATS ARE RESTING.", "Loud and clear"),
    "capital_word_frequency": ({"relation": "at_most", "value": 1}, "Use CAPS sparingly.", "USE CAPS OFTEN."),
    "no_commas": ({}, "No commas here.", "Well, here is one."),
    "quotation": ({}, '"Wrapped."', "Not wrapped."),
    "postscript": ({"marker": "P.S."}, "Thanks!\n\nP.S. See you.", "Thanks! See you."),
    "repeat_prompt": ({}, "Name a colour. Blue.", "Blue."),
    "two_responses": ({}, "Yes.\n******\nNo.", "Yes."),
    "highlighted_sections": ({"value": 2}, "*one* and *two*", "*one* only"),
    "response_language": ({"language": "de"}, "Der Hafen war ruhig und die Boote lagen still im Wasser.",
                          "The harbour was quiet and the boats lay still in the water."),
    "nth_paragraph_first_word": ({"paragraphs": 2, "nth": 2, "word": "then"}, "First we rest.\n\nThen we climb.",
                                 "First we rest.\n\nAfter that we climb."),
    "constrained_response": ({}, "My answer is yes.", "Yes, definitely."),
}


def test_at_least_twenty_kinds_and_every_kind_is_tested():
    prefmill_kinds = {kind for kind in constraint_kinds() if ":" not in kind}
    assert len(prefmill_kinds) >= 20
    assert set(CASES) == prefmill_kinds
    assert len([kind for kind in constraint_kinds() if ":" in kind]) == 26  # IFEval's 25 ids + start_checker


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_kind_accepts_and_rejects(kind):
    args, good, bad = CASES[kind]
    constraint = {"kind": kind, "args": args}
    assert check_constraint(good, constraint, prompt="Name a colour.")[0] is True
    assert check_constraint(bad, constraint, prompt="Name a colour.")[0] is False


def test_score_is_the_fraction_satisfied_with_evidence():
    verdict = verify_instructions("Hello, world", [{"kind": "no_commas"}, {"kind": "word_count",
                                  "args": {"relation": "at_most", "value": 5}}, {"kind": "uppercase"}])
    assert (verdict.passed, verdict.reason) == (False, "constraints_failed")
    assert verdict.score == pytest.approx(1 / 3)
    assert "no_commas: 1 comma(s)" in verdict.evidence and "uppercase" in verdict.evidence


@pytest.mark.parametrize("constraints", [
    [{"kind": "haiku_form"}],
    [{"kind": "word_count", "args": {"relation": "around", "value": 5}}],
    [{"kind": "word_count", "args": {"value": "five"}}],
    [{"kind": "keywords_include", "args": {}}],
])
def test_bad_constraints_are_unverifiable_not_failed(constraints):
    verdict = verify_instructions("anything", constraints)
    assert (verdict.passed, verdict.reason) == (None, "invalid_constraint")


def test_ifeval_style_relation_spelling_and_empty_list():
    assert check_constraint("a b", {"kind": "word_count", "args": {"relation": "less than", "value": 3}})[0]
    assert verify_instructions("x", []).reason == "no_constraints"


def test_gaming_attempts_from_a_review_do_not_pass():
    twenty = '"' + " ".join(f"This is sentence number {i} of the answer." for i in range(20)) + '"'
    limit = [{"kind": "length_constraints:number_sentences", "args": {"num_sentences": 3, "relation": "less than"}}]
    assert verify_instructions(twenty, limit).passed is False  # quotes do not make twenty sentences one
    paragraphs = "Para one.\n***\nPara two.\n***\nPara three.\n***\n***\nPara four."
    assert verify_instructions(paragraphs, [{"kind": "paragraph_count", "args": {"value": 2, "relation": "at_most"}}]
                               ).passed is False  # an empty inner paragraph fails, as in IFEval
    for invisible in ("\u200b", "\ufeff", "***", "..."):
        verdict = verify_instructions(invisible, [{"kind": "no_commas"}])
        assert (verdict.passed, verdict.reason) == (False, "empty_response")
