"""prefmill's review exports, loaded by the review tools' own SDKs (argilla 2.8, label-studio-sdk 2.1), and the
answers those SDKs write, imported back.

The packages are reference parsers installed with `--no-deps` (tests/reference-packages.txt); the tests skip,
saying so, without them. No server is needed: Label Studio's `LabelInterface` parses offline, and Argilla's
settings objects need a client object only to exist, so they get one whose connection check is switched off
(it is never used to send anything).
"""

from __future__ import annotations

import html
import json
import uuid

import pytest

from prefmill.pipelines.cli import main
from prefmill.dataset.query import run_query

from review_fixtures import routed  # noqa: F401  (fixture)

INSTALL = "pip install --no-deps -r tests/reference-packages.txt"


@pytest.fixture
def argilla(monkeypatch):
    rg = pytest.importorskip("argilla", reason=f"the argilla SDK is not installed ({INSTALL})")
    from argilla._api import _client

    monkeypatch.setattr(_client.APIClient, "_validate_connection", lambda self: None)
    monkeypatch.setattr(rg.Argilla, "_default_client", None)
    rg.Argilla._set_default(rg.Argilla(api_url="http://127.0.0.1:9", api_key="offline-test"))
    return rg


@pytest.fixture
def label_interface():
    module = pytest.importorskip("label_studio_sdk.label_interface",
                                 reason=f"label-studio-sdk is not installed ({INSTALL})")
    return module.LabelInterface


def _human_labels(uri):
    return run_query(uri, "SELECT count(*) FILTER (label_source = 'human') FROM pairs")[1][0][0]


def test_argilla_sdk_loads_the_export_and_its_answers_import(routed, tmp_path, argilla):  # noqa: F811
    rg = argilla
    out = tmp_path / "ag"
    assert main(["review", "export", routed, "--to", "argilla", "--out", str(out), "--show-rationale"]) == 0

    settings = rg.Settings.from_json(out / "settings.json")  # what `rg.Dataset(settings=...)` is given
    assert [f.name for f in settings.fields] == ["prompt", "response_1", "response_2", "ai_rationale"]
    question = settings.questions["preference"]
    assert isinstance(question, rg.LabelQuestion) and question.labels == ["response_1", "response_2", "tie"]
    assert [m.name for m in settings.metadata] == ["pair_id"]
    assert settings.metadata["pair_id"].visible_for_annotators is False

    # `dataset.records.from_json(path)` builds each record with Record.from_dict
    records = [rg.Record.from_dict(r) for r in json.loads((out / "records.json").read_text())]
    assert len(records) == 8
    field_names = {f.name for f in settings.fields}
    for record in records:
        assert set(record.fields.to_dict()) <= field_names
        assert set(record.metadata.to_dict()) == {"pair_id"}
        assert "response_1_is" not in json.dumps(record.to_dict())

    # annotators answer in Argilla; `dataset.records.to_json(path)` writes what JsonIO.to_json writes
    first, second = uuid.uuid4(), uuid.uuid4()
    for record in records[:6]:
        record.responses.add(rg.Response("preference", "response_2", user_id=first))
    records[6].responses.add(rg.Response("preference", "response_1", user_id=first))
    records[6].responses.add(rg.Response("preference", "response_2", user_id=second))  # they disagree
    records[7].responses.add(rg.Response("preference", "response_1", user_id=first, status="draft"))
    from argilla.records._io._json import JsonIO

    answers = JsonIO.to_json(records, tmp_path / "argilla-answers.json")
    exported = json.loads(answers.read_text())
    # the server computes a record's status (offline records say pending): completed once an answer is
    # submitted; the draft-only record stays pending, and to_json keeps no per-response status
    for record in exported[:7]:
        record["status"] = "completed"
    answers.write_text(json.dumps(exported))
    shown = {r["id"]: r["fields"] for r in json.loads((out / "records.json").read_text())}
    assert main(["review", "import", routed, str(answers)]) == 0
    assert _human_labels(routed) == 6  # the disagreement is refused, the draft is not a label
    _, rows = run_query(routed, "SELECT id, chosen[1].content FROM pairs WHERE label_source = 'human'")
    for pair_id, chosen in rows:  # the picked response is the chosen side, whatever order it was shown in
        assert html.escape(chosen, quote=True) == shown[pair_id]["response_2"]


def test_the_old_argilla_settings_shape_is_what_the_sdk_rejected(tmp_path, argilla):
    """The settings prefmill wrote before (flat `type`/`labels`) fail in the SDK: the check above can fail."""
    old = {"fields": [{"name": "prompt", "type": "text", "use_markdown": True, "required": True}],
           "questions": [{"name": "preference", "type": "label_selection", "labels": ["a", "b"], "required": True}]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    with pytest.raises(Exception, match=r"validation error for QuestionModel\s+settings\s+Field required"):
        argilla.Settings.from_json(path)


def test_label_studio_sdk_parses_the_config_and_its_answers_import(routed, tmp_path, label_interface):  # noqa: F811
    out = tmp_path / "ls"
    assert main(["review", "export", routed, "--to", "label-studio", "--out", str(out), "--show-rationale"]) == 0
    interface = label_interface((out / "label_config.xml").read_text())
    assert [c.name for c in interface.controls] == ["preference"]
    control = interface.get_control("preference")
    assert sorted(control.labels) == ["response_1", "response_2", "tie"]
    assert {o.name for o in interface.objects} == {"prompt", "response_1", "response_2", "ai_rationale"}

    tasks = json.loads((out / "tasks.json").read_text())
    assert len(tasks) == 8
    for task in tasks:
        assert interface.validate_task(task), task  # every $variable the config shows is in the task
        assert "response_1_is" not in task["data"]

    exported = []
    for number, task in enumerate(tasks):
        region = control.label(["response_1"], to_name="prompt")
        annotation = {"result": [region._dict()]}  # a result as Label Studio's export holds it
        assert interface.validate_annotation(annotation)
        exported.append({"id": number + 1, "data": task["data"], "annotations": [annotation]})
    exported[7]["annotations"].append({"result": [control.label(["response_2"], to_name="prompt")._dict()]})
    answers = tmp_path / "ls-answers.json"
    answers.write_text(json.dumps(exported))
    assert main(["review", "import", routed, str(answers)]) == 0
    assert _human_labels(routed) == 7  # two annotators who disagree on the last task: refused
    shown = {t["data"]["pair_id"]: t["data"] for t in tasks}
    _, rows = run_query(routed, "SELECT id, chosen[1].content FROM pairs WHERE label_source = 'human'")
    for pair_id, chosen in rows:
        assert f"<pre style='white-space:pre-wrap'>{html.escape(chosen, quote=True)}</pre>" == shown[pair_id]["response_1"]
