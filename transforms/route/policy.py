"""Routing policies: which pairs get a human label, under a budget (Hybrid Preferences, HyPER).

- `uncertainty`: a transparent weighted score of the label signals (position-inconsistent judgments, judge
  disagreement, a small margin, near-identical responses); the highest scores go to humans.
- `hyper_gain` / `hyper_mix`: a performance prediction model, quadratic in the counts of human-routed
  instances per tag bin (degree-2 polynomial features + least squares), fitted from a table of past
  experiments with `prefmill route fit`. `hyper_gain` adds instances greedily by predicted gain while the
  gain is positive; `hyper_mix` scores many random candidate mixes and keeps the best.
Verifier-decided pairs never go to humans unless `route_verified`. Budgets are a count or a cost; the
choice is exact and deterministic for a seed (ties broken by pair id).
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from prefmill.schemas import PrefmillError
from prefmill.transforms.llm.registry import ModelSpec
from prefmill.transforms.route.features import normalized_margin

DEFAULT_WEIGHTS = {"position_inconsistent": 0.35, "disagreement": 0.25, "low_margin": 0.25, "similarity": 0.15}


class RouteConfig(BaseModel):
    """Human/AI routing under a budget."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="decide human or AI labelling for every pair")
    policy: Literal["uncertainty", "hyper_gain", "hyper_mix"] = Field("uncertainty", description="routing policy")
    budget: float = Field(0, ge=0, description="how many pairs (budget_unit count) or how much cost humans get")
    budget_unit: Literal["count", "cost"] = Field("count", description="count: pairs; cost: sum of per-pair costs")
    cost_per_pair: float = Field(1.0, ge=0, description="cost of one human label (budget_unit cost)")
    cost_per_1k_words: float = Field(0.0, ge=0, description="added cost per 1,000 words of prompt + responses")
    route_verified: bool = Field(False, description="let verifier-decided pairs go to humans too")
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS),
                                      description="uncertainty policy: weight of each label signal")
    model_path: Optional[str] = Field(None, description="hyper policies: the model written by `prefmill route fit`")
    tagger: Optional[ModelSpec] = Field(None, description="LLM tagger for the descriptive tags; null: heuristics")
    mix_candidates: int = Field(200, gt=0, description="hyper_mix: random candidate mixes scored")
    seed: int = Field(0)

    @model_validator(mode="after")
    def _check(self) -> "RouteConfig":
        unknown = set(self.weights) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise ValueError(f"unknown route.weights {sorted(unknown)}; known: {sorted(DEFAULT_WEIGHTS)}")
        if self.enabled and self.policy != "uncertainty" and not self.model_path:
            raise ValueError(f"route.policy {self.policy} needs route.model_path (fit one with `prefmill route fit`)")
        return self


def uncertainty_score(features: dict, weights: dict[str, float]) -> float:
    """Weighted mean of signals in [0, 1]; higher = the AI label is less reliable.

    >>> f = {"position_inconsistent": True, "agreement": 0.5, "margin": 0.2, "strength": 1, "similarity": 0.9}
    >>> round(uncertainty_score(f, DEFAULT_WEIGHTS), 3)
    0.777
    """
    signals = {
        "position_inconsistent": 1.0 if features.get("position_inconsistent") else 0.0,
        "disagreement": 1.0 - features["agreement"] if features.get("agreement") is not None else 0.0,
        "low_margin": 1.0 - normalized_margin(features.get("margin"), features.get("strength")),
        "similarity": float(features.get("similarity", 0.0)),
    }
    total = sum(weights.values()) or 1.0
    return sum(weights.get(k, 0.0) * v for k, v in signals.items()) / total


@dataclass(frozen=True)
class Item:
    """What the budget step needs about one pair."""

    pair_id: str
    score: float
    cost: float
    bins: tuple
    eligible: bool


class PerformanceModel:
    """Predicted reward-model score from counts of human-routed instances per tag bin: quadratic
    (degree-2 polynomial features) + linear regression, as in HyPER."""

    def __init__(self, features: list[str], coefficients: list[float], scale: float, r2: float = float("nan")):
        self.features = features
        self.coefficients = coefficients
        self.scale = scale  # counts are divided by it, keeping the squares well conditioned
        self.r2 = r2

    @staticmethod
    def expand(x: list[float]) -> list[float]:
        terms = [1.0] + list(x)
        terms += [x[i] * x[j] for i, j in itertools.combinations_with_replacement(range(len(x)), 2)]
        return terms

    @classmethod
    def fit(cls, rows: list[dict[str, float]], target: str = "score") -> "PerformanceModel":
        import numpy as np

        if len(rows) < 3:
            raise PrefmillError(f"route fit needs at least 3 experiments, got {len(rows)}")
        if any(target not in r for r in rows):
            raise PrefmillError(f"every experiment row needs the target column {target!r}")
        features = sorted({k for r in rows for k in r if k != target})
        scale = max(1.0, max(float(r.get(f, 0) or 0) for r in rows for f in features))
        x = np.array([cls.expand([float(r.get(f, 0) or 0) / scale for f in features]) for r in rows])
        y = np.array([float(r[target]) for r in rows])
        coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
        predicted = x @ coefficients
        total = float(((y - y.mean()) ** 2).sum())
        r2 = 1.0 - float(((y - predicted) ** 2).sum()) / total if total else 1.0
        return cls(features, [float(c) for c in coefficients], scale, r2)

    def predict(self, counts: dict[str, float]) -> float:
        x = self.expand([float(counts.get(f, 0)) / self.scale for f in self.features])
        return sum(c * v for c, v in zip(self.coefficients, x))

    def to_json(self) -> str:
        return json.dumps({"kind": "hyper-quadratic", "features": self.features, "coefficients": self.coefficients,
                           "scale": self.scale, "r2": self.r2}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "PerformanceModel":
        data = json.loads(text)
        if data.get("kind") != "hyper-quadratic":
            raise PrefmillError("not a prefmill routing model (kind hyper-quadratic)")
        return cls(data["features"], data["coefficients"], data["scale"], data.get("r2", float("nan")))


def _by_priority(items: list[Item]) -> list[Item]:
    return sorted(items, key=lambda it: (-it.score, it.pair_id))


def _fits(spent: float, cost: float, config: RouteConfig) -> bool:
    return spent + (1 if config.budget_unit == "count" else cost) <= config.budget + 1e-9


def select_uncertain(items: list[Item], config: RouteConfig) -> set[str]:
    chosen, spent = set(), 0.0
    for item in _by_priority([it for it in items if it.eligible]):
        if _fits(spent, item.cost, config):
            chosen.add(item.pair_id)
            spent += 1 if config.budget_unit == "count" else item.cost
    return chosen


def _counts(items: list[Item]) -> dict[str, float]:
    counts: dict[str, float] = {}
    for item in items:
        for key in item.bins:
            counts[key] = counts.get(key, 0) + 1
    return counts


def select_gain(items: list[Item], config: RouteConfig, model: PerformanceModel) -> set[str]:
    """Greedy per-instance gain: add the instance whose bins raise the predicted score most, while > 0."""
    pool = _by_priority([it for it in items if it.eligible])
    chosen: list[Item] = []
    spent, counts = 0.0, {}
    base = model.predict(counts)
    while pool:
        best, best_gain = None, 0.0
        seen_bins = set()
        for item in pool:
            if item.bins in seen_bins or not _fits(spent, item.cost, config):
                continue
            seen_bins.add(item.bins)
            trial = dict(counts)
            for key in item.bins:
                trial[key] = trial.get(key, 0) + 1
            gain = model.predict(trial) - base
            if gain > best_gain + 1e-12:
                best, best_gain = item, gain
        if best is None:
            break
        chosen.append(best)
        pool.remove(best)
        spent += 1 if config.budget_unit == "count" else best.cost
        counts = _counts(chosen)
        base = model.predict(counts)
    return {it.pair_id for it in chosen}


def select_mix(items: list[Item], config: RouteConfig, model: PerformanceModel) -> set[str]:
    """Score `mix_candidates` random mixes that fill the budget; keep the best (seeded)."""
    pool = sorted((it for it in items if it.eligible), key=lambda it: it.pair_id)
    rng = random.Random(config.seed)
    best, best_score = set(), model.predict({})
    for _ in range(config.mix_candidates):
        order = pool[:]
        rng.shuffle(order)
        mix, spent = [], 0.0
        for item in order:
            if _fits(spent, item.cost, config):
                mix.append(item)
                spent += 1 if config.budget_unit == "count" else item.cost
        score = model.predict(_counts(mix))
        if score > best_score:
            best, best_score = {it.pair_id for it in mix}, score
    return best


def select(items: list[Item], config: RouteConfig, model: Optional[PerformanceModel] = None) -> set[str]:
    if config.budget <= 0:
        return set()
    if config.policy == "uncertainty":
        return select_uncertain(items, config)
    if model is None:
        raise PrefmillError(f"route.policy {config.policy} needs a fitted model")
    return select_gain(items, config, model) if config.policy == "hyper_gain" else select_mix(items, config, model)


def pair_cost(features: dict, config: RouteConfig) -> float:
    total_words = features["prompt_len"] + features["chosen_len"] + features["rejected_len"]
    return config.cost_per_pair + config.cost_per_1k_words * total_words / 1000
