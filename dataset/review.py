"""The human review loop: export human-routed pairs as annotation tasks, import the answers as a new version.

Export writes each tool's import format: Label Studio (tasks JSON + a labeling config) or Argilla (records
+ dataset settings). The two responses appear in a random order per pair (seeded by the pair id), so
annotators cannot learn which side the AI preferred; the AI rationale is shown only if asked. Every text is
HTML-escaped and the tools are configured to render it (HyperText, markdown), so a response containing
markup or a script shows as text and runs nothing.

Which response is which is kept by prefmill, not in the tasks: `record_export` stores, in the dataset, the
candidate and text hash behind each shown response of every pair sent (`review_import.py` checks answers
against it). Pairs a person already reviewed are not sent again.
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


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def task_of(pair: PreferencePair, show_rationale: bool, seed: int = 0, tool: str = "label-studio") -> dict[str, Any]:
    """One annotation task: escaped texts, the responses in a seeded random order. Which side is which is
    in `key_of`, kept by prefmill, never in what annotators see."""
    first, second = _ordered(pair, seed)
    task = {"pair_id": pair.id, "prompt": _render(_prompt_text(pair), tool),
            "response_1": _render(first[1][-1].content, tool), "response_2": _render(second[1][-1].content, tool)}
    if show_rationale and pair.rationale:
        task["ai_rationale"] = _render(pair.rationale, tool)
    return task


def _ordered(pair: PreferencePair, seed: int):
    flipped = random.Random(stable_id(seed, pair.id, "review-order")).random() < 0.5
    chosen = (pair.chosen_candidate_id, pair.chosen)
    rejected = (pair.rejected_candidate_id, pair.rejected)
    return (rejected, chosen) if flipped else (chosen, rejected)


def key_of(pair: PreferencePair, seed: int = 0) -> dict[str, Any]:
    """What was sent, as absolutes: which candidate each shown response is, and its text's hash."""
    first, second = _ordered(pair, seed)
    return {"response_1": {"candidate": first[0], "sha": text_hash(first[1][-1].content)},
            "response_2": {"candidate": second[0], "sha": text_hash(second[1][-1].content)}}


def argilla_settings(fields: list[str]) -> dict[str, Any]:
    """The dataset settings in the form Argilla's SDK writes and loads (`Settings.to_json` / `from_json`):
    each field, question and metadata property carries its type and options under `settings`."""
    titles = {"prompt": "Prompt", "response_1": "Response 1", "response_2": "Response 2",
              "ai_rationale": "AI rationale"}
    return {
        "guidelines": "Pick the response that answers the prompt better, or tie.",
        "fields": [{"name": f, "title": titles[f], "required": f != "ai_rationale",
                    "settings": {"type": "text", "use_markdown": True}} for f in fields],
        "questions": [{"name": "preference", "title": "Which response answers the prompt better?",
                       "required": True,
                       "settings": {"type": "label_selection", "visible_options": len(CHOICES),
                                    "options": [{"value": c, "text": c.replace("_", " ").capitalize(),
                                                 "description": None} for c in CHOICES]}}],
        # pair_id is how answers find their pair again; annotators have no use for it.
        "metadata": [{"name": "pair_id", "title": "pair_id", "visible_for_annotators": False,
                      "settings": {"type": "terms", "values": None}}],
        "vectors": [],
        "allow_extra_metadata": False,
    }


def export_tasks(pairs: list[PreferencePair], tool: str, out_dir: str, *, show_rationale: bool = False,
                 seed: int = 0) -> list[str]:
    """Write the human-routed pairs as `tool` tasks into `out_dir`; returns the files written."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise DatasetError(f"--out {out_dir} is a file; give a folder for the tasks")
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
                        "metadata": {"pair_id": t["pair_id"]}} for t in tasks],
                      handle, ensure_ascii=False, indent=1)
        settings = argilla_settings(fields)
        with open(settings_path, "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=1)
        return [records_path, settings_path]
    raise DatasetError(f"unknown review tool {tool!r}; use argilla or label-studio")


def pairs_table(pairs: list[PreferencePair]) -> pa.Table:
    return to_table(pairs, PreferencePair)


def pairs_from_table(table: pa.Table) -> list[PreferencePair]:
    return [from_row(PreferencePair, row) for row in table.to_pylist()]


def human_routed(pairs: list[PreferencePair]) -> list[PreferencePair]:
    return [p for p in pairs if p.routing is not None and p.routing.decision == "human"]


def load_pairs(uri: str, version: Optional[int] = None) -> tuple[list[PreferencePair], Any]:
    from prefmill.dataset import DatasetPaths, version_info
    from prefmill.dataset.delta import open_table

    table_uri = DatasetPaths.of(uri).table("pairs")
    table = open_table(table_uri, version)
    if table is None:
        raise DatasetError(f"no prefmill dataset at {uri}")
    return pairs_from_table(table.to_pyarrow_table()), version_info(table_uri, version)


def record_export(uri: str, version: int, pairs: list[PreferencePair], seed: int = 0) -> str:
    """Store what an export sent (per pair: the candidate and text hash behind response 1 and 2)."""
    from apache_beam.io.filesystems import FileSystems

    from prefmill.dataset.atomic import write_json
    from prefmill.dataset import DatasetPaths

    export_id = stable_id("review-export", version, *sorted(p.id for p in pairs))[:16]
    path = DatasetPaths.of(uri).join("_prefmill", "reviews", f"export-{export_id}.json")
    if not FileSystems.exists(path):
        write_json(path, {"export_id": export_id, "version": version,
                          "pairs": {p.id: key_of(p, seed) for p in pairs}})
    return export_id


def not_yet_reviewed(pairs: list[PreferencePair]) -> list[PreferencePair]:
    return [p for p in pairs if p.label_source != "human"]
