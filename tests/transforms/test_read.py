"""ReadPrompts on a real FnApiRunner: every bad row of the bad-input file lands in the right reason bucket."""

from __future__ import annotations

import json

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from prefmill.transforms.read import DEDUPE_DEAD, PARSE_DEAD, InputConfig, ReadPrompts
from support import BAD_INPUT, bad_input_reasons


def dead_letters(out):
    return (out[PARSE_DEAD], out[DEDUPE_DEAD]) | f"AllDead{id(out)}" >> beam.Flatten()


def test_bad_input_file_reason_codes():
    config = InputConfig(path=str(BAD_INPUT), max_row_bytes=4096)
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | ReadPrompts(config, run_id="r1")
        ids = out["main"] | "Ids" >> beam.Map(lambda pc: pc.prompt.id)
        reasons = dead_letters(out) | "Reasons" >> beam.Map(lambda d: (d.reason, d.record_id, d.run_id))
        assert_that(ids, equal_to(["ok-1", "ok-2"]), label="kept")
        assert_that(reasons, equal_to([(r, rid, "r1") for r, rid in bad_input_reasons()]), label="dead")


def test_duplicate_keeps_first_occurrence(tmp_path):
    path = tmp_path / "dups.jsonl"
    rows = [{"id": "a", "prompt": "first"}, {"id": "b", "prompt": "other"}, {"id": "a", "prompt": "second"},
            {"id": "a", "prompt": "third"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | ReadPrompts(InputConfig(path=str(path)))
        kept = out["main"] | beam.Map(lambda pc: (pc.prompt.id, pc.prompt.question))
        dead = dead_letters(out) | beam.Map(lambda d: (d.reason, json.loads(d.payload)["prompt"]["messages"][0]["content"]))
        assert_that(kept, equal_to([("a", "first"), ("b", "other")]), label="kept")
        assert_that(dead, equal_to([("duplicate_id", "second"), ("duplicate_id", "third")]), label="dead")


def test_parquet_input_with_question_answer_layout(tmp_path):
    table = pa.table({"id": ["q1", "q2"], "question": ["2+2?", "3+3?"], "answer": ["4", "6"]})
    pq.write_table(table, tmp_path / "part-0.parquet")
    config = InputConfig(path=str(tmp_path), layout="question_answer", default_domain="math")
    assert config.resolved_format() == "parquet"
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | ReadPrompts(config)
        got = out["main"] | beam.Map(lambda pc: (pc.prompt.id, pc.prompt.domain, pc.prompt.reference.answer))
        assert_that(got, equal_to([("q1", "math", "4"), ("q2", "math", "6")]))


def test_hugging_face_dataset_from_a_local_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    folder = tmp_path / "hf"
    folder.mkdir()
    rows = [{"uid": "h1", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = InputConfig(path=str(folder), format="hf", layout="messages", fields={"id": "uid"})
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | ReadPrompts(config)
        got = out["main"] | beam.Map(lambda pc: (pc.prompt.id, pc.prompt.question, [c.text for c in pc.candidates]))
        assert_that(got, equal_to([("h1", "Hi", ["Hello"])]))


def test_duplicates_across_ranges_and_workers_keep_the_first_in_input_order(tmp_path):
    # many small ranges read by two workers: "first" must still mean file order, then line order
    rows = [{"id": f"r{i % 40}", "prompt": f"row {i}"} for i in range(200)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:120]))
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[120:]))
    config = InputConfig(path=str(tmp_path / "*.jsonl"), split_bytes=300)
    options = PipelineOptions(direct_num_workers=2, direct_running_mode="multi_processing")
    with beam.Pipeline(runner=FnApiRunner(), options=options) as p:
        out = p | ReadPrompts(config)
        kept = out["main"] | beam.Map(lambda pc: (pc.prompt.id, pc.prompt.question))
        dead = dead_letters(out) | beam.Map(lambda d: (d.reason, d.record_id, d.error.split(", again at ")[0]))
        assert_that(kept, equal_to([(f"r{i}", f"row {i}") for i in range(40)]), label="kept")
        assert_that(dead, equal_to([("duplicate_id", f"r{i % 40}", f"id 'r{i % 40}' first seen at "
                                     f"{tmp_path / 'a.jsonl'}:{i % 40 + 1}") for i in range(40, 200)]), label="dead")
