"""BuildPairs: chosen/rejected pairs from each prompt's candidates.

Strategy `verified` (Tulu 3 RLVR style): a candidate the verifier passed vs one it failed, with at least
`min_score_gap` between their scores. Every random choice is seeded by (seed, prompt id), so a re-run of
the same config picks the same pairs whatever order the prompts arrive in.

Strength and margin for verifier-decided pairs: `margin` = chosen score - rejected score (in [0, 1]);
`strength` on the HelpSteer2-Preference scale, positive because chosen is the better side:
3 when the margin is >= 0.75, 2 when >= 0.4, else 1.

A prompt that yields no pair is dead-lettered with the reason: `unverified` (no verdict on any
candidate), `no_passing_candidate`, `no_failing_candidate`, `below_min_gap`, or `identical_texts`; for
the judged strategy `unjudged`, `below_rating_margin` or `judges_split`.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from prefmill.schemas import (
    Candidate, ErrorEdit, JudgeSummary, Message, PreferencePair, PromptCandidates, SelfEdit, Span, stable_id,
)
from prefmill.transforms.base import Reject, Stage
from prefmill.transforms.rationale import self_edit_rationale, verifier_rationale

Strategy = Literal["verified", "self_edit", "judged", "delta"]


class PairsConfig(BaseModel):
    """How chosen/rejected pairs are formed."""

    model_config = ConfigDict(extra="forbid")

    strategies: list[Strategy] = Field(default_factory=lambda: ["verified"], description="pair strategies to apply")
    max_pairs_per_prompt: int = Field(2, gt=0, description="at most this many pairs per prompt")
    min_score_gap: float = Field(
        0.25, ge=0.0, le=1.0,
        description="verified: minimum chosen - rejected score (code and instruction scores are fractions passed)")
    verified_graded: bool = Field(
        False, description="verified: a candidate passing more tests (constraints) beats one passing fewer, by "
                           "min_score_gap, even when neither passes all (code and instruction)")
    seed: int = Field(0, description="seed of every random choice")
    verifier_rationale: bool = Field(True, description="write a verifier-grounded rationale on verified pairs")
    self_edit_granularity: list[Literal["solution", "step"]] = Field(
        default_factory=lambda: ["solution", "step"],
        description="self_edit: full-solution pairs, step-level pairs (Step-DPO), or both")
    judged_rejected: Literal["random", "lowest"] = Field(
        "random", description="judged (pointwise): the rejected side is a random other candidate or the lowest rated")
    min_rating_margin: float = Field(0.5, ge=0.0, description="judged: minimum mean-rating gap (1-5 scale)")
    judge_rationale_template: str = Field(
        "Judged by {judges}: mean rating {chosen_mean:.2f} vs {rejected_mean:.2f}. Chosen: {chosen_rationale} "
        "Rejected: {rejected_rationale}", description="judged pairs' rationale, from the judges' own words")
    delta_domains: list[Literal["math", "code", "instruction", "chat"]] = Field(
        default_factory=lambda: ["math", "code", "instruction", "chat"], description="delta: domains it applies to")
    model_strength: list[str] = Field(
        default_factory=list, description="delta: model names, strongest first (Delta Learning)")
    max_length_ratio: Optional[float] = Field(
        None, gt=1.0, description="drop pairs whose longer side is more than this times the shorter (length bias)")
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
    if config.verified_graded and pc.prompt.domain in ("code", "instruction"):
        combos = [(a, b) for a, b in itertools.permutations(verdicts, 2)
                  if a.verdict.score > b.verdict.score and a.verdict.score - b.verdict.score >= config.min_score_gap]
    else:
        combos = [(p, f) for p, f in itertools.product(passing, failing)
                  if p.verdict.score - f.verdict.score >= config.min_score_gap]
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


def _mean_rating(candidate: Candidate) -> Optional[float]:
    if not candidate.judgments:
        return None
    return sum(j.mean for j in candidate.judgments) / len(candidate.judgments)


def _aspect_words(candidate: Candidate) -> str:
    if not candidate.judgments:
        return ""
    return " ".join(r.rationale.rstrip(".") + "." for r in candidate.judgments[0].ratings if r.rationale)


def judged_pairs(pc: PromptCandidates, config: PairsConfig, *, run_id: str, config_hash: str) -> list[PreferencePair]:
    """Tulu 3 style: chosen = highest mean rating, rejected = a random other (or the lowest); the rating gap
    must reach min_rating_margin; ties are dropped. Pairwise comparisons give pairs by majority vote."""
    if pc.comparisons:
        return _pairwise_pairs(pc, config, run_id=run_id, config_hash=config_hash)
    rated = sorted((c for c in pc.candidates if c.judgments), key=lambda c: (-_mean_rating(c), c.id))
    if len(rated) < 2:
        return []
    chosen = rated[0]
    others = [c for c in rated[1:] if _mean_rating(chosen) - _mean_rating(c) >= max(config.min_rating_margin, 1e-9)]
    if not others:
        return []  # a tie at the top, or every gap below the margin
    if config.judged_rejected == "lowest":
        rejected = others[-1]
    else:
        rejected = random.Random(stable_id(config.seed, pc.prompt.id, "judged")).choice(others)
    margin = _mean_rating(chosen) - _mean_rating(rejected)
    judges = sorted({j.judge for j in chosen.judgments} & {j.judge for j in rejected.judgments})
    agree = [j for j in judges if _judge_mean(chosen, j) > _judge_mean(rejected, j)]
    rationale = config.judge_rationale_template.format(
        judges=", ".join(judges), chosen_mean=_mean_rating(chosen), rejected_mean=_mean_rating(rejected),
        chosen_rationale=_aspect_words(chosen), rejected_rationale=_aspect_words(rejected))
    pair = make_pair(pc, chosen, rejected, source="judged", run_id=run_id, config_hash=config_hash,
                     rationale=rationale)
    return [pair.model_copy(update={
        "chosen_score": _mean_rating(chosen), "rejected_score": _mean_rating(rejected), "margin": margin,
        "strength": rating_strength(margin), "label_source": "ai",
        "judge": JudgeSummary(judges=judges, agreement=len(agree) / len(judges) if judges else None,
                              low_confidence=len(agree) < len(judges))})]


def judged_reason(pc: PromptCandidates, config: PairsConfig) -> str:
    """Why the judged strategy gave a prompt no pair (a content reason, never an infrastructure one)."""
    if pc.comparisons:
        return "judges_split"  # every comparison a tie, or judges split evenly
    if sum(1 for c in pc.candidates if c.judgments) < 2:
        return "unjudged"  # fewer than two rated responses (domain not judged, or its judgments dead-lettered)
    return "below_rating_margin"


def _judge_mean(candidate: Candidate, judge: str) -> float:
    return next(j.mean for j in candidate.judgments if j.judge == judge)


def rating_strength(margin: float) -> int:
    """Strength of a judged pair from its mean-rating gap on the 1-5 scale.

    >>> [rating_strength(m) for m in (2.5, 1.0, 0.5)]
    [3, 2, 1]
    """
    return 3 if margin >= 2 else 2 if margin >= 1 else 1


_SHOWN_AS = re.compile(r"\b(?:[Rr]esponse|[Aa]nswer|[Oo]ption|[Cc]andidate)\s+([AB])\b")


def sides_named(rationale: str, *, a_is_chosen: bool) -> str:
    """A pairwise judge's rationale with its prompt positions ("Response A/B") named as the pair's sides; a
    bare A or B left in the text gets the key in front.

    >>> sides_named("Response B is more accurate than response A.", a_is_chosen=False)
    'The chosen response is more accurate than the rejected response.'
    >>> sides_named("A wins.", a_is_chosen=True)
    '(A = chosen, B = rejected) A wins.'
    """
    names = {"A": "chosen" if a_is_chosen else "rejected", "B": "rejected" if a_is_chosen else "chosen"}

    def name(match: re.Match) -> str:
        start = match.start() == 0 or rationale[:match.start()].rstrip().endswith((".", "!", "?"))
        return f"{'The' if start else 'the'} {names[match.group(1)]} response"

    text = _SHOWN_AS.sub(name, rationale)
    if re.search(r"(?<![\w'])[AB](?![\w'])", text):
        text = f"(A = {names['A']}, B = {names['B']}) {text}"
    return text


def _pairwise_pairs(pc: PromptCandidates, config: PairsConfig, *, run_id: str,
                    config_hash: str) -> list[PreferencePair]:
    by_id = {c.id: c for c in pc.candidates}
    grouped: dict[tuple[str, str], list] = {}
    for comparison in pc.comparisons:
        grouped.setdefault((comparison.first_id, comparison.second_id), []).append(comparison)
    pairs = []
    for (a, b), comparisons in sorted(grouped.items()):
        votes = [c.preferred_id for c in comparisons if c.preferred_id is not None]
        for_a, for_b = votes.count(a), votes.count(b)
        if for_a == for_b:
            continue  # a tie, or judges split evenly: no preference to learn
        chosen_id, rejected_id = (a, b) if for_a > for_b else (b, a)
        consistent = all(c.position_consistent for c in comparisons)
        agreement = max(for_a, for_b) / len(comparisons)
        margin = abs(for_a - for_b) / len(comparisons)
        strength = 3 if agreement == 1 and consistent else 2 if consistent else 1
        rationale = " ".join(sides_named(c.rationale, a_is_chosen=c.first_id == chosen_id)
                             for c in comparisons if c.preferred_id == chosen_id and c.rationale)
        pair = make_pair(pc, by_id[chosen_id], by_id[rejected_id], source="judged", run_id=run_id,
                         config_hash=config_hash, rationale=rationale or None)
        pairs.append(pair.model_copy(update={
            "chosen_score": None, "rejected_score": None, "margin": margin, "strength": strength, "label_source": "ai",
            "judge": JudgeSummary(judges=sorted({c.judge for c in comparisons}), agreement=agreement,
                                  position_consistent=consistent, low_confidence=not consistent or agreement < 1)}))
    random.Random(stable_id(config.seed, pc.prompt.id, "pairwise")).shuffle(pairs)
    return pairs[: config.max_pairs_per_prompt]


def delta_pairs(pc: PromptCandidates, config: PairsConfig, *, run_id: str, config_hash: str) -> list[PreferencePair]:
    """Delta Learning: chosen from a stronger model, rejected from a weaker one, by `model_strength` order.

    margin = rank gap / (number of ranked models - 1); strength = the rank gap, at most 3.
    """
    if pc.prompt.domain not in config.delta_domains:
        return []
    rank = {name.lower(): i for i, name in enumerate(config.model_strength)}  # atlas-70B is atlas-70b
    ranked = [c for c in pc.candidates if c.model.lower() in rank]
    combos = [(a, b) for a, b in itertools.permutations(ranked, 2) if rank[a.model.lower()] < rank[b.model.lower()]
              and normalize_text(a.text) != normalize_text(b.text)]
    combos.sort(key=lambda pair: (pair[0].id, pair[1].id))
    random.Random(stable_id(config.seed, pc.prompt.id, "delta")).shuffle(combos)
    pairs = []
    for chosen, rejected in combos[: config.max_pairs_per_prompt]:
        gap = rank[rejected.model.lower()] - rank[chosen.model.lower()]
        rationale = (f"The chosen response comes from {chosen.model}, ranked above {rejected.model} in the "
                     f"configured model strength order (Delta Learning: the gap between a stronger and a weaker "
                     f"model carries the preference, no judge needed).")
        pair = make_pair(pc, chosen, rejected, source="delta", run_id=run_id, config_hash=config_hash,
                         rationale=rationale)
        pairs.append(pair.model_copy(update={
            "chosen_score": None, "rejected_score": None, "margin": gap / max(1, len(config.model_strength) - 1),
            "strength": min(3, gap), "label_source": "ai"}))
    return pairs


def length_ratio(pair: PreferencePair) -> float:
    a, b = len(pair.chosen[-1].content), len(pair.rejected[-1].content)
    return max(a, b) / max(1, min(a, b))


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
        pairs = [make_pair(pc, chosen, rejected, source="verified", run_id=self.run_id, config_hash=self.config_hash,
                           rationale=verifier_rationale(chosen.verdict, rejected.verdict)
                           if self.config.verifier_rationale else None) for chosen, rejected in verified]
        pairs += edited
        context = {"run_id": self.run_id, "config_hash": self.config_hash}
        if "judged" in self.config.strategies:
            judged = judged_pairs(pc, self.config, **context)
            pairs += judged
            if not judged and reason in ("", "unverified"):
                reason = judged_reason(pc, self.config)
        if "delta" in self.config.strategies:
            pairs += delta_pairs(pc, self.config, **context)
        if self.config.max_length_ratio is not None:
            for pair in [p for p in pairs if length_ratio(p) > self.config.max_length_ratio]:
                pairs.remove(pair)
                yield Reject("length_ratio", record_id=pair.id, payload=pair,
                             error=f"length ratio {length_ratio(pair):.2f} > {self.config.max_length_ratio}")
        if not pairs:
            yield Reject(reason or "no_pair", error=f"no pair among {len(pc.candidates)} candidates")
            return
        yield from pairs
