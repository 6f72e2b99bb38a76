"""RoutePairs: a human or AI decision for every pair, under the budget, in three steps.

1. Score every pair in parallel (features, tags, uncertainty score, cost).
2. Collect only the small items (id, score, cost, bins) and choose the human set once, exactly.
3. Assign each pair its `routing` (decision, score, policy) from that set, given as a side input.
"""

from __future__ import annotations

from typing import Optional

import apache_beam as beam
from apache_beam.pvalue import AsDict, AsSingleton

from prefmill.schemas import PreferencePair, Routing
from prefmill.transforms.base import DEAD_LETTERS, MAIN, Stage
from prefmill.transforms.route.features import bin_keys, pair_features
from prefmill.transforms.route.tagger import TagPrompts
from prefmill.transforms.route.policy import Item, PerformanceModel, RouteConfig, pair_cost, select, uncertainty_score


def score_pair(pair: PreferencePair, config: RouteConfig,
               llm_tags: Optional[dict] = None) -> tuple[PreferencePair, Item]:
    features = pair_features(pair, (llm_tags or {}).get(pair.prompt_id))
    eligible = config.route_verified or not features["verifier_decided"]
    item = Item(pair_id=pair.id, score=uncertainty_score(features, config.weights), cost=pair_cost(features, config),
                bins=tuple(bin_keys(features)), eligible=eligible)
    return pair, item


class AssignRouting(Stage):
    name = "route"

    def __init__(self, config: RouteConfig, run_id: str = "") -> None:
        super().__init__(run_id)
        self.config = config
        self._human: frozenset = frozenset()

    def record_id(self, element) -> str:
        return element[0].id

    def process(self, element, human):
        self._human = human
        yield from super().process(element)

    def handle(self, element):
        pair, item = element
        decision = "human" if item.pair_id in self._human else "ai"
        self.counter(f"routed_{decision}").inc()
        if decision == "ai" and not item.eligible:
            self.counter("routed_verifier_kept_ai").inc()
        policy = self.config.policy if item.eligible else "verifier"
        yield pair.model_copy(update={"routing": Routing(decision=decision, score=round(item.score, 6), policy=policy)})


class RoutePairs(beam.PTransform):
    def __init__(self, config: RouteConfig, model: Optional[PerformanceModel], run_id: str = "",
                 cache_path: Optional[str] = None) -> None:
        super().__init__()
        self.config = config
        self.model = model
        self.run_id = run_id
        self.cache_path = cache_path

    def expand(self, pairs):
        config, model = self.config, self.model
        if config.tagger is not None:
            tags = pairs | "TagPrompts" >> TagPrompts(config.tagger, self.cache_path)
            scored = pairs | "ScorePairs" >> beam.Map(score_pair, config, llm_tags=AsDict(tags))
        else:
            scored = pairs | "ScorePairs" >> beam.Map(score_pair, config)
        human = (
            scored
            | "Items" >> beam.Map(lambda pair_item: pair_item[1])
            | "AllItems" >> beam.combiners.ToList()
            | "ChooseHumans" >> beam.Map(lambda items: frozenset(select(items, config, model)))
        )
        return scored | "AssignRouting" >> beam.ParDo(
            AssignRouting(config, self.run_id), human=AsSingleton(human)).with_outputs(DEAD_LETTERS, main=MAIN)
