"""Import human review answers: absolute decisions, checked against what was sent, committed safely.

A person's answer ("response 2 is better") is turned into an absolute decision with the record prefmill
kept when it exported the task (`review.record_export`): *this* response text (its hash) is preferred.
Applying a decision puts that text on the chosen side, whatever the pair's orientation is now, so importing
the same answers again (or a later export that repeats them) changes nothing, and a label is never
inverted. Answers are refused, and counted per reason, never applied silently:

- `not_sent`: the pair was never exported for review from this dataset;
- `pair_missing`: the pair is not in the latest version any more;
- `texts_changed`: the pair's texts are not the ones the person saw;
- `conflicting`: the file answers the same pair in different ways;
- `tampered`: the file states an orientation (`response_1_is`) that contradicts prefmill's record;
- `unknown_choice`: not response_1, response_2 or tie.

The new version is committed against the version the import read: if any other commit landed in between,
the import stops with a conflict (exit 2, "re-run the import"), never overwriting someone else's work.
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from typing import Any, Callable, Optional

from prefmill.schemas import DatasetError, PreferencePair, stable_id
from prefmill.dataset.review import CHOICES, load_pairs, pairs_table, text_hash

MAX_REVIEW_FILE_BYTES = 256 << 20
REFUSALS = ("not_sent", "pair_missing", "texts_changed", "conflicting", "tampered", "unknown_choice")


def read_answers(path: str) -> list[dict[str, Any]]:
    """Every answer in a Label Studio or Argilla export: {pair_id, choice, response_1_is (if the file
    says)}; unanswered tasks are skipped. A file that is not such an export is a DatasetError naming why."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise DatasetError(f"cannot read the review file {path}: {exc.strerror}") from None
    if size > MAX_REVIEW_FILE_BYTES:
        raise DatasetError(f"{path} is {size / 2**20:.0f} MiB; a review export over "
                           f"{MAX_REVIEW_FILE_BYTES >> 20} MiB is not an annotation file (split it)")
    try:
        with open(path, encoding="utf-8") as handle:
            items = json.load(handle)
    except UnicodeDecodeError:
        raise DatasetError(f"{path} is not UTF-8 text: export the annotations as JSON") from None
    except OSError as exc:
        raise DatasetError(f"cannot read the review file {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DatasetError(f"{path} is not a JSON export: {str(exc)[:120]}") from None
    if isinstance(items, dict):
        items = items.get("records") or items.get("tasks")
    if not isinstance(items, list):
        raise DatasetError(f"{path}: expected a list of Label Studio tasks or Argilla records")
    answers = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or not ("data" in item or "metadata" in item or "responses" in item):
            raise DatasetError(f"{path}: item {number} is not a Label Studio task or an Argilla record")
        try:
            answers += _item_answers(item)
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise DatasetError(f"{path}: item {number} is not a Label Studio task or Argilla record "
                               f"(missing or malformed {exc})") from None
    return answers


def _item_answers(item: dict) -> list[dict[str, Any]]:
    """Every submitted answer of one task or record. All of them, not the last: two annotators who disagree
    on a pair make it `conflicting` (refused), never a silent pick."""
    if "data" in item:  # Label Studio: {"data": {...}, "annotations": [{"result": [...]}]}
        data = item["data"]
        choices = [r["value"]["choices"][0] for a in item.get("annotations") or [] if not a.get("was_cancelled")
                   for r in a.get("result") or [] if r.get("from_name") == "preference"]
        claimed = data.get("response_1_is")
        return [{"pair_id": str(data["pair_id"]), "choice": c, "response_1_is": claimed} for c in choices]
    # Argilla: {"id", "metadata", "status", "responses": {"preference": [{"value", "user_id"(, "status")}]}}.
    # `dataset.records.to_json` drops each response's status but keeps the record's: only a completed
    # record's answers count (a draft or discarded answer is not a label), and a response that says its
    # status must say submitted.
    if item.get("status", "completed") != "completed":
        return []
    meta = item.get("metadata") or {}
    values = [r["value"] for r in (item.get("responses") or {}).get("preference") or []
              if "value" in r and r.get("status", "submitted") == "submitted"]
    pair_id = meta["pair_id"] if "pair_id" in meta else item["id"]
    return [{"pair_id": str(pair_id), "choice": v, "response_1_is": meta.get("response_1_is")} for v in values]


def sent_records(uri: str) -> dict[str, dict]:
    """Per pair id, the latest record of what an export sent."""
    from apache_beam.io.filesystems import FileSystems

    from prefmill.dataset.atomic import UnreadablePlan, read_json
    from prefmill.dataset import DatasetPaths

    pattern = DatasetPaths.of(uri).join("_prefmill", "reviews", "export-*.json")
    records: list[dict] = []
    for match in FileSystems.match([pattern])[0].metadata_list:
        try:
            records.append(read_json(match.path))
        except (UnreadablePlan, OSError):
            continue
    sent: dict[str, dict] = {}
    for record in sorted(records, key=lambda r: r.get("version", 0)):
        sent.update(record.get("pairs", {}))
    return sent


def decide(answers: list[dict], sent: dict[str, dict], pairs: dict[str, PreferencePair]) -> tuple[dict, Counter]:
    """{pair_id: preferred text hash, or "tie"} for the answers that can be trusted, and refusals per reason."""
    refused: Counter = Counter()
    by_pair: dict[str, set] = {}
    for answer in answers:
        by_pair.setdefault(answer["pair_id"], set()).add(answer["choice"])
    decisions: dict[str, str] = {}
    seen: set[str] = set()
    for answer in answers:
        pair_id, choice = answer["pair_id"], answer["choice"]
        if pair_id in seen:
            continue  # the same answer twice is one answer; different answers are refused below, once
        seen.add(pair_id)
        reason = _refusal(pair_id, choice, answer.get("response_1_is"), by_pair, sent, pairs)
        if reason:
            refused[reason] += 1
            continue
        decisions[pair_id] = "tie" if choice == "tie" else sent[pair_id][choice]["sha"]
    return decisions, refused


def _refusal(pair_id, choice, claimed, by_pair, sent, pairs) -> Optional[str]:
    if choice not in CHOICES:
        return "unknown_choice"
    if len(by_pair[pair_id]) > 1:
        return "conflicting"
    record = sent.get(pair_id)
    if record is None:
        return "not_sent"
    pair = pairs.get(pair_id)
    if pair is None:
        return "pair_missing"
    shown = {record["response_1"]["sha"], record["response_2"]["sha"]}
    if {text_hash(pair.chosen[-1].content), text_hash(pair.rejected[-1].content)} != shown:
        return "texts_changed"
    if claimed is not None:
        chosen_sha = text_hash(pair.chosen[-1].content)
        recorded = "chosen" if record["response_1"]["sha"] == chosen_sha else "rejected"
        if claimed != recorded and pair.label_source != "human":
            return "tampered"
    return None


def apply_decisions(pairs: list[PreferencePair], decisions: dict[str, str], *, keep_ties: bool = False
                    ) -> tuple[list[PreferencePair], dict[str, Any]]:
    """Pairs with the decisions applied (absolutely), and what changed."""
    out, stats = [], {"annotated": 0, "agree": 0, "swapped": 0, "ties": 0, "ties_dropped": 0, "unchanged": 0}
    for pair in pairs:
        decision = decisions.get(pair.id)
        if decision is None:
            out.append(pair)
            continue
        stats["annotated"] += 1
        if decision == "tie":
            stats["ties"] += 1
            if not keep_ties:
                stats["ties_dropped"] += 1
                continue
            updated = pair.model_copy(update={"label_source": "human", "strength": 0, "margin": 0.0})
        elif text_hash(pair.chosen[-1].content) == decision:
            updated = pair.model_copy(update={"label_source": "human"})
            stats["agree" if pair.label_source != "human" else "unchanged"] += 1
        elif pair.label_source == "human":
            raise DatasetError(f"pair {pair.id}: a person's earlier decision disagrees with this one; resolve it "
                               "in the review tool and import once")  # two people disagree: not silently flipped
        else:
            stats["swapped"] += 1
            updated = pair.model_copy(update={
                "label_source": "human", "chosen": pair.rejected, "rejected": pair.chosen,
                "chosen_model": pair.rejected_model, "rejected_model": pair.chosen_model,
                "chosen_score": pair.rejected_score, "rejected_score": pair.chosen_score,
                "chosen_candidate_id": pair.rejected_candidate_id, "rejected_candidate_id": pair.chosen_candidate_id,
                "margin": None if pair.margin is None else abs(pair.margin),
                "rationale": "A human annotator preferred this response over the AI's choice.",
            })
        out.append(updated)
    decided = stats["agree"] + stats["swapped"]
    stats["agreement"] = stats["agree"] / decided if decided else None
    return out, stats


def import_answers(uri: str, path: str, *, keep_ties: bool = False,
                   before_commit: Callable[[], None] = lambda: None) -> tuple[dict[str, Any], Optional[int], bool]:
    """Apply an annotation export to the latest version; returns (stats, version, committed a new one).

    `before_commit` is the reliability tests' seam: a commit by someone else inside the import window.
    """
    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems

    from prefmill.schemas import SCHEMA_VERSION
    from prefmill.dataset import DatasetPaths, commit_run_files

    answers = read_answers(path)
    if not answers:
        raise DatasetError(f"{path} holds no answers (no task was annotated); nothing to import")
    pairs, info = load_pairs(uri)
    by_id = {p.id: p for p in pairs}
    decisions, refused = decide(answers, sent_records(uri), by_id)
    stats: dict[str, Any] = {"refused": dict(refused), "answers": len(answers)}
    if not decisions:
        raise DatasetError(f"none of the {len(answers)} answers in {path} can be applied ({_reasons(refused)})")
    updated, applied = apply_decisions(pairs, decisions, keep_ties=keep_ties)
    stats.update(applied)
    if updated == pairs:
        return stats, info.version, False  # every decision is already in the latest version
    review_id = "review-" + stable_id("review", *sorted(f"{k}={v}" for k, v in decisions.items()))[:24]
    table_uri = DatasetPaths.of(uri).table("pairs")
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
    before_commit()
    from prefmill.dataset.atomic import commit_lock

    with commit_lock(DatasetPaths.of(uri)):  # the version check and the commit, with no prefmill writer between
        version, new = commit_run_files(table_uri, files, PreferencePair, run_id=review_id, metadata=metadata,
                                        expected_version=info.version)
    return stats, version, new


def _reasons(refused: Counter) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in refused.most_common()) or "no reason"


def describe(stats: dict[str, Any], version: Optional[int]) -> str:
    agreement = "n/a" if stats.get("agreement") is None else f"{stats['agreement']:.0%}"
    refused = stats.get("refused") or {}
    line = (f"imported {stats['annotated']} answers: {stats['agree']} agree with the AI label, {stats['swapped']} "
            f"swapped, {stats['ties']} ties ({stats['ties_dropped']} dropped), {stats.get('unchanged', 0)} already "
            f"applied; human-AI agreement {agreement}; dataset version {version}")
    if refused:
        line += "\nrefused: " + _reasons(Counter(refused))
    return line
