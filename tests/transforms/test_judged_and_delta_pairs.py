"""Judged (pointwise and pairwise), delta and length-filtered pairs on small fixed inputs, exact results."""

from __future__ import annotations

import pytest

from prefmill.schemas import (AspectRating, Candidate, Comparison, Judgment, Message, Prompt, PromptCandidates)
from prefmill.transforms.judge import JudgeParseError, parse_pairwise, parse_pointwise
from prefmill.transforms.pairs import BuildPairs, PairsConfig, delta_pairs, judged_pairs


def rated(cid: str, *means_by_judge: tuple[str, float], model: str = "m", text: str | None = None) -> Candidate:
    judgments = [Judgment(judge=j, mean=m, ratings=[AspectRating(aspect="helpfulness", rating=round(m),
                                                                 rationale=f"{cid} by {j}")])
                 for j, m in means_by_judge]
    return Candidate(id=cid, prompt_id="p", model=model, text=text or f"text of {cid}", judgments=judgments)


def group(*cands, comparisons=()) -> PromptCandidates:
    return PromptCandidates(prompt=Prompt(id="p", messages=[Message(role="user", content="q")]),
                            candidates=list(cands), comparisons=list(comparisons))


def ids(pairs):
    return [(p.chosen_candidate_id, p.rejected_candidate_id) for p in pairs]


CTX = {"run_id": "r", "config_hash": "h"}


def test_pointwise_highest_vs_lowest_with_margin_strength_and_agreement():
    pc = group(rated("a", ("j1", 4.5), ("j2", 4.0)), rated("b", ("j1", 2.0), ("j2", 4.5)), rated("c", ("j1", 1.5), ("j2", 1.5)))
    (pair,) = judged_pairs(pc, PairsConfig(judged_rejected="lowest"), **CTX)
    assert ids([pair]) == [("a", "c")]
    assert (pair.chosen_score, pair.rejected_score, pair.margin, pair.strength) == (4.25, 1.5, 2.75, 3)
    assert pair.label_source == "ai" and pair.pair_source == "judged"
    assert pair.judge.judges == ["j1", "j2"] and pair.judge.agreement == 1.0 and not pair.judge.low_confidence
    assert "a by j1" in pair.rationale and "c by j1" in pair.rationale


def test_pointwise_random_rejected_is_seeded_and_judges_can_disagree():
    pc = group(rated("a", ("j1", 4.0), ("j2", 3.0)), rated("b", ("j1", 2.0), ("j2", 3.5)), rated("c", ("j1", 2.5), ("j2", 2.5)))
    first = judged_pairs(pc, PairsConfig(seed=3), **CTX)
    assert ids(first) == ids(judged_pairs(pc, PairsConfig(seed=3), **CTX))
    pair = judged_pairs(pc, PairsConfig(judged_rejected="lowest", min_rating_margin=0.5), **CTX)[0]
    assert ids([pair]) == [("a", "c")]
    disagreeing = judged_pairs(group(rated("a", ("j1", 4.0), ("j2", 3.0)), rated("b", ("j1", 2.0), ("j2", 3.5))),
                               PairsConfig(), **CTX)[0]
    assert disagreeing.judge.agreement == 0.5 and disagreeing.judge.low_confidence


@pytest.mark.parametrize("cands", [
    (rated("a", ("j", 4.0)), rated("b", ("j", 4.0))),   # tie at the top
    (rated("a", ("j", 4.0)), rated("b", ("j", 3.75))),  # below the margin
    (rated("a", ("j", 4.0)),),                           # nothing to compare
])
def test_ties_and_small_gaps_give_no_pair(cands):
    assert judged_pairs(group(*cands), PairsConfig(min_rating_margin=0.5), **CTX) == []


def comparison(judge, first, second, preferred, consistent=True):
    return Comparison(judge=judge, first_id=first, second_id=second, preferred_id=preferred,
                      position_consistent=consistent, rationale=f"{judge} prefers {preferred}")


def test_pairwise_majority_and_position_bias_flag():
    a, b, c = (Candidate(id=i, prompt_id="p", model="m", text=f"text {i}") for i in "abc")
    pc = group(a, b, c, comparisons=[
        comparison("j1", "a", "b", "a"), comparison("j2", "a", "b", "a"),           # unanimous, consistent
        comparison("j1", "a", "c", "c", consistent=False), comparison("j2", "a", "c", "c"),  # one judge flipped
        comparison("j1", "b", "c", "b"), comparison("j2", "b", "c", "c"),           # split: dropped
    ])
    pairs = {pair.chosen_candidate_id + pair.rejected_candidate_id: pair
             for pair in judged_pairs(pc, PairsConfig(max_pairs_per_prompt=5), **CTX)}
    assert set(pairs) == {"ab", "ca"}
    assert (pairs["ab"].strength, pairs["ab"].judge.low_confidence, pairs["ab"].judge.position_consistent) == (3, False, True)
    assert (pairs["ca"].strength, pairs["ca"].judge.low_confidence, pairs["ca"].judge.position_consistent) == (1, True, False)


def test_delta_pairs_follow_the_strength_order():
    cands = [Candidate(id=f"{m}-{i}", prompt_id="p", model=m, text=f"{m} answer {i}")
             for m in ("big", "mid", "small") for i in range(1)] + [
        Candidate(id="other-0", prompt_id="p", model="unranked", text="x")]
    pairs = delta_pairs(group(*cands), PairsConfig(model_strength=["big", "mid", "small"], max_pairs_per_prompt=5), **CTX)
    got = sorted((p.chosen_model, p.rejected_model, p.margin, p.strength) for p in pairs)
    assert got == [("big", "mid", 0.5, 1), ("big", "small", 1.0, 2), ("mid", "small", 0.5, 1)]
    assert all(p.pair_source == "delta" and "strength order" in p.rationale for p in pairs)


def test_length_ratio_filter_dead_letters_the_long_pair():
    cands = [Candidate(id="s", prompt_id="p", model="strong", text="short answer"),
             Candidate(id="w", prompt_id="p", model="weak", text="a much, much longer answer " * 10)]
    stage = BuildPairs(PairsConfig(strategies=["delta"], model_strength=["strong", "weak"], max_length_ratio=3.0))
    results = list(stage.handle(group(*cands)))
    assert [type(r).__name__ for r in results] == ["Reject", "Reject"]
    assert [r.reason for r in results] == ["length_ratio", "no_pair"]


@pytest.mark.parametrize("text", [
    "not json at all", '{"helpfulness": {"rating": 7, "rationale": "x"}}', '{"helpfulness": {"rationale": "x"}}',
    '["helpfulness", 4]', "",
])
def test_unparseable_ratings_raise_never_default(text):
    with pytest.raises(JudgeParseError):
        parse_pointwise(text, ["helpfulness"], "j")


def test_pairwise_answers_parse_and_fenced_json_reads():
    assert parse_pairwise('```json\n{"preferred": "B", "rationale": "clearer"}\n```') == ("B", "clearer")
    with pytest.raises(JudgeParseError):
        parse_pairwise('{"preferred": "C"}')
