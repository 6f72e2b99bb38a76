"""The human review loop: export human-routed pairs as annotation tasks, import the answers as a new version.

Export writes each tool's import format: Label Studio (tasks JSON + a labeling config) or Argilla (records
+ dataset settings). The two responses appear in a random order per pair (seeded by the pair id), so
annotators cannot learn which side the AI preferred; the AI rationale is shown only if asked. Every text is
HTML-escaped and the tools are configured to render it (HyperText, markdown), so a response containing
markup or a script shows as text and runs nothing.

Import reads the tool's export, maps "response 1/2" back to chosen/rejected, swaps pairs where the human
preferred the other side, drops ties (or keeps them), marks the pairs `label_source = human`, and commits
the result as one new dataset version with human-vs-AI agreement in the commit metadata. The commit's
transaction id is the hash of the imported file, so importing the same file again changes nothing.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import random
from typing import Any, Optional

import pyarrow as pa

from prefmill.schemas import DatasetError, PreferencePair, from_row, stable_id, to_table

CHOICES = ("response_1", "response_2", "tie")
LABEL_STUDIO_CONFIG = """<View>
  <Header value="Which response answers the prompt better?"/>
  <HyperText name="prompt" value="$prompt"/>
  <HyperText name="response_1" value="$response_1"/>
  <HyperText name="response_2" value="$response_2"/>
  {rationale}<Choices name="preference" toName="prompt" choice="single" showInline="true" required="true">
    <Choice value="response_1"/>
    <Choice value="response_2"/>
    <Choice value="tie"/>
  </Choices>
</View>
"""


def _render(text: str, tool: str = "label-studio") -> str:
    """Escaped text: Label Studio's HyperText shows it in a <pre>; Argilla's markdown shows the entities as text."""
    escaped = html.escape(text, quote=True)
    return f"<pre style='white-space:pre-wrap'>{escaped}</pre>" if tool == "label-studio" else escaped


def _prompt_text(pair: PreferencePair) -> str:
    return "\n\n".join(f"[{m.role}] {m.content}" for m in pair.prompt)


def task_of(pair: PreferencePair, show_rationale: bool, seed: int = 0, tool: str = "label-studio") -> dict[str, Any]:
    """One annotation task: escaped texts, responses in a seeded random order, and the key to map back."""
    flipped = random.Random(stable_id(seed, pair.id, "review-order")).random() < 0.5
    first, second = (pair.rejected, pair.chosen) if flipped else (pair.chosen, pair.rejected)
    task = {"pair_id": pair.id, "prompt": _render(_prompt_text(pair), tool),
            "response_1": _render(first[-1].content, tool), "response_2": _render(second[-1].content, tool),
            "response_1_is": "rejected" if flipped else "chosen"}
    if show_rationale and pair.rationale:
        task["ai_rationale"] = _render(pair.rationale, tool)
    return task


def export_tasks(pairs: list[PreferencePair], tool: str, out_dir: str, *, show_rationale: bool = False,
                 seed: int = 0) -> list[str]:
    """Write the human-routed pairs as `tool` tasks into `out_dir`; returns the files written."""
    os.makedirs(out_dir, exist_ok=True)
    tasks = [task_of(p, show_rationale, seed, tool) for p in pairs]
    if tool == "label-studio":
        tasks_path, config_path = os.path.join(out_dir, "tasks.json"), os.path.join(out_dir, "label_config.xml")
        with open(tasks_path, "w", encoding="utf-8") as handle:
            json.dump([{"data": t} for t in tasks], handle, ensure_ascii=False, indent=1)
        rationale = '<HyperText name="ai_rationale" value="$ai_rationale"/>\n  ' if show_rationale else ""
        with open(config_path, "w", encoding="utf-8") as handle:
            handle.write(LABEL_STUDIO_CONFIG.format(rationale=rationale))
        return [tasks_path, config_path]
    if tool == "argilla":
        records_path, settings_path = os.path.join(out_dir, "records.json"), os.path.join(out_dir, "settings.json")
        fields = ["prompt", "response_1", "response_2"] + (["ai_rationale"] if show_rationale else [])
        with open(records_path, "w", encoding="utf-8") as handle:
            json.dump([{"id": t["pair_id"], "fields": {f: t[f] for f in fields if f in t},
                        "metadata": {"pair_id": t["pair_id"], "response_1_is": t["response_1_is"]}} for t in tasks],
                      handle, ensure_ascii=False, indent=1)
        settings = {
            "guidelines": "Pick the response that answers the prompt better, or tie.",
            "fields": [{"name": f, "type": "text", "use_markdown": True, "required": f != "ai_rationale"}
                       for f in fields],
            "questions": [{"name": "preference", "type": "label_selection", "labels": list(CHOICES),
                           "required": True}],
            "metadata": [{"name": "pair_id", "type": "terms"}, {"name": "response_1_is", "type": "terms"}],
        }
        with open(settings_path, "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=1)
        return [records_path, settings_path]
    raise DatasetError(f"unknown review tool {tool!r}; use argilla or label-studio")


def read_answers(path: str) -> dict[str, tuple[str, str]]:
    """{pair_id: (choice, response_1_is)} from a Label Studio or Argilla export; unanswered tasks are skipped."""
    with open(path, encoding="utf-8") as handle:
        try:
            items = json.load(handle)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path} is not a JSON export: {exc}") from None
    if isinstance(items, dict):
        items = items.get("records") or items.get("tasks") or []
    answers = {}
    for item in items:
        if "data" in item:  # Label Studio: {"data": {...}, "annotations": [{"result": [...]}]}
            data = item["data"]
            choices = [r["value"]["choices"][0] for a in item.get("annotations", []) if not a.get("was_cancelled")
                       for r in a.get("result", []) if r.get("from_name") == "preference"]
            if choices:
                answers[data["pair_id"]] = (choices[-1], data["response_1_is"])
        else:  # Argilla: {"id", "metadata", "responses": {"preference": [{"value": ...}]}}
            meta = item.get("metadata", {})
            values = [r["value"] for r in (item.get("responses") or {}).get("preference", []) if "value" in r]
            if values:
                answers[meta["pair_id"]] = (values[-1], meta["response_1_is"])
    for pair_id, (choice, _) in answers.items():
        if choice not in CHOICES:
            raise DatasetError(f"pair {pair_id}: unknown choice {choice!r}; expected one of {CHOICES}")
    return answers


def apply_answers(pairs: list[PreferencePair], answers: dict[str, tuple[str, str]], *,
                  keep_ties: bool = False) -> tuple[list[PreferencePair], dict[str, Any]]:
    """Pairs with human labels applied, and agreement statistics (human vs the AI label)."""
    out, stats = [], {"annotated": 0, "agree": 0, "swapped": 0, "ties": 0, "ties_dropped": 0}
    for pair in pairs:
        if pair.id not in answers:
            out.append(pair)
            continue
        choice, first_is = answers[pair.id]
        stats["annotated"] += 1
        if choice == "tie":
            stats["ties"] += 1
            if not keep_ties:
                stats["ties_dropped"] += 1
                continue
            out.append(pair.model_copy(update={"label_source": "human", "strength": 0, "margin": 0.0}))
            continue
        human_prefers = ("chosen" if choice == "response_1" else "rejected") if first_is == "chosen" else (
            "rejected" if choice == "response_1" else "chosen")
        if human_prefers == "chosen":
            stats["agree"] += 1
            out.append(pair.model_copy(update={"label_source": "human"}))
        else:
            stats["swapped"] += 1
            out.append(pair.model_copy(update={
                "label_source": "human", "chosen": pair.rejected, "rejected": pair.chosen,
                "chosen_model": pair.rejected_model, "rejected_model": pair.chosen_model,
                "chosen_score": pair.rejected_score, "rejected_score": pair.chosen_score,
                "chosen_candidate_id": pair.rejected_candidate_id, "rejected_candidate_id": pair.chosen_candidate_id,
                "margin": None if pair.margin is None else abs(pair.margin), "strength": pair.strength,
                "rationale": "A human annotator preferred this response over the AI's choice.",
            }))
    decided = stats["agree"] + stats["swapped"]
    stats["agreement"] = stats["agree"] / decided if decided else None
    return out, stats


def file_digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:24]


def pairs_table(pairs: list[PreferencePair]) -> pa.Table:
    return to_table(pairs, PreferencePair)


def pairs_from_table(table: pa.Table) -> list[PreferencePair]:
    return [from_row(PreferencePair, row) for row in table.to_pylist()]


def human_routed(pairs: list[PreferencePair]) -> list[PreferencePair]:
    return [p for p in pairs if p.routing is not None and p.routing.decision == "human"]


def describe(stats: dict[str, Any], version: Optional[int]) -> str:
    agreement = "n/a" if stats["agreement"] is None else f"{stats['agreement']:.0%}"
    return (f"imported {stats['annotated']} answers: {stats['agree']} agree with the AI label, {stats['swapped']} "
            f"swapped, {stats['ties']} ties ({stats['ties_dropped']} dropped); human-AI agreement {agreement}; "
            f"dataset version {version}")


def load_pairs(uri: str, version: Optional[int] = None) -> tuple[list[PreferencePair], Any]:
    from prefmill.transforms.dataset import DatasetPaths, version_info
    from prefmill.transforms.dataset.delta import open_table

    table_uri = DatasetPaths.of(uri).table("pairs")
    table = open_table(table_uri, version)
    if table is None:
        raise DatasetError(f"no prefmill dataset at {uri}")
    return pairs_from_table(table.to_pyarrow_table()), version_info(table_uri, version)


def import_answers(uri: str, path: str, *, keep_ties: bool = False) -> tuple[dict[str, Any], int, bool]:
    """Apply an annotation export to the latest version and commit the result; returns (stats, version, new)."""
    import io

    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems

    from prefmill.schemas import SCHEMA_VERSION
    from prefmill.transforms.dataset import DatasetPaths, commit_run_files

    from prefmill.transforms.dataset.delta import committed_version

    review_id = f"review-{file_digest(path)}"
    table_uri = DatasetPaths.of(uri).table("pairs")
    done = committed_version(table_uri, review_id)
    if done is not None:
        return {}, done, False  # this very file was imported before: nothing to do
    answers = read_answers(path)
    pairs, info = load_pairs(uri)
    unknown = sorted(set(answers) - {p.id for p in pairs})
    if unknown:
        raise DatasetError(f"{len(unknown)} answered pair(s) are not in the latest version, e.g. {unknown[0]}")
    updated, stats = apply_answers(pairs, answers, keep_ties=keep_ties)
    table = pairs_table(updated)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    relative = f"{review_id}/part-0.parquet"
    with FileSystems.create(f"{table_uri}/{relative}") as handle:
        handle.write(buffer.getvalue())
    files = [{"path": relative, "rows": table.num_rows, "bytes": len(buffer.getvalue()), "mtime_ms": 0}]
    metadata = {**{k: v for k, v in info.metadata.items() if k in ("config_hash", "name", "dead_letters_version")},
                "schema_version": SCHEMA_VERSION, "rows": table.num_rows, "review": stats,
                "review_of_version": info.version, "review_file": os.path.basename(path)}
    version, new = commit_run_files(table_uri, files, PreferencePair, run_id=review_id, metadata=metadata)
    return stats, version, new
