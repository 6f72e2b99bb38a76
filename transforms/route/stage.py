"""RoutePairs: a human or AI decision for every pair, under the budget, in three steps.

1. Score every pair in parallel (features, tags, uncertainty score, cost). Each pair gets its routing
   (score, policy) with the decision still `ai`, and the pairs stream on to be written as staged parts.
2. Only the small items (id, score, cost, bins) of pairs humans may label are combined, and the human
   set is chosen once, exactly. For the uncertainty policy under a count budget the combiner keeps just
   the top `budget` items, so its memory does not grow with the dataset.
3. `ApplyRouting` rewrites each staged part once the human set is known: column-wise in Arrow, setting
   `routing.decision` to human for the chosen ids.
Why on disk: the decision for any pair depends on all pairs, so the pairs must wait somewhere until the
set is chosen; waiting in the runner would hold the whole dataset in memory, waiting as Parquet costs one
extra columnar read and write.
"""

from __future__ import annotations

import heapq
from typing import Optional

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import AsDict, AsSingleton, TaggedOutput

from prefmill.schemas import PreferencePair, Routing
from prefmill.transforms.base import DEAD_LETTERS, MAIN, Stage, count
from prefmill.transforms.write import file_size
from prefmill.transforms.route.features import bin_keys, pair_features
from prefmill.transforms.route.budget import Item, pair_cost
from prefmill.transforms.route.hyper import PerformanceModel
from prefmill.transforms.route.policy import RouteConfig, select, uncertainty_score
from prefmill.transforms.route.tagger import TagPrompts

ITEMS = "items"


def score_pair(pair: PreferencePair, config: RouteConfig,
               llm_tags: Optional[dict] = None) -> tuple[PreferencePair, Item]:
    """The pair with its routing score and policy (decision `ai` until the human set is chosen), and its item."""
    features = pair_features(pair, (llm_tags or {}).get(pair.prompt_id))
    eligible = config.route_verified or not features["verifier_decided"]
    score = uncertainty_score(features, config.weights)
    bins = tuple(bin_keys(features)) if config.policy != "uncertainty" else ()
    first = pair.annotation is not None and pair.annotation.action == "human_first"
    item = Item(pair_id=pair.id, score=score, cost=pair_cost(features, config), bins=bins, eligible=eligible,
                first=first)
    routing = Routing(decision="ai", score=round(score, 6), policy=config.policy if eligible else "verifier")
    return pair.model_copy(update={"routing": routing}), item


class ScorePairs(Stage):
    name = "route"

    def __init__(self, config: RouteConfig, run_id: str = "") -> None:
        super().__init__(run_id)
        self.config = config
        self._tags: Optional[dict] = None

    def process(self, element, llm_tags=None):
        self._tags = llm_tags
        yield from super().process(element)

    def handle(self, pair: PreferencePair):
        scored, item = score_pair(pair, self.config, self._tags)
        if item.eligible and self.config.budget > 0:
            yield TaggedOutput(ITEMS, item)
        yield scored


def _priority(item: Item) -> tuple:
    return not (item.first and item.eligible), -item.score, item.pair_id  # flips first, as `select` takes them


class ChooseHumans(beam.CombineFn):
    """Items -> the frozenset of pair ids humans label, exactly as `select` on all items would choose."""

    def __init__(self, config: RouteConfig, model: Optional[PerformanceModel]) -> None:
        self.config = config
        self.model = model
        # uncertainty + count: the chosen set is the top floor(budget) items by priority, so keep only those
        self.keep = int(config.budget + 1e-9) if config.policy == "uncertainty" and config.budget_unit == "count" else None
        self.slack = 1024  # trim only once the list outgrows the kept set by this much (amortised cost)

    def _trim(self, items: list[Item]) -> list[Item]:
        if self.keep is not None and len(items) > 2 * self.keep + self.slack:
            return heapq.nsmallest(self.keep, items, key=_priority)
        return items

    def create_accumulator(self) -> list[Item]:
        return []

    def add_input(self, accumulator: list[Item], item: Item) -> list[Item]:
        accumulator.append(item)
        return self._trim(accumulator)

    def merge_accumulators(self, accumulators) -> list[Item]:
        merged: list[Item] = []
        for accumulator in accumulators:
            merged = self._trim(merged + accumulator)
        return merged

    def extract_output(self, accumulator: list[Item]) -> frozenset:
        return frozenset(select(accumulator, self.config, self.model))


class ApplyRouting(beam.DoFn):
    """A staged part -> the final part, with `routing.decision` = human for the chosen ids."""

    def __init__(self, staging_uri: str, table_uri: str) -> None:
        self.staging_uri = staging_uri.rstrip("/")
        self.table_uri = table_uri.rstrip("/")
        self._chosen = None  # (the side input, its ids as an Arrow array): built once, not per part

    def process(self, part: dict, human: frozenset):
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        with FileSystems.open(f"{self.staging_uri}/{part['path']}") as handle:
            table = pq.read_table(handle)
        routing = table.column("routing").combine_chunks()
        if self._chosen is None or self._chosen[0] is not human:
            self._chosen = (human, pa.array(sorted(human), pa.string()))
        is_human = pc.is_in(table.column("id"), value_set=self._chosen[1]).combine_chunks()
        decision = pc.if_else(is_human, "human", "ai")
        fields = [routing.type.field(i).name for i in range(routing.type.num_fields)]
        columns = [decision if name == "decision" else routing.field(name) for name in fields]
        new_routing = pa.StructArray.from_arrays(columns, fields=list(routing.type), mask=routing.is_null())
        table = table.set_column(table.schema.get_field_index("routing"), table.schema.field("routing"), new_routing)
        humans = pc.sum(is_human).as_py() or 0
        kept_by_verifier = pc.sum(pc.equal(routing.field("policy"), "verifier")).as_py() or 0
        count("route", "routed_human", humans)
        count("route", "routed_ai", table.num_rows - humans)
        count("route", "routed_verifier_kept_ai", kept_by_verifier)
        # the final name follows the staged one, so a retried bundle overwrites rather than duplicates
        path = f"{self.table_uri}/{part['path']}"
        with FileSystems.create(path) as handle:
            pq.write_table(table, handle, compression="zstd")
        yield {**part, "bytes": file_size(path)}


class RoutePairs(beam.PTransform):
    """Pairs -> {"pairs": scored pairs to stage, "human": the chosen id set (singleton), dead_letters}."""

    def __init__(self, config: RouteConfig, model: Optional[PerformanceModel], run_id: str = "",
                 cache_path: Optional[str] = None) -> None:
        super().__init__()
        self.config = config
        self.model = model
        self.run_id = run_id
        self.cache_path = cache_path

    def expand(self, pairs):
        side = {}
        if self.config.tagger is not None:
            # LLM tags are per prompt and reach the scorer as a side input: this path holds the pairs in the
            # runner until the tags are done (an LLM stage; the CPU path above streams)
            side["llm_tags"] = AsDict(pairs | "TagPrompts" >> TagPrompts(self.config.tagger, self.cache_path))
        scored = pairs | "ScorePairs" >> beam.ParDo(ScorePairs(self.config, self.run_id), **side).with_outputs(
            ITEMS, DEAD_LETTERS, main=MAIN)
        human = scored[ITEMS] | "ChooseHumans" >> beam.CombineGlobally(ChooseHumans(self.config, self.model))
        return {"pairs": scored[MAIN], "human": human, DEAD_LETTERS: scored[DEAD_LETTERS]}


def route_staged_parts(parts, staging_uri: str, table_uri: str, human):
    """Apply the chosen human set to staged parts; returns the final parts for the manifest."""
    return parts | "ApplyRouting" >> beam.ParDo(ApplyRouting(staging_uri, table_uri), human=AsSingleton(human))
