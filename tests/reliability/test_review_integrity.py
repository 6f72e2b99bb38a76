"""Human labels are never inverted, lost or applied on faith: superset re-imports, the same answers saved
again, a commit inside the import window, and every refusal case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prefmill.pipelines.cli import main
from prefmill.schemas import CommitConflictError
from prefmill.dataset import DatasetPaths, list_versions, run_query
from prefmill.dataset.review import text_hash
from prefmill.dataset.review_import import import_answers, sent_records

from review_fixtures import routed  # noqa: F401 - the 8-pair human-routed dataset fixture


def _export(uri, tmp_path) -> list[dict]:
    assert main(["review", "export", uri, "--to", "label-studio", "--out", str(tmp_path / "ls")]) == 0
    return json.loads((tmp_path / "ls" / "tasks.json").read_text())


def _preferred_text(uri, pair_id, prefer) -> str:
    """The response text a person prefers: `prefer` is "chosen" or "rejected" as in version 0."""
    return run_query(uri, f"SELECT {prefer}[-1].content FROM pairs WHERE id = '{pair_id}'", version=0)[1][0][0]


def _answer(tasks, uri, plan: dict[str, str], path, **extra) -> str:
    """An annotation file: for each pair in `plan`, the response whose text the person prefers."""
    sent = sent_records(uri)
    answered = []
    for task in tasks:
        pair_id = task["data"]["pair_id"]
        if pair_id not in plan:
            continue
        want = text_hash(_preferred_text(uri, pair_id, plan[pair_id]))
        choice = "response_1" if sent[pair_id]["response_1"]["sha"] == want else "response_2"
        answered.append({"data": {**task["data"], **extra.get(pair_id, {})}, "annotations": [{"result": [
            {"from_name": "preference", "to_name": "prompt", "type": "choices", "value": {"choices": [choice]}}]}]})
    path.write_text(json.dumps(answered, indent=extra.get("indent")))
    return str(path)


def _orientation(uri) -> dict[str, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in run_query(uri, "SELECT id, chosen[-1].content, label_source FROM pairs")[1]}


def test_a_superset_reimport_and_the_same_answers_saved_again_invert_nothing(routed, tmp_path):
    tasks = _export(routed, tmp_path)
    ids = sorted(t["data"]["pair_id"] for t in tasks)
    first = {ids[0]: "rejected", ids[1]: "rejected", ids[2]: "chosen", ids[3]: "chosen"}
    assert main(["review", "import", routed, _answer(tasks, routed, first, tmp_path / "a.json")]) == 0
    after_first = _orientation(routed)
    # The tool's later export: the same four answers plus three new ones.
    later = {**first, ids[4]: "rejected", ids[5]: "chosen", ids[6]: "chosen"}
    assert main(["review", "import", routed, _answer(tasks, routed, later, tmp_path / "b.json")]) == 0
    after_second = _orientation(routed)
    inverted = [i for i in first if after_second[i] != after_first[i]]
    assert inverted == []
    for pair_id, prefer in later.items():  # every label is the person's, absolutely
        assert after_second[pair_id] == (_preferred_text(routed, pair_id, prefer), "human")
    versions = len(list_versions(DatasetPaths.of(routed).table("pairs")))
    # The same answers saved again (other bytes): nothing changes, no version is added.
    again = _answer(tasks, routed, later, tmp_path / "c.json", indent=2)
    assert main(["review", "import", routed, again]) == 0
    assert _orientation(routed) == after_second
    assert len(list_versions(DatasetPaths.of(routed).table("pairs"))) == versions


def test_a_commit_inside_the_import_window_is_a_conflict_not_an_overwrite(routed, tmp_path):
    tasks = _export(routed, tmp_path)
    ids = sorted(t["data"]["pair_id"] for t in tasks)
    mine = _answer(tasks, routed, {ids[0]: "rejected"}, tmp_path / "mine.json")
    theirs = _answer(tasks, routed, {ids[1]: "rejected"}, tmp_path / "theirs.json")

    def someone_else_commits():
        assert main(["review", "import", routed, theirs]) == 0

    with pytest.raises(CommitConflictError, match="re-run the import"):
        import_answers(routed, mine, before_commit=someone_else_commits)
    rows = _orientation(routed)
    assert rows[ids[1]] == (_preferred_text(routed, ids[1], "rejected"), "human")  # theirs is kept
    assert rows[ids[0]][1] == "ai"  # mine was not committed
    assert main(["review", "import", routed, mine]) == 0  # re-running it applies it on top
    assert _orientation(routed)[ids[0]][1] == "human" and _orientation(routed)[ids[1]][1] == "human"


def test_answers_that_cannot_be_trusted_are_refused_and_counted(routed, tmp_path, capsys):
    tasks = _export(routed, tmp_path)
    ids = sorted(t["data"]["pair_id"] for t in tasks)
    record_path = next(Path(DatasetPaths.of(routed).join("_prefmill", "reviews")).glob("*.json"))
    record = json.loads(record_path.read_text())
    record["pairs"].pop(ids[1])  # never sent
    record["pairs"][ids[2]]["response_1"]["sha"] = "0" * 32  # the texts changed since the export
    record_path.write_text(json.dumps(record))
    plan = {ids[0]: "rejected", ids[3]: "rejected", ids[4]: "chosen", ids[5]: "rejected"}
    path = tmp_path / "answers.json"
    _answer(tasks, routed, plan, path, **{ids[3]: {"response_1_is": "tampered-or-wrong"}})
    answered = json.loads(path.read_text())
    extra = []
    for pair_id, choice in ((ids[1], "response_1"), (ids[2], "response_2")):  # not sent / texts changed
        task = next(t for t in tasks if t["data"]["pair_id"] == pair_id)
        extra.append({"data": task["data"], "annotations": [{"result": [
            {"from_name": "preference", "value": {"choices": [choice]}}]}]})
    conflict = next(a for a in answered if a["data"]["pair_id"] == ids[5])
    flipped = "response_1" if conflict["annotations"][0]["result"][0]["value"]["choices"][0] == "response_2" else "response_2"
    extra.append({"data": conflict["data"], "annotations": [{"result": [
        {"from_name": "preference", "value": {"choices": [flipped]}}]}]})  # the same pair answered both ways
    path.write_text(json.dumps(answered + extra))
    before = _orientation(routed)
    assert main(["review", "import", routed, str(path)]) == 0
    out = capsys.readouterr().out
    for reason in ("not_sent 1", "texts_changed 1", "tampered 1", "conflicting 1"):
        assert reason in out, out
    rows = _orientation(routed)
    assert rows[ids[0]] == (_preferred_text(routed, ids[0], "rejected"), "human")  # the trusted ones applied
    assert rows[ids[4]][1] == "human"
    for pair_id in (ids[1], ids[2], ids[3], ids[5]):
        assert rows[pair_id] == before[pair_id]  # the refused ones untouched


def test_a_file_without_answers_is_refused(routed, tmp_path, capsys):
    _export(routed, tmp_path)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps([{"data": {"pair_id": "x"}, "annotations": []}]))
    assert main(["review", "import", routed, str(empty)]) == 2
    assert "holds no answers" in capsys.readouterr().err
    assert len(list_versions(DatasetPaths.of(routed).table("pairs"))) == 1
