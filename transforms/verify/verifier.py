"""The registry's line for one verifier (registry.py); a plugin imports it from here, not from the registry,
which loads plugins when it is imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from prefmill.schemas import Reference, Verdict


@dataclass(frozen=True)
class Verifier:
    domain: str
    name: str                                   # Verdict.verifier
    reference: str                              # what it checks against, for messages
    has_reference: Callable[[Reference], bool]  # whether a prompt's reference holds it
    check: Callable[..., Verdict]               # (prompt, candidate, VerifyConfig) -> Verdict
