"""BuildPairs: chosen/rejected pairs from each prompt's candidates.

Strategy `verified` (Tulu 3 RLVR style): a candidate the verifier passed vs one it failed, with at least
`min_score_gap` between their scores. Every random choice is seeded by (seed, prompt id), so a re-run of
the same config picks the same pairs whatever order the prompts arrive in.

Strength and margin for verifier-decided pairs: `margin` = chosen score - rejected score (in [0, 1]);
`strength` on the HelpSteer2-Preference scale, positive because chosen is the better side:
3 when the margin is >= 0.75, 2 when >= 0.4, else 1.

A prompt that yields no pair is dead-lettered with the reason: `unverified` (no verdict on any
candidate), `no_passing_candidate`, `no_failing_candidate`, `below_min_gap`, or `identical_texts`.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from prefmill.schemas import Candidate, ErrorEdit, Message, PreferencePair, PromptCandidates, SelfEdit, Span, stable_id
from prefmill.transforms.base import Reject, Stage
from prefmill.transforms.rationale import self_edit_rationale, verifier_rationale

Strategy = Literal["verified", "self_edit"]


class PairsConfig(BaseModel):
    """How chosen/rejected pairs are formed."""

    model_config = ConfigDict(extra="forbid")

    strategies: list[Strategy] = Field(default_factory=lambda: ["verified"], description="pair strategies to apply")
    max_pairs_per_prompt: int = Field(2, gt=0, description="at most this many pairs per prompt")
    min_score_gap: float = Field(
        0.25, ge=0.0, le=1.0,
        description="verified: minimum chosen - rejected score (code and instruction scores are fractions passed)")
    seed: int = Field(0, description="seed of every random choice")
    verifier_rationale: bool = Field(True, description="write a verifier-grounded rationale on verified pairs")
    self_edit_granularity: list[Literal["solution", "step"]] = Field(
        default_factory=lambda: ["solution", "step"],
        description="self_edit: full-solution pairs, step-level pairs (Step-DPO), or both")
    sampled_per_self_edit: Optional[float] = Field(
        1.0, ge=0, description="with self_edit: verified pairs kept per self-edit solution pair (RISE uses 1); "
                               "null keeps max_pairs_per_prompt")


def normalize_text(text: str) -> str:
    """Whitespace-insensitive form used to drop pairs whose two sides say the same thing. Case is kept:
    it can be the whole difference (an all-lowercase instruction).

    >>> normalize_text("  The answer\\n is 4. ") == normalize_text("The answer is 4.")
    True
    >>> normalize_text("the answer") == normalize_text("The answer")
    False
    """
    return re.sub(r"\s+", " ", text).strip()


def strength_from_margin(margin: float) -> int:
    """Strength (HelpSteer2-Preference scale, chosen side positive) of a verifier margin in [0, 1].

    >>> [strength_from_margin(m) for m in (1.0, 0.5, 0.2)]
    [3, 2, 1]
    """
    return 3 if margin >= 0.75 else 2 if margin >= 0.4 else 1


def verified_pairs(pc: PromptCandidates, config: PairsConfig) -> tuple[list[tuple[Candidate, Candidate]], str]:
    """(chosen, rejected) candidate pairs of one prompt, and the reason code when there are none."""
    verdicts = [c for c in pc.candidates if c.verdict is not None and c.verdict.passed is not None]
    if not verdicts:
        return [], "unverified"
    passing = [c for c in verdicts if c.verdict.passed]
    failing = [c for c in verdicts if not c.verdict.passed]
    if not passing:
        return [], "no_passing_candidate"
    if not failing:
        return [], "no_failing_candidate"
    combos = [
        (p, f) for p, f in itertools.product(passing, failing)
        if p.verdict.score - f.verdict.score >= config.min_score_gap
    ]
    if not combos:
        return [], "below_min_gap"
    distinct = [(p, f) for p, f in combos if normalize_text(p.text) != normalize_text(f.text)]
    if not distinct:
        return [], "identical_texts"
    distinct.sort(key=lambda pair: (pair[0].id, pair[1].id))
    rng = random.Random(stable_id(config.seed, pc.prompt.id))
    rng.shuffle(distinct)
    return distinct[: config.max_pairs_per_prompt], ""


def make_pair(pc: PromptCandidates, chosen: Candidate, rejected: Candidate, *, source: str, run_id: str,
              config_hash: str, rationale: str | None) -> PreferencePair:
    chosen_score = chosen.verdict.score if chosen.verdict else None
    rejected_score = rejected.verdict.score if rejected.verdict else None
    margin = None if chosen_score is None or rejected_score is None else chosen_score - rejected_score
    return PreferencePair(
        id=PreferencePair.make_id(pc.prompt.id, chosen.id, rejected.id, source),
        prompt_id=pc.prompt.id,
        domain=pc.prompt.domain,
        prompt=pc.prompt.messages,
        chosen=[Message(role="assistant", content=chosen.text)],
        rejected=[Message(role="assistant", content=rejected.text)],
        chosen_model=chosen.model,
        rejected_model=rejected.model,
        chosen_score=chosen_score,
        rejected_score=rejected_score,
        pair_source=source,
        margin=margin,
        strength=None if margin is None else strength_from_margin(margin),
        rationale=rationale,
        label_source="verifier",
        chosen_candidate_id=chosen.id,
        rejected_candidate_id=rejected.id,
        run_id=run_id,
        config_hash=config_hash,
    )


def self_edit_pairs(pc: PromptCandidates, config: PairsConfig, *, run_id: str,
                    config_hash: str) -> list[PreferencePair]:
    """RISE pairs from accepted self-edits: (correct, edited) full solutions and (correct, edited) steps."""
    pairs = []
    by_id = {c.id: c for c in pc.candidates}
    reference = pc.prompt.reference.answer if pc.prompt.reference else ""
    for edit in pc.edits:
        chosen = by_id.get(edit.candidate_id)
        if chosen is None:
            continue
        for granularity in config.self_edit_granularity:
            pairs.append(_self_edit_pair(pc, chosen, edit, granularity, reference, run_id, config_hash))
    return pairs


def _self_edit_pair(pc: PromptCandidates, chosen: Candidate, edit: SelfEdit, granularity: str, reference: str,
                    run_id: str, config_hash: str) -> PreferencePair:
    rejected_id = stable_id("self_edit", edit.candidate_id, edit.step_index, edit.error_type, edit.edited_step)
    if granularity == "step":
        prompt = list(pc.prompt.messages)
        if edit.prefix.strip():
            prompt.append(Message(role="assistant", content=edit.prefix))
        chosen_text, rejected_text = edit.original_step, edit.edited_step
        step_start = edit.original_span.start - len(edit.prefix)
        original = Span(start=step_start, end=step_start + len(edit.original_span.text), text=edit.original_span.text)
        edited_start = edit.edited_span.start - len(edit.prefix)
        edited = Span(start=edited_start, end=edited_start + len(edit.edited_span.text), text=edit.edited_span.text)
    else:
        prompt, chosen_text, rejected_text = pc.prompt.messages, chosen.text, edit.rejected_solution
        original, edited = edit.original_span, edit.edited_span
    return PreferencePair(
        id=PreferencePair.make_id(pc.prompt.id, chosen.id, rejected_id, f"self_edit/{granularity}"),
        prompt_id=pc.prompt.id, domain=pc.prompt.domain, prompt=prompt,
        chosen=[Message(role="assistant", content=chosen_text)],
        rejected=[Message(role="assistant", content=rejected_text)],
        chosen_model=chosen.model, rejected_model=f"{chosen.model}+{edit.method}-edit",
        chosen_score=1.0, rejected_score=0.0, pair_source="self_edit", granularity=granularity,
        margin=1.0, strength=3, rationale=self_edit_rationale(edit, reference, granularity), label_source="verifier",
        error_edit=ErrorEdit(error_type=edit.error_type, step_index=edit.step_index, original_span=original,
                             edited_span=edited, token_distance=edit.token_distance),
        chosen_candidate_id=chosen.id, rejected_candidate_id=rejected_id, run_id=run_id, config_hash=config_hash,
    )


class BuildPairs(Stage):
    name = "pairs"

    def __init__(self, config: PairsConfig, run_id: str = "", config_hash: str = "") -> None:
        super().__init__(run_id)
        self.config = config
        self.config_hash = config_hash

    def record_id(self, element: PromptCandidates) -> str:
        return element.prompt.id

    def handle(self, pc: PromptCandidates):
        edited = []
        if "self_edit" in self.config.strategies:
            edited = self_edit_pairs(pc, self.config, run_id=self.run_id, config_hash=self.config_hash)
        verified, reason = [], ""
        if "verified" in self.config.strategies:
            verified, reason = verified_pairs(pc, self.config)
            solution_edits = sum(1 for p in edited if p.granularity == "solution")
            if solution_edits and self.config.sampled_per_self_edit is not None:
                verified = verified[: math.ceil(self.config.sampled_per_self_edit * solution_edits)]
        if not verified and not edited:
            yield Reject(reason or "no_self_edit", error=f"no pair among {len(pc.candidates)} candidates")
            return
        for chosen, rejected in verified:
            rationale = (verifier_rationale(chosen.verdict, rejected.verdict)
                         if self.config.verifier_rationale else None)
            yield make_pair(pc, chosen, rejected, source="verified", run_id=self.run_id,
                            config_hash=self.config_hash, rationale=rationale)
        yield from edited
