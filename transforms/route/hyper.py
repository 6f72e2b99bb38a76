"""HyPER routing, from "Hybrid Preferences: Learning to Route Instances for Human vs. AI Feedback"
(arXiv:2410.19133): a performance prediction model says which mix of human-labelled instances helps most.

The rule: the model is quadratic in the counts of human-routed instances per tag bin (degree-2 polynomial
features and least squares), fitted from a table of past experiments (`prefmill route fit`). `hyper_gain`
adds instances greedily by predicted gain while the gain is positive; `hyper_mix` scores random mixes that
fill the budget and keeps the best. Both stay within the budget exactly and are deterministic for a seed.
"""

from __future__ import annotations

import itertools
import json
import random

from prefmill.schemas import PrefmillError
from prefmill.transforms.route.budget import Item, bin_counts, by_priority, fits


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


def select_gain(items: list[Item], config, model: PerformanceModel) -> set[str]:
    """Greedy per-instance gain: add the instance whose bins raise the predicted score most, while > 0."""
    pool = by_priority([it for it in items if it.eligible])
    chosen: list[Item] = []
    spent, counts = 0.0, {}
    base = model.predict(counts)
    while pool:
        best, best_gain = None, 0.0
        seen_bins = set()
        for item in pool:
            if item.bins in seen_bins or not fits(spent, item.cost, config):
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
        counts = bin_counts(chosen)
        base = model.predict(counts)
    return {it.pair_id for it in chosen}


def select_mix(items: list[Item], config, model: PerformanceModel) -> set[str]:
    """Score `mix_candidates` random mixes that fill the budget; keep the best (seeded)."""
    pool = sorted((it for it in items if it.eligible), key=lambda it: it.pair_id)
    rng = random.Random(config.seed)
    best, best_score = set(), model.predict({})
    for _ in range(config.mix_candidates):
        order = pool[:]
        rng.shuffle(order)
        mix, spent = [], 0.0
        for item in order:
            if fits(spent, item.cost, config):
                mix.append(item)
                spent += 1 if config.budget_unit == "count" else item.cost
        score = model.predict(bin_counts(mix))
        if score > best_score:
            best, best_score = {it.pair_id for it in mix}, score
    return best
