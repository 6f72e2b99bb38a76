"""Pair building: one module per method, named after it (verified: Tülu 3; rise: RISE self-edits; judged:
UltraFeedback and pairwise judges; delta_learning: Delta Learning), joined by `registry.py` and run by
`BuildPairs` (stage.py).

The registry (and the stage, which uses it) load plugin strategies when imported, and a plugin imports
this package's modules: so they are imported here only on first use, never by the package itself.
"""

from prefmill.transforms.pairs.common import length_ratio, make_pair, normalize_text, strength_from_margin
from prefmill.transforms.pairs.config import PairsConfig
from prefmill.transforms.pairs.delta_learning import delta_pairs
from prefmill.transforms.pairs.judged import judged_pairs, judged_reason, rating_strength, sides_named
from prefmill.transforms.pairs.rise import self_edit_pairs
from prefmill.transforms.pairs.verified import verified_pairs

__all__ = ["BuildPairs", "PairsConfig", "STRATEGIES", "delta_pairs", "idle_problems", "judged_pairs", "judged_reason",
           "length_ratio", "make_pair", "normalize_text", "rating_strength", "self_edit_pairs", "sides_named",
           "strength_from_margin", "verified_pairs"]


def __getattr__(name: str):
    if name == "BuildPairs":
        from prefmill.transforms.pairs.stage import BuildPairs

        return BuildPairs
    if name in ("STRATEGIES", "idle_problems"):
        from prefmill.transforms.pairs import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
