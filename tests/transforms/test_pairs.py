"""Verified pairs on small fixed inputs: exact pairs, reason codes, determinism."""

from __future__ import annotations

import pytest

from prefmill.schemas import Candidate, Message, Prompt, PromptCandidates, Verdict
from prefmill.transforms.pairs import PairsConfig, make_pair, verified_pairs


def cand(cid: str, passed, score: float | None = None, text: str | None = None) -> Candidate:
    verdict = None if passed == "none" else Verdict(
        passed=passed, score=score if score is not None else (1.0 if passed else 0.0), reason="r")
    return Candidate(id=cid, prompt_id="p", model=f"m-{cid}", text=text or f"text {cid}", verdict=verdict)


def group(*cands: Candidate) -> PromptCandidates:
    return PromptCandidates(prompt=Prompt(id="p", messages=[Message(role="user", content="q")], domain="math"),
                            candidates=list(cands))


def ids(pairs):
    return sorted((c.id, r.id) for c, r in pairs)


def test_all_passing_vs_failing_combinations_within_limit():
    pc = group(cand("a", True), cand("b", False), cand("c", False))
    pairs, reason = verified_pairs(pc, PairsConfig(max_pairs_per_prompt=5))
    assert (ids(pairs), reason) == ([("a", "b"), ("a", "c")], "")


def test_limit_and_seed_make_a_deterministic_choice():
    pc = group(cand("a", True), cand("b", True), cand("c", False), cand("d", False))
    first, _ = verified_pairs(pc, PairsConfig(max_pairs_per_prompt=2, seed=7))
    reordered = group(*reversed(pc.candidates))
    again, _ = verified_pairs(reordered, PairsConfig(max_pairs_per_prompt=2, seed=7))
    assert len(first) == 2 and ids(first) == ids(again)


@pytest.mark.parametrize("cands,reason", [
    ((cand("a", "none"), cand("b", None)), "unverified"),
    ((cand("a", False), cand("b", False)), "no_passing_candidate"),
    ((cand("a", True), cand("b", True)), "no_failing_candidate"),
    ((cand("a", True, 0.6), cand("b", False, 0.4)), "below_min_gap"),
    ((cand("a", True, text="Same  Answer\n"), cand("b", False, text="Same Answer")), "identical_texts"),
])
def test_no_pair_reasons(cands, reason):
    assert verified_pairs(group(*cands), PairsConfig()) == ([], reason)


def test_code_style_partial_scores_respect_min_gap():
    pc = group(cand("full", True, 1.0), cand("half", False, 0.5), cand("none", False, 0.0))
    pairs, _ = verified_pairs(pc, PairsConfig(min_score_gap=0.6, max_pairs_per_prompt=5))
    assert ids(pairs) == [("full", "none")]


def test_make_pair_fills_the_contract():
    pc = group(cand("a", True), cand("b", False))
    pair = make_pair(pc, pc.candidates[0], pc.candidates[1], source="verified", run_id="r", config_hash="h",
                     rationale="because")
    assert pair.chosen == [Message(role="assistant", content="text a")]
    assert (pair.margin, pair.strength, pair.label_source, pair.pair_source) == (1.0, 3, "verifier", "verified")
    assert pair.id == make_pair(pc, pc.candidates[0], pc.candidates[1], source="verified", run_id="other",
                                config_hash="x", rationale=None).id


def test_graded_code_pairs_rank_more_tests_passed_over_fewer():
    pc = group(cand("full", True, 1.0), cand("most", False, 0.75), cand("some", False, 0.25), cand("none", False, 0.0))
    pc = pc.model_copy(update={"prompt": pc.prompt.model_copy(update={"domain": "code"})})
    graded, _ = verified_pairs(pc, PairsConfig(verified_graded=True, min_score_gap=0.5, max_pairs_per_prompt=10))
    assert ids(graded) == [("full", "none"), ("full", "some"), ("most", "none"), ("most", "some")]
    plain, _ = verified_pairs(pc, PairsConfig(min_score_gap=0.5, max_pairs_per_prompt=10))
    assert ids(plain) == [("full", "none"), ("full", "some")]
