"""Preference data in: each preference layout read from JSONL, Parquet and a local Hugging Face dataset folder
by ReadPrompts on a real FnApiRunner, its labels kept with their source, its bad rows dead-lettered with a
reason; then the incoming and judged strategies turn them into pairs in a whole run."""

from __future__ import annotations

import json

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from prefmill.transforms.read import DEDUPE_DEAD, PARSE_DEAD, InputConfig, ReadPrompts

USER = {"role": "user", "content": "What is 2 + 2?"}
LAYOUTS = {
    "trl": ({}, [
        {"id": "t1", "prompt": "Name the capital of France.", "chosen": "Paris.", "rejected": "Lyon."},
        {"id": "t2", "chosen": [USER, {"role": "assistant", "content": "4"}],     # implicit prompt (conversational)
         "rejected": [USER, {"role": "assistant", "content": "5"}]},
    ], [
        ({"id": "t3", "prompt": "x", "chosen": "only one"}, "missing_field"),
        ({"id": "t4", "chosen": "a", "rejected": "b"}, "missing_field"),   # no prompt, and none to take
        ({"id": "t5", "prompt": "x", "chosen": [{"role": "user", "content": "no answer"}], "rejected": "b"},
         "invalid_value"),
    ]),
    "helpsteer2_preference": ({}, [
        {"prompt": "Name a colour.", "response_1": "Blue.", "response_2": "A colour.", "preference_strength": -2,
         "preference_elaboration": "Response 1 names one; response 2 does not."},
        {"prompt": "Say hi.", "response_1": "Hi!", "response_2": "Hello!", "preference_strength": 0},
    ], [
        ({"prompt": "x", "response_1": "a", "response_2": "b", "preference_strength": 7}, "invalid_value"),
        ({"prompt": "y", "response_1": "a", "response_2": "b", "preference_strength": "much"}, "wrong_type"),
    ]),
    "multipref": ({"ai_label": "ai_pref"}, [
        {"prompt_id": "m1", "text": "Suggest a name for a cat.", "completion_a": "Cat.", "completion_b": "Miso.",
         "model_a": "alpha", "model_b": "beta", "ai_pref": "A",
         "normal_worker_annotations": [{"overall_pref": "B-is-slightly-better"}, {"overall_pref": "B-is-clearly-better"},
                                       {"overall_pref": "Tie"}]},
    ], [
        ({"prompt_id": "m2", "text": "x", "completion_a": "a", "completion_b": "b", "model_a": "alpha",
          "model_b": "beta", "ai_pref": "A", "normal_worker_annotations": [{"overall_pref": "C-wins"}]},
         "invalid_value"),
    ]),
    "helpsteer2": ({}, [  # one response per row: a prompt's rows are merged
        {"prompt": "Describe fog.", "response": "Fog is a cloud at ground level.", "helpfulness": 4,
         "correctness": 4, "coherence": 4, "complexity": 1, "verbosity": 1},
        {"prompt": "Describe fog.", "response": "Fog.", "helpfulness": 1, "correctness": 2, "coherence": 3,
         "complexity": 0, "verbosity": 0},
    ], [
        ({"prompt": "x", "response": "y", "helpfulness": 9, "correctness": 1, "coherence": 1}, "invalid_value"),
        ({"prompt": "Describe fog.", "response": "Fog.", "helpfulness": 1, "correctness": 2, "coherence": 3},
         "duplicate_id"),  # the same response to the same prompt again
    ]),
    "ultrafeedback": ({}, [
        {"instruction": "Explain rain in one sentence.", "completions": [
            {"model": "m-good", "response": "Water vapour condenses into drops heavy enough to fall.",
             "annotations": {"helpfulness": {"Rating": "5", "Rationale": "clear"},
                             "honesty": {"Rating": "4", "Rationale": "fine"}}},
            {"model": "m-poor", "response": "Clouds cry.",
             "annotations": {"helpfulness": {"Rating": "2", "Rationale": "vague"},
                             "honesty": {"Rating": "N/A", "Rationale": ""}}}]},
    ], [
        ({"instruction": "x", "completions": "none"}, "wrong_type"),
    ]),
}


def _summary(pc):
    labels = [(label.source, next(c.text for c in pc.candidates if c.id == label.chosen_id), label.strength,
               label.rationale) for label in pc.incoming]
    ratings = [(c.model, [j.mean for j in c.judgments]) for c in pc.candidates if c.judgments]
    return (pc.prompt.question, [c.text for c in pc.candidates], labels, ratings,
            pc.prompt.metadata.get("incoming_tie"))


EXPECTED = {
    "trl": [("Name the capital of France.", ["Paris.", "Lyon."], [("unknown", "Paris.", None, None)], [], None),
            ("What is 2 + 2?", ["4", "5"], [("unknown", "4", None, None)], [], None)],
    "helpsteer2_preference": [
        ("Name a colour.", ["Blue.", "A colour."],
         [("human", "Blue.", 2, "Response 1 names one; response 2 does not.")], [], None),
        ("Say hi.", ["Hi!", "Hello!"], [], [], "human")],
    "multipref": [("Suggest a name for a cat.", ["Cat.", "Miso."],
                   [("human", "Miso.", 2, None), ("ai", "Cat.", None, None)], [], None)],  # B wins 2 to 1 (a tie)
    "helpsteer2": [("Describe fog.", ["Fog is a cloud at ground level.", "Fog."], [],  # in candidate-id order
                    [("recorded", [5.0]), ("recorded", [3.0])], None)],
    "ultrafeedback": [("Explain rain in one sentence.", ["Water vapour condenses into drops heavy enough to fall.",
                                                         "Clouds cry."], [], [("m-good", [4.5]), ("m-poor", [2.0])],
                       None)],
}


def _write(kind: str, folder, rows: list[dict]):
    folder.mkdir()
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")
    else:  # jsonl, and a local Hugging Face dataset folder of JSONL files read with `datasets`
        (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


@pytest.mark.parametrize("kind", ["jsonl", "parquet", "hf"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_preference_layout_reads_with_its_labels_and_bad_rows(layout, kind, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    fields, good, bad = LAYOUTS[layout]
    rows = good + ([] if kind == "parquet" else [row for row, _ in bad])  # Parquet: one type per column
    if layout == "trl" and kind == "parquet":
        rows = [good[0]]  # strings and conversations cannot share a Parquet column
    config = InputConfig(path=str(_write(kind, tmp_path / "in", rows)), layout=layout, fields=fields,
                         format="hf" if kind == "hf" else "auto")
    expected = EXPECTED[layout] if layout == "helpsteer2" else EXPECTED[layout][:len([r for r in rows if r in good])]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | ReadPrompts(config, run_id="r1")
        got = out["main"] | beam.Map(_summary)
        dead = (out[PARSE_DEAD], out[DEDUPE_DEAD]) | beam.Flatten() | beam.Map(lambda d: d.reason)
        assert_that(got, equal_to(expected), label="kept")
        assert_that(dead, equal_to([] if kind == "parquet" else [reason for _, reason in bad]), label="dead")


def test_a_typo_in_a_preference_field_map_names_the_known_fields():
    with pytest.raises(ValueError, match="unknown field name.*'rejcted'.*known:.*'rejected'"):
        InputConfig(path="x.jsonl", layout="trl", fields={"rejcted": "worse"})


@pytest.mark.parametrize("layout,strategy,label_source", [
    ("trl", "incoming", "unknown"), ("helpsteer2_preference", "incoming", "human"), ("multipref", "incoming", "human"),
    ("ultrafeedback", "judged", "ai"), ("helpsteer2", "judged", "human")])
def test_a_whole_run_pairs_preference_data_by_its_own_labels(layout, strategy, label_source, tmp_path):
    from prefmill.dataset import run_query
    from prefmill.pipelines.config import validate_config
    from prefmill.pipelines.launcher import run_config

    fields, good, bad = LAYOUTS[layout]
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in good + [row for row, _ in bad]))
    summary = run_config(validate_config({
        "input": {"path": str(data), "layout": layout, "fields": fields}, "output": {"uri": str(tmp_path / "ds")},
        "pairs": {"strategies": [strategy], "min_rating_margin": 1.0}}), progress=False)
    assert summary.balanced, summary.render()
    rows = run_query(str(tmp_path / "ds"), "SELECT pair_source, label_source, chosen[1].content, strength FROM pairs")[1]
    chosen = {"trl": {"Paris.", "4"}, "helpsteer2_preference": {"Blue."}, "multipref": {"Miso."},
              "ultrafeedback": {"Water vapour condenses into drops heavy enough to fall."},
              "helpsteer2": {"Fog is a cloud at ground level."}}[layout]
    assert {r[2] for r in rows} == chosen and {(r[0], r[1]) for r in rows} == {(strategy, label_source)}
    if layout == "helpsteer2":  # 3 rows of one prompt: 1 prompt out, 1 row merged, 1 duplicate dead
        dedupe = summary.stage("dedupe")
        assert (dedupe.rows_in, dedupe.rows_out, dedupe.merged, dedupe.dead) == (3, 1, 1, 1)
        assert "merged into their prompt 1" in summary.render()
    if layout == "helpsteer2_preference":
        assert rows[0][3] == 2


def test_rows_without_ids_get_one_per_pair_and_odd_values_are_reasons_not_crashes():
    from prefmill.transforms.parse import RowError
    from prefmill.transforms.preference_in import parse_preference_row, preference_fields_for

    trl = preference_fields_for("trl")
    first = parse_preference_row({"prompt": "Pick one.", "chosen": "A", "rejected": "B"}, "trl", trl)
    second = parse_preference_row({"prompt": "Pick one.", "chosen": "A", "rejected": "C"}, "trl", trl)
    assert first.prompt.id != second.prompt.id  # two pairs of one prompt are not duplicates
    hs2 = preference_fields_for("helpsteer2")
    for value, reason in ((float("nan"), "invalid_value"), ("4", "wrong_type"), (2.5, "invalid_value")):
        with pytest.raises(RowError) as caught:
            parse_preference_row({"prompt": "x", "response": "y", "helpfulness": value, "correctness": 1,
                                  "coherence": 1}, "helpsteer2", hs2)
        assert caught.value.reason == reason, value
    mp = preference_fields_for("multipref")
    with pytest.raises(RowError) as caught:
        parse_preference_row({"prompt_id": "m", "text": "x", "completion_a": "a", "completion_b": "b",
                              "normal_worker_annotations": []}, "multipref", mp)
    assert caught.value.reason == "missing_field"
    with pytest.raises(RowError) as caught:
        parse_preference_row({"prompt": "x", "response_1": "a", "response_2": "b",
                              "preference_strength": float("nan")}, "helpsteer2_preference",
                             preference_fields_for("helpsteer2_preference"))
    assert caught.value.reason == "invalid_value"
