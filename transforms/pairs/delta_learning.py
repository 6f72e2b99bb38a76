"""Strong-vs-weak pairs, from Delta Learning ("The Delta Learning Hypothesis: Preference Tuning on Weak Data
can Yield Strong Gains", arXiv:2507.06187): the response of a stronger model is chosen over a weaker one's,
with no judge and no verifier; the quality delta between the two carries the preference.

The rule: models are ranked by `model_strength` (strongest first, names matched whatever their case);
margin = rank gap / (ranked models - 1), strength = the rank gap, at most 3.
"""

from __future__ import annotations

import itertools
import random

from prefmill.schemas import PreferencePair, PromptCandidates, stable_id
from prefmill.transforms.pairs.common import make_pair, normalize_text
from prefmill.transforms.pairs.config import PairsConfig
from prefmill.transforms.rdpo import delta_rationale


def delta_pairs(pc: PromptCandidates, config: PairsConfig, *, run_id: str, config_hash: str) -> list[PreferencePair]:
    """Delta Learning: chosen from a stronger model, rejected from a weaker one, by `model_strength` order.

    margin = rank gap / (number of ranked models - 1); strength = the rank gap, at most 3.
    """
    if config.delta_domains is not None and pc.prompt.domain not in config.delta_domains:
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
        rationale = delta_rationale(chosen.model, rejected.model)
        pair = make_pair(pc, chosen, rejected, source="delta", run_id=run_id, config_hash=config_hash,
                         rationale=rationale)
        pairs.append(pair.model_copy(update={
            "chosen_score": None, "rejected_score": None, "margin": gap / max(1, len(config.model_strength) - 1),
            "strength": min(3, gap), "label_source": "ai"}))
    return pairs


def build(pc: PromptCandidates, config: PairsConfig, made: list[PreferencePair], context: dict):
    return delta_pairs(pc, config, **context), ""


def idle(run) -> list[str]:
    names = [n.lower() for n in run.pairs.model_strength]
    if len(names) < 2:
        return ["pairs.strategies has delta, which needs pairs.model_strength: at least two model names, "
                "strongest first"]
    if len(set(names)) < len(names):
        return [f"pairs.model_strength names a model twice: {run.pairs.model_strength}"]
    if run.generate.mode == "models":
        known = {m.name.lower() for m in run.generate.models}
        missing = [n for n in run.pairs.model_strength if n.lower() not in known]
        if missing:
            return [f"pairs.model_strength {missing} match no generate.models name "
                    f"({sorted(m.name for m in run.generate.models)}): delta pairs would skip them"]
    return []
