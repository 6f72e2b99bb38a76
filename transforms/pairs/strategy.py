"""The registry's line for one pair strategy (registry.py); a plugin imports it from here, not from the
registry, which loads plugins when it is imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class PairStrategy:
    name: str
    build: Callable[..., tuple[list, str]]   # (pc, PairsConfig, pairs made so far, context) -> (pairs, reason)
    idle: Callable[[Any], list[str]]          # (the whole run config) -> what would make it produce nothing
    method: str                               # the paper, for the README and the dataset card
