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
    expected = EXPECTED[layout][:len([r for r in rows if r in good])]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | ReadPrompts(config, run_id="r1")
        got = out["main"] | beam.Map(_summary)
        dead = (out[PARSE_DEAD], out[DEDUPE_DEAD]) | beam.Flatten() | beam.Map(lambda d: d.reason)
        assert_that(got, equal_to(expected), label="kept")
        assert_that(dead, equal_to([] if kind == "parquet" else [reason for _, reason in bad]), label="dead")


def test_a_typo_in_a_preference_field_map_names_the_known_fields():
    with pytest.raises(ValueError, match="unknown field name.*'rejcted'.*known:.*'rejected'"):
        InputConfig(path="x.jsonl", layout="trl", fields={"rejcted": "worse"})
