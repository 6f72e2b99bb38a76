"""The human review loop: export -> answer as an annotator would -> import -> a new version."""

from __future__ import annotations

import json

import pytest

from prefmill.pipelines.cli import main
from prefmill.schemas import DatasetError
from prefmill.dataset import DatasetPaths, list_versions, run_query


from review_fixtures import HOSTILE, routed  # noqa: F401 - the fixture


def answer_label_studio(tasks_path, choose):
    tasks = json.loads(tasks_path.read_text())
    for task in tasks:
        choice = choose(task["data"])
        if choice is not None:
            task["annotations"] = [{"result": [{"from_name": "preference", "to_name": "prompt", "type": "choices",
                                                "value": {"choices": [choice]}}]}]
    out = tasks_path.parent / "export.json"
    out.write_text(json.dumps(tasks))
    return out


def side_of(uri, pair_id, response):
    """Which side of the pair a shown response is, from prefmill's own record (annotators never see it)."""
    from prefmill.dataset.review import text_hash
    from prefmill.dataset.review_import import sent_records

    sha = sent_records(uri)[pair_id][response]["sha"]
    chosen = run_query(uri, f"SELECT chosen[-1].content FROM pairs WHERE id = '{pair_id}'")[1][0][0]
    return "chosen" if text_hash(chosen) == sha else "rejected"


def test_label_studio_round_trip_swaps_ties_and_agreement(routed, tmp_path, capsys):
    assert main(["review", "export", routed, "--to", "label-studio", "--out", str(tmp_path / "ls")]) == 0
    tasks = json.loads((tmp_path / "ls" / "tasks.json").read_text())
    assert len(tasks) == 8 and all("response_1_is" not in t["data"] for t in tasks)  # blind
    assert {side_of(routed, t["data"]["pair_id"], "response_1") for t in tasks} == {"chosen", "rejected"}  # shuffled
    ids = sorted(t["data"]["pair_id"] for t in tasks)
    # annotator: prefers the AI's rejected side on the first two pairs, ties on the third, agrees elsewhere,
    # and leaves the last one unanswered
    plan = {ids[0]: "rejected", ids[1]: "rejected", ids[2]: "tie", ids[7]: None}

    def choose(data):
        wanted = plan.get(data["pair_id"], "chosen")
        if wanted in (None, "tie"):
            return wanted
        return "response_1" if side_of(routed, data["pair_id"], "response_1") == wanted else "response_2"

    export = answer_label_studio(tmp_path / "ls" / "tasks.json", choose)
    assert main(["review", "import", routed, str(export)]) == 0
    assert "4 agree with the AI label, 2 swapped, 1 ties (1 dropped), 0 already applied; human-AI agreement 67%; " \
           "dataset version 1" in capsys.readouterr().out
    before = dict((r[0], r[1:]) for r in run_query(routed, "SELECT id, chosen_model, rejected_model FROM pairs",
                                                       version=0)[1])
    after = {r[0]: r[1:] for r in run_query(routed, "SELECT id, chosen_model, rejected_model, label_source FROM pairs")[1]}
    assert len(after) == len(before) - 1 and ids[2] not in after
    assert after[ids[0]][:2] == before[ids[0]][::-1] and after[ids[0]][2] == "human"
    assert after[ids[3]] == (*before[ids[3]], "human") and after[ids[7]][2] == "ai"
    meta = list_versions(DatasetPaths.of(routed).table("pairs"))[1].metadata
    assert meta["review"]["swapped"] == 2 and meta["review_of_version"] == 0

    assert main(["review", "import", routed, str(export)]) == 0  # same file again: a no-op
    assert "already in dataset version 1; nothing changed" in capsys.readouterr().out
    assert len(list_versions(DatasetPaths.of(routed).table("pairs"))) == 2


def test_argilla_round_trip_and_keep_ties(routed, tmp_path, capsys):
    assert main(["review", "export", routed, "--to", "argilla", "--out", str(tmp_path / "ag"), "--show-rationale"]) == 0
    records = json.loads((tmp_path / "ag" / "records.json").read_text())
    settings = json.loads((tmp_path / "ag" / "settings.json").read_text())
    assert [o["value"] for o in settings["questions"][0]["settings"]["options"]] == ["response_1", "response_2", "tie"]
    assert "ai_rationale" in records[0]["fields"]
    for record in records:
        record["responses"] = {"preference": [{"value": "tie", "user_id": "annotator-1"}]}
    export = tmp_path / "ag" / "answered.json"
    export.write_text(json.dumps(records))
    assert main(["review", "import", routed, str(export), "--keep-ties"]) == 0
    rows = run_query(routed, "SELECT count(*), count(*) FILTER (label_source = 'human' AND strength = 0) FROM pairs")[1]
    assert rows == [(8, 8)]


def test_hostile_text_is_escaped_in_every_export(routed, tmp_path):
    for tool in ("label-studio", "argilla"):
        assert main(["review", "export", routed, "--to", tool, "--out", str(tmp_path / tool)]) == 0
        text = "".join(p.read_text() for p in (tmp_path / tool).iterdir())
        assert "<script" not in text and "<img" not in text  # no live tag of the response survives
        assert "&lt;script&gt;" in text and "&lt;img src=x" in text  # it is shown as text instead


def test_bad_exports_fail_clearly(routed, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"data": {"pair_id": "nope", "response_1_is": "chosen"},
                                "annotations": [{"result": [{"from_name": "preference", "value": {"choices": ["response_1"]}}]}]}]))
    with pytest.raises(DatasetError, match="not_sent 1"):
        from prefmill.dataset.review_import import import_answers

        import_answers(routed, str(bad))
    bad.write_text("{not json")
    assert main(["review", "import", routed, str(bad)]) == 2
