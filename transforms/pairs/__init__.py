"""Pair building: one module per method, named after it (verified: Tülu 3; rise: RISE self-edits; judged:
UltraFeedback and pairwise judges; delta_learning: Delta Learning), joined by `registry.py` and run by
`BuildPairs` (stage.py)."""

from prefmill.transforms.pairs.common import length_ratio, make_pair, normalize_text, strength_from_margin
from prefmill.transforms.pairs.config import PairsConfig
from prefmill.transforms.pairs.delta_learning import delta_pairs
from prefmill.transforms.pairs.judged import judged_pairs, judged_reason, rating_strength, sides_named
from prefmill.transforms.pairs.registry import STRATEGIES, idle_problems
from prefmill.transforms.pairs.rise import self_edit_pairs
from prefmill.transforms.pairs.stage import BuildPairs
from prefmill.transforms.pairs.verified import verified_pairs

__all__ = ["BuildPairs", "PairsConfig", "STRATEGIES", "delta_pairs", "idle_problems", "judged_pairs", "judged_reason",
           "length_ratio", "make_pair", "normalize_text", "rating_strength", "self_edit_pairs", "sides_named",
           "strength_from_margin", "verified_pairs"]
