"""Verified pairs, as in Tülu 3's verifiable-reward data ("Tülu 3: Pushing Frontiers in Open Language Model
Post-Training", arXiv:2411.15124): a response the verifier passed is chosen over one it failed.

The rule: chosen passes, rejected fails, their score gap reaches `min_score_gap` (or, `verified_graded`, a
higher fraction of tests or constraints beats a lower one), the two texts differ, and the pairs kept are a
seeded random choice. `margin` is the score gap; `strength` follows it on the HelpSteer2-Preference scale.
"""

from __future__ import annotations

import itertools
import math
import random

from prefmill.schemas import Candidate, PreferencePair, PromptCandidates, stable_id
from prefmill.transforms.pairs.common import make_pair, normalize_text
from prefmill.transforms.pairs.config import PairsConfig
from prefmill.transforms.rdpo import verifier_rationale


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


def build(pc: PromptCandidates, config: PairsConfig, made: list[PreferencePair], context: dict):
    """The strategy's registry hook: verified pairs, capped by RISE's one-to-one mix when self-edits exist."""
    chosen_rejected, reason = verified_pairs(pc, config)
    solution_edits = sum(1 for p in made if p.pair_source == "self_edit" and p.granularity == "solution")
    if solution_edits and config.sampled_per_self_edit is not None:
        chosen_rejected = chosen_rejected[: math.ceil(config.sampled_per_self_edit * solution_edits)]
    pairs = [make_pair(pc, chosen, rejected, source="verified", rationale=verifier_rationale(chosen.verdict, rejected.verdict)
                       if config.verifier_rationale else None, **context) for chosen, rejected in chosen_rejected]
    return pairs, reason


def idle(run) -> list[str]:
    if not run.verify.enabled:
        return ["pairs.strategies has verified, but verify.enabled is false: no response gets a verdict; turn "
                "verification on, or drop verified"]
    return []
