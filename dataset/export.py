"""Exports that trainers take as they are, with deterministic splits and a dataset card.

Formats (columns written):
- trl-dpo:    prompt, chosen, rejected (TRL's conversational preference format: message lists)
- trl-reward: prompt, chosen, rejected, margin (TRL RewardTrainer)
- step-dpo:   prompt, initial_reason_steps, chosen, rejected, error_type (from RISE step pairs)
- rdpo:       prompt, chosen, rejected, rationale
- openrlhf:   chosen and rejected as whole conversations (prompt + response), keys configurable
- jsonl, parquet: every column
Splits are by prompt id (a hash decides), so no prompt is on both sides of a split. Everything is read
through the read-only SQL session, so `--where` is plain SQL over the `pairs` table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from typing import Optional

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from prefmill.schemas import SCHEMA_VERSION, DatasetError
from prefmill.dataset.query import close_dataset, open_dataset
from prefmill.dataset import reward_augmented
from prefmill.dataset.export_format import ExportFormat
from prefmill.schemas.plugins import add_plugins, load_plugins

# A RISE step pair is stored as prompt = [user, assistant: the solution so far], chosen/rejected = [the next
# step]. In a conversational export that would be two assistant turns, which a chat template renders as a
# new turn after an end-of-turn token. With --include-steps the prefix moves into both responses instead:
# prompt = [user], chosen = [assistant: prefix + step]. The shared prefix tokens have the same log-probs on
# both sides, so they cancel in the DPO loss and the pair still contrasts the one step.
_IS_STEP = "(granularity = 'step' AND len(prompt) > 1 AND prompt[-1].role = 'assistant')"
P = f"CASE WHEN {_IS_STEP} THEN list_slice(prompt, 1, len(prompt) - 1) ELSE prompt END"
C = (f"CASE WHEN {_IS_STEP} THEN [{{'role': 'assistant', 'content': prompt[-1].content || chosen[1].content}}] "
     "ELSE chosen END")
R = (f"CASE WHEN {_IS_STEP} THEN [{{'role': 'assistant', 'content': prompt[-1].content || rejected[1].content}}] "
     "ELSE rejected END")


def _step_dpo(keys: dict[str, str]) -> str:
    # the question is the last user turn (a system turn may come first); the steps so far are the final
    # assistant turn, when there is one
    return ("list_filter(prompt, lambda m: m.role = 'user')[-1].content AS prompt, "
            "CASE WHEN prompt[-1].role = 'assistant' THEN prompt[-1].content ELSE '' END AS initial_reason_steps, "
            "chosen[1].content AS chosen, rejected[1].content AS rejected, error_edit.error_type AS error_type")


def _openrlhf(keys: dict[str, str]) -> str:
    return (f"{P} AS \"{keys.get('prompt', 'prompt')}\", list_concat({P}, {C}) AS \"{keys.get('chosen', 'chosen')}\", "
            f"list_concat({P}, {R}) AS \"{keys.get('rejected', 'rejected')}\"")


EXPORT_FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("trl-dpo", lambda k: f"{P} AS prompt, {C} AS chosen, {R} AS rejected", True,
                 description="TRL DPOTrainer, conversational"),
    ExportFormat("trl-reward", lambda k: f"{P} AS prompt, {C} AS chosen, {R} AS rejected, margin", True,
                 description="TRL RewardTrainer (margin column)"),
    ExportFormat("step-dpo", _step_dpo, False, "pair_source = 'self_edit' AND granularity = 'step'",
                 description="Step-DPO: question, steps so far, chosen and rejected step"),
    ExportFormat("rdpo", lambda k: f"{P} AS prompt, {C} AS chosen, {R} AS rejected, rationale", True,
                 description="rationale-aware DPO (RDPO)"),
    ExportFormat("openrlhf", _openrlhf, True, description="OpenRLHF, whole conversations"),
    ExportFormat("reward-augmented", reward_augmented.select, True, reward_augmented.ONLY,
                 "reward-augmented DPO: each pair twice, conditioned on each response's score",
                 rows=reward_augmented.rows),
    ExportFormat("jsonl", lambda k: "*", False, description="every column, JSON lines"),
    ExportFormat("parquet", lambda k: "*", False, description="every column, Parquet"),
)}
add_plugins(EXPORT_FORMATS, load_plugins("prefmill.export_formats"), "prefmill.export_formats")
FORMATS = tuple(EXPORT_FORMATS)


def split_of(prompt_id: str, splits: dict[str, float]) -> str:
    """The split a prompt belongs to: a stable hash of its id against the split fractions.

    >>> split_of("p-1", {"test": 0.0}), split_of("p-1", {"test": 1.0})
    ('train', 'test')
    """
    position = int(hashlib.sha256(prompt_id.encode()).hexdigest()[:12], 16) / 16 ** 12
    edge = 0.0
    for name, fraction in sorted(splits.items()):
        edge += fraction
        if position < edge:
            return name
    return "train"


def parse_splits(text: Optional[str]) -> dict[str, float]:
    """`test=0.05,validation=0.05` -> {"test": 0.05, "validation": 0.05}; train takes the rest."""
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise DatasetError(f"bad --split {part!r}; write name=fraction, e.g. test=0.05") from None
    if sum(out.values()) >= 1 or any(v <= 0 for v in out.values()) or "train" in out:
        raise DatasetError(f"--split fractions must be positive, name splits other than train, and sum below 1: {out}")
    return out


def _target(out: str, overwrite: bool) -> str:
    """A fresh folder beside `out` to write into; refuses a non-empty `out` unless overwriting."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise DatasetError(f"--out {out} is a file; give a folder")
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise DatasetError(f"--out {out} already holds files (e.g. {sorted(os.listdir(out))[0]}): an earlier "
                           "export's splits would mix with this one's. Pass --overwrite to replace the whole "
                           "folder, or choose an empty one")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise DatasetError(f"--out {out}: the folder {parent} does not exist")
    return tempfile.mkdtemp(prefix=os.path.basename(os.path.abspath(out)) + ".writing-", dir=parent)


def _swap_in(staging: str, out: str) -> None:
    """Replace `out` with the finished `staging` folder: readers see the old export or the new one whole."""
    old = None
    if os.path.exists(out):
        old = tempfile.mkdtemp(prefix=os.path.basename(os.path.abspath(out)) + ".old-",
                               dir=os.path.dirname(os.path.abspath(out)))
        os.rmdir(old)
        os.rename(out, old)
    os.rename(staging, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def export(uri: str, fmt: str, out: str, *, version: Optional[int] = None, where: Optional[str] = None,
           splits: Optional[dict[str, float]] = None, keys: Optional[dict[str, str]] = None,
           overwrite: bool = False, include_steps: bool = False) -> dict[str, int]:
    """Write the export and its dataset card into `out` (whole: written beside, then swapped in); returns
    rows per split. RISE step pairs (a solution prefix plus one step) are left out of conversational formats
    unless `include_steps`, which writes each as whole responses (prefix + step) after the user turn, the
    form a chat template continues correctly; they belong to `step-dpo`."""
    if fmt not in FORMATS:
        raise DatasetError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    staging = _target(out, overwrite)
    try:
        counts = _write_export(uri, fmt, staging, version, where, splits, keys, include_steps)
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def _write_export(uri, fmt, out, version, where, splits, keys, include_steps) -> dict[str, int]:
    con, version = open_dataset(uri, version)
    try:
        form = EXPORT_FORMATS[fmt]
        filters = [f"({where})"] if where else []
        if form.only:
            filters.append(form.only)
        elif form.conversational and not include_steps:
            filters.append("coalesce(granularity, 'solution') <> 'step'")
        sql = f"SELECT prompt_id AS __prompt_id, {form.select(keys or {})} FROM pairs"
        if filters:
            sql += " WHERE " + " AND ".join(filters)
        try:
            relation = con.sql(sql + " ORDER BY id")
            table = relation.to_arrow_table()
            del relation  # DuckDB keeps a relation's result open until it is gone
            if form.rows is not None:
                table = pa.Table.from_pylist(form.rows(table.to_pylist())) if table.num_rows else table.select(
                    ["__prompt_id"])
        except duckdb.Error as exc:
            raise DatasetError(f"export query failed: {exc}") from None
        stats = _stats(con, where)
    finally:
        close_dataset(con)
    names = [split_of(pid, splits or {}) for pid in table.column("__prompt_id").to_pylist()]
    table = table.drop(["__prompt_id"])
    counts = {}
    for split in ["train", *sorted(splits or {})]:
        part = table.filter(pa.array([n == split for n in names], type=pa.bool_()))
        counts[split] = part.num_rows
        if fmt == "jsonl":
            with open(os.path.join(out, f"{split}.jsonl"), "w", encoding="utf-8") as handle:
                for row in part.to_pylist():
                    handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        else:
            pq.write_table(part, os.path.join(out, f"{split}.parquet"))
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(card(uri, version, fmt, counts, stats, where))
    return counts


def _stats(con, where: Optional[str]) -> dict:
    clause = f" WHERE {where}" if where else ""
    def rows(sql):
        return con.execute(sql).fetchall()
    return {
        "sources": rows(f"SELECT pair_source, count(*) FROM pairs{clause} GROUP BY 1 ORDER BY 1"),
        "domains": rows(f"SELECT domain, count(*) FROM pairs{clause} GROUP BY 1 ORDER BY 1"),
        "labels": rows(f"SELECT label_source, count(*) FROM pairs{clause} GROUP BY 1 ORDER BY 1"),
        "models": rows(f"SELECT DISTINCT chosen_model FROM pairs{clause} UNION SELECT DISTINCT rejected_model "
                       f"FROM pairs{clause} ORDER BY 1"),
        "routing": rows(f"SELECT coalesce(routing.decision, 'none'), count(*) FROM pairs{clause} GROUP BY 1 ORDER BY 1"),
        "config": rows(f"SELECT DISTINCT config_hash FROM pairs{clause}"),
    }


def card(uri: str, version: int, fmt: str, counts: dict, stats: dict, where: Optional[str]) -> str:
    """The dataset card (README.md) written next to every export."""
    table = lambda pairs: "\n".join(f"| {k} | {v} |" for k, v in pairs)  # noqa: E731
    files = ", ".join(f"`{split}.{'jsonl' if fmt == 'jsonl' else 'parquet'}` ({n} rows)" for split, n in counts.items())
    return f"""---
configs:
- config_name: default
  data_files:
{chr(10).join(f"  - split: {s}{chr(10)}    path: {s}.{'jsonl' if fmt == 'jsonl' else 'parquet'}" for s in counts)}
---
# Preference dataset ({fmt})

Exported by prefmill from `{uri}`, version {version} (schema version {SCHEMA_VERSION}){f", filtered by `{where}`" if where else ""}.
Files: {files}. Splits are by prompt id: no prompt is in two splits.

Load it with `datasets.load_dataset("parquet", data_files={{"train": "train.parquet"}})`.

## Pair sources
| source | pairs |
| --- | --- |
{table(stats["sources"])}

## Domains
| domain | pairs |
| --- | --- |
{table(stats["domains"])}

## Labels and routing
| label source | pairs |
| --- | --- |
{table(stats["labels"])}

| routing decision | pairs |
| --- | --- |
{table(stats["routing"])}

## Models
{", ".join(m for (m,) in stats["models"])}

## Lineage
dataset `{uri}`, version {version}, config hash(es) {", ".join(c for (c,) in stats["config"])}.
Verifiers: math answer equivalence, sandboxed code tests, instruction constraints (see the prefmill README).
"""
