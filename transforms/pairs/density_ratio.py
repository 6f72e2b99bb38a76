"""Density-ratio pairs, from CDR ("Customizable Density Ratios of Strong-over-weak LLMs for Preference
Annotation", arXiv:2411.02481); the ratios come from transforms/density_ratio.py.

The rule: chosen = the candidate with the highest log-density ratio (strong over weak), rejected = the
lowest; a pair needs a ratio gap of at least `min_density_margin`. Where a verifier decided both responses
differently, or judges rated both, the pair's agreement with them is counted (`density_ratio_agree_*`).
"""

from __future__ import annotations

from typing import Optional

from prefmill.schemas import Candidate, PreferencePair, PromptCandidates
from prefmill.transforms.base import count
from prefmill.transforms.pairs.common import make_pair, normalize_text
from prefmill.transforms.pairs.config import PairsConfig


def _mean_rating(candidate: Candidate) -> Optional[float]:
    if not candidate.judgments:
        return None
    return sum(j.mean for j in candidate.judgments) / len(candidate.judgments)


def agreement(chosen: Candidate, rejected: Candidate) -> dict[str, bool]:
    """Whether the other label sources that decided this pair agree with the ratio: the verifier (when it
    passed one response and failed the other) and the judges (when they rated both differently)."""
    found = {}
    a, b = chosen.verdict, rejected.verdict
    if a is not None and b is not None and a.passed is not None and b.passed is not None and a.passed != b.passed:
        found["verifier"] = bool(a.passed)
    ca, cb = _mean_rating(chosen), _mean_rating(rejected)
    if ca is not None and cb is not None and ca != cb:
        found["judge"] = ca > cb
    return found


def density_pairs(pc: PromptCandidates, config: PairsConfig, *, run_id: str, config_hash: str) -> list[PreferencePair]:
    scored = sorted((c for c in pc.candidates if c.density_ratio is not None),
                    key=lambda c: (-c.density_ratio.value, c.id))
    if len(scored) < 2:
        return []
    chosen, rejected = scored[0], scored[-1]
    gap = chosen.density_ratio.value - rejected.density_ratio.value
    if gap < max(config.min_density_margin, 1e-9) or normalize_text(chosen.text) == normalize_text(rejected.text):
        return []
    for source, agrees in agreement(chosen, rejected).items():
        count("pairs", f"density_ratio_{'agree' if agrees else 'disagree'}_{source}")
    ratio = chosen.density_ratio
    unit = " per token" if ratio.normalized else ""
    rationale = (f"Scored by the log-density ratio of {ratio.strong} over {ratio.weak} (CDR): the chosen response "
                 f"scores {ratio.value:.3f}{unit}, the rejected {rejected.density_ratio.value:.3f}{unit}.")
    pair = make_pair(pc, chosen, rejected, source="density_ratio", run_id=run_id, config_hash=config_hash,
                     rationale=rationale)
    return [pair.model_copy(update={"chosen_score": ratio.value, "rejected_score": rejected.density_ratio.value,
                                    "margin": gap, "label_source": "ai"})]


def build(pc: PromptCandidates, config: PairsConfig, made: list[PreferencePair], context: dict):
    pairs = density_pairs(pc, config, **context)
    if pairs:
        return pairs, ""
    if sum(1 for c in pc.candidates if c.density_ratio is not None) < 2:
        return [], "unscored"
    return [], "below_density_margin"


def idle(run) -> list[str]:
    config = run.density_ratio
    if not config.enabled:
        return ["pairs.strategies has density_ratio, which needs density_ratio.enabled: true with a strong and a "
                "weak model entry"]
    return []
