"""BuildPairs: each prompt's candidates -> chosen/rejected pairs, by the strategies the config selects.

Every random choice is seeded by (seed, prompt id), so a re-run of the same config picks the same pairs
whatever order the prompts arrive in. A prompt that yields no pair is dead-lettered with the most telling
reason its strategies gave (`unverified`, `no_passing_candidate`, `no_failing_candidate`, `below_min_gap`,
`identical_texts`, `unjudged`, `below_rating_margin`, `judges_split`; `no_pair` when none said why); a
pair over `max_length_ratio` is dead-lettered as `length_ratio`.
"""

from __future__ import annotations

from prefmill.schemas import PromptCandidates
from prefmill.transforms.base import Reject, Stage
from prefmill.transforms.pairs.common import length_ratio
from prefmill.transforms.pairs.config import PairsConfig
from prefmill.transforms.pairs.registry import STRATEGIES, WEAK_REASONS

OUTPUT_ORDER = ("verified", "self_edit", "judged", "delta")  # how a prompt's pairs are emitted


class BuildPairs(Stage):
    name = "pairs"

    def __init__(self, config: PairsConfig, run_id: str = "", config_hash: str = "") -> None:
        super().__init__(run_id)
        self.config = config
        self.config_hash = config_hash

    def record_id(self, element: PromptCandidates) -> str:
        return element.prompt.id

    def handle(self, pc: PromptCandidates):
        context = {"run_id": self.run_id, "config_hash": self.config_hash}
        pairs, reasons = [], []
        for name, strategy in STRATEGIES.items():
            if name in self.config.strategies:
                made, reason = strategy.build(pc, self.config, pairs, context)
                mislabelled = sorted({p.pair_source for p in made} - {name})
                if mislabelled:  # a strategy speaks only for itself (a plugin may not pass as `verified`)
                    raise ValueError(f"pair strategy {name!r} made pairs labelled {mislabelled}; its pairs must "
                                     f"carry pair_source {name!r}")
                pairs += made
                if not made and reason:
                    reasons.append(reason)
        rank = {source: i for i, source in enumerate(OUTPUT_ORDER)}
        pairs.sort(key=lambda p: rank.get(p.pair_source, len(rank)))  # stable: each strategy's own order kept
        if self.config.max_length_ratio is not None:
            for pair in [p for p in pairs if length_ratio(p) > self.config.max_length_ratio]:
                pairs.remove(pair)
                yield Reject("length_ratio", record_id=pair.id, payload=pair,
                             error=f"length ratio {length_ratio(pair):.2f} > {self.config.max_length_ratio}")
        if not pairs:
            telling = [r for r in reasons if r not in WEAK_REASONS] or reasons
            yield Reject(telling[0] if telling else "no_pair", error=f"no pair among {len(pc.candidates)} candidates")
            return
        yield from pairs
