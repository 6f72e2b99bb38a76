"""The registry's line for one export format (export.py); a plugin imports it from here, not from export.py,
which loads plugins when it is imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class ExportFormat:
    """One trainer format: the SQL select list over `pairs` (given the `--keys` renames), whether its
    messages are conversational (RISE step pairs are left out unless --include-steps), and the rows it
    takes (a SQL condition, or None for all)."""

    name: str
    select: Callable[[dict[str, str]], str]
    conversational: bool
    only: Optional[str] = None
    description: str = ""
    # rows built from the selected ones, when a format writes other rows than one per pair (reward-augmented)
    rows: Optional[Callable[[list[dict]], list[dict]]] = None
