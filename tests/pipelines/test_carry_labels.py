"""Human labels survive the next run: carried while the pair exists, counted when it vanished."""

from __future__ import annotations

import json

from prefmill.pipelines.cli import main
from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import run_config
from prefmill.dataset import run_query
from prefmill.dataset.review import text_hash
from prefmill.dataset.review_import import sent_records

from review_fixtures import routed  # noqa: F401 - the fixture


def test_a_new_run_keeps_every_human_label_whose_pair_still_exists(routed, tmp_path, capsys):
    assert main(["review", "export", routed, "--to", "label-studio", "--out", str(tmp_path / "ls")]) == 0
    tasks = json.loads((tmp_path / "ls" / "tasks.json").read_text())
    sent = sent_records(routed)
    answered = []
    for task in tasks[:5]:  # the person prefers the AI's rejected side on every one of five pairs
        pair_id = task["data"]["pair_id"]
        rejected = run_query(routed, f"SELECT rejected[-1].content FROM pairs WHERE id = '{pair_id}'")[1][0][0]
        choice = "response_1" if sent[pair_id]["response_1"]["sha"] == text_hash(rejected) else "response_2"
        answered.append({**task, "annotations": [{"result": [{"from_name": "preference",
                                                              "value": {"choices": [choice]}}]}]})
    (tmp_path / "answers.json").write_text(json.dumps(answered))
    assert main(["review", "import", routed, str(tmp_path / "answers.json")]) == 0
    labelled = {r[0]: r[1] for r in run_query(routed, "SELECT id, chosen[-1].content FROM pairs "
                                                      "WHERE label_source = 'human'")[1]}
    assert len(labelled) == 5
    # The same config again (a new run over the same prompts): the labels are carried, not lost.
    config = json.loads(json.dumps(_routed_config(tmp_path)))
    summary = run_config(validate_config(config), progress=False)
    assert summary.human_labels == {"carried": 5, "vanished": 0, "texts_changed": 0}
    assert "human labels: carried 5 from the previous version" in summary.render()
    after = {r[0]: r[1] for r in run_query(routed, "SELECT id, chosen[-1].content FROM pairs "
                                                   "WHERE label_source = 'human'")[1]}
    assert after == labelled  # the same pairs, the same human orientation
    # Reviewed pairs are not sent again.
    assert main(["review", "export", routed, "--to", "label-studio", "--out", str(tmp_path / "ls2")]) == 0
    assert "5 already reviewed, not sent again" in capsys.readouterr().out
    assert len(json.loads((tmp_path / "ls2" / "tasks.json").read_text())) == 3


def _routed_config(tmp_path):
    return {"input": {"path": str(tmp_path / "chat.jsonl")}, "output": {"uri": str(tmp_path / "ds")},
            "pairs": {"strategies": ["delta"], "model_strength": ["atlas-70b", "birch-8b", "cedar-1b"]},
            "route": {"enabled": True, "budget": 8}}
