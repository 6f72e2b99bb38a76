"""Routing policies: which pairs get a human label, under a budget.

- `uncertainty`: a transparent weighted score of the label signals (position-inconsistent judgments, judge
  disagreement, a small margin, near-identical responses); the highest scores go to humans.
- `hyper_gain` / `hyper_mix`: HyPER's performance prediction model (hyper.py).
Verifier-decided pairs never go to humans unless `route_verified`. Budgets are a count or a cost; the
choice is exact and deterministic for a seed (ties broken by pair id).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from prefmill.schemas import PrefmillError
from prefmill.transforms.llm.registry import ModelSpec
from prefmill.transforms.route.budget import Item, by_priority, fits, pair_cost
from prefmill.transforms.route.features import normalized_margin
from prefmill.transforms.route.hyper import PerformanceModel, select_gain, select_mix

__all__ = ["DEFAULT_WEIGHTS", "Item", "PerformanceModel", "RouteConfig", "pair_cost", "select", "select_uncertain",
           "uncertainty_score"]

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


def select_uncertain(items: list[Item], config: RouteConfig) -> set[str]:
    chosen, spent = set(), 0.0
    for item in by_priority([it for it in items if it.eligible]):
        if fits(spent, item.cost, config):
            chosen.add(item.pair_id)
            spent += 1 if config.budget_unit == "count" else item.cost
    return chosen


def select(items: list[Item], config: RouteConfig, model: Optional[PerformanceModel] = None) -> set[str]:
    """The pairs for humans: suspected label flips sent there first (highest priority first, within the
    budget; verifier-decided ones only with `route_verified`), then the policy's choice among the rest with
    the budget left."""
    if config.budget <= 0:
        return set()
    chosen, spent = set(), 0.0
    for item in by_priority([it for it in items if it.first and it.eligible]):
        if fits(spent, item.cost, config):
            chosen.add(item.pair_id)
            spent += 1 if config.budget_unit == "count" else item.cost
    rest = [it for it in items if not (it.first and it.eligible)]
    if spent:
        config = config.model_copy(update={"budget": config.budget - spent})
        if config.budget <= 0:
            return chosen
    if config.policy == "uncertainty":
        return chosen | select_uncertain(rest, config)
    if model is None:
        raise PrefmillError(f"route.policy {config.policy} needs a fitted model")
    picked = select_gain(rest, config, model) if config.policy == "hyper_gain" else select_mix(rest, config, model)
    return chosen | picked
