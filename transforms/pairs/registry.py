"""The pair strategies, one registry line each: the method's module builds its pairs from a prompt's
candidates, and says which run settings it needs (checked when the config is validated, so a strategy
that would silently make nothing is refused with its fix).

Lines run in this order for each prompt: a later strategy sees the pairs made before it (verified pairs
are capped by the number of RISE self-edit pairs, one sampled pair per self-edit pair).

Adding a strategy: one module with `build(pc, config, made, context) -> (pairs, reason_when_none)` and
`idle(run_config) -> [problems]`, and one line here. The README's "Extending prefmill" has an example.
"""

from __future__ import annotations

from typing import Any

from prefmill.schemas.plugins import add_plugins, load_plugins
from prefmill.transforms.pairs import delta_learning, density_ratio, incoming, judged, rise, verified
from prefmill.transforms.pairs.strategy import PairStrategy


STRATEGIES: dict[str, PairStrategy] = {s.name: s for s in (
    PairStrategy("self_edit", rise.build, rise.idle, "RISE, arXiv:2410.06638"),
    PairStrategy("verified", verified.build, verified.idle, "Tülu 3 verifiable rewards, arXiv:2411.15124"),
    PairStrategy("judged", judged.build, judged.idle, "UltraFeedback, arXiv:2310.01377"),
    PairStrategy("delta", delta_learning.build, delta_learning.idle, "Delta Learning, arXiv:2507.06187"),
    PairStrategy("density_ratio", density_ratio.build, density_ratio.idle, "CDR, arXiv:2411.02481"),
    PairStrategy("incoming", incoming.build, incoming.idle, "the input's own labels (TRL, HelpSteer2-Preference, "
                                                            "MultiPref)"),
)}

add_plugins(STRATEGIES, load_plugins("prefmill.pair_strategies"), "prefmill.pair_strategies")

# Reasons that say only "this strategy had nothing to judge by": another strategy's reason explains more.
WEAK_REASONS = {"unverified"}


def idle_problems(run: Any) -> list[str]:
    """Every selected strategy's complaint about the run config."""
    return [problem for name in run.pairs.strategies for problem in STRATEGIES[name].idle(run)]
