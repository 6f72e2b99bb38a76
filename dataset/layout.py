"""Where a dataset keeps its tables and run records, for a local path or a bucket URI.

    <uri>/pairs/                      Delta table: one row per preference pair
    <uri>/dead_letters/               Delta table: records a stage could not process, with the reason
    <uri>/_prefmill/runs/<run_id>/    per-run files: part manifests, commit plan, summary, staged parts
Parquet parts of a run are written under `<table>/<run_id>/` and become visible only when the launcher
commits them; parts of a failed or killed run stay invisible to every reader.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from prefmill.schemas.uri import is_remote

__all__ = ["DEAD_LETTERS", "PAIRS", "TABLES", "DatasetPaths", "is_remote"]

PAIRS = "pairs"
DEAD_LETTERS = "dead_letters"
TABLES = (PAIRS, DEAD_LETTERS)


@dataclass(frozen=True)
class DatasetPaths:
    uri: str

    @classmethod
    def of(cls, uri: str) -> "DatasetPaths":
        if uri.startswith("file://"):
            uri = uri[len("file://"):]
        if not is_remote(uri):
            uri = os.path.abspath(uri)
        return cls(uri.rstrip("/"))

    def join(self, *parts: str) -> str:
        return posixpath.join(self.uri, *parts) if is_remote(self.uri) else os.path.join(self.uri, *parts)

    def table(self, name: str) -> str:
        return self.join(name)

    def run_dir(self, run_id: str) -> str:
        return self.join("_prefmill", "runs", run_id)

    def runs_root(self) -> str:
        return self.join("_prefmill", "runs")

    def staging(self, run_id: str, table: str) -> str:
        """Parts a run writes before their final form (routing waits here for the human set)."""
        return self.join("_prefmill", "runs", run_id, "staged", table)

    def manifest(self, run_id: str, table: str) -> str:
        return self.join("_prefmill", "runs", run_id, f"parts-{table}.jsonl")
