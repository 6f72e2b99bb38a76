"""The budget step shared by every routing policy: what it knows about a pair, and how spending is counted
(a count of pairs, or a cost from a per-pair price plus a price per 1,000 words)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """What the budget step needs about one pair."""

    pair_id: str
    score: float
    cost: float
    bins: tuple
    eligible: bool
    first: bool = False  # a suspected label flip sent to humans before the rest (annotate.noise.action)


def by_priority(items: list[Item]) -> list[Item]:
    return sorted(items, key=lambda it: (-it.score, it.pair_id))


def fits(spent: float, cost: float, config) -> bool:
    return spent + (1 if config.budget_unit == "count" else cost) <= config.budget + 1e-9


def bin_counts(items: list[Item]) -> dict[str, float]:
    counts: dict[str, float] = {}
    for item in items:
        for key in item.bins:
            counts[key] = counts.get(key, 0) + 1
    return counts


def pair_cost(features: dict, config) -> float:
    total_words = features["prompt_len"] + features["chosen_len"] + features["rejected_len"]
    return config.cost_per_pair + config.cost_per_1k_words * total_words / 1000
