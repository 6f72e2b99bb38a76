"""parse_row: each bad row gets its own reason code; the common layouts read without conversion."""

from __future__ import annotations

import json

import pytest

from prefmill.transforms.parse import RowError, field_map_for, parse_row

NATIVE = field_map_for("native")


def reason_of(raw, fields=NATIVE, **kw) -> str:
    with pytest.raises(RowError) as info:
        parse_row(raw, fields, **kw)
    return info.value.reason


@pytest.mark.parametrize("raw,reason", [
    (b'{"id": 1, "prompt": "x"', "malformed_json"),
    (b'{"id": "a", "prompt": "caf\xe9"}', "invalid_utf8"),
    (b'[1, 2]', "not_an_object"),
    (b'"just a string"', "not_an_object"),
    (b'{"id": "a"}', "missing_field"),
    (b'{"prompt": "hello"}', "missing_field"),
    (b'{"id": "a", "prompt": 42}', "wrong_type"),
    (b'{"id": ["a"], "prompt": "hi"}', "wrong_type"),
    (b'{"id": "a", "prompt": ""}', "empty_prompt"),
    (b'{"id": "a", "prompt": [{"role": "system", "content": "only a system turn"}]}', "invalid_value"),
    (b'{"id": "a", "prompt": "hi", "domain": "poetry"}', "invalid_value"),
    (b'{"id": "a", "prompt": "hi", "candidates": "nope"}', "wrong_type"),
    (b'{"id": "a", "prompt": "hi", "candidates": [{"model": "m", "text": 5}]}', "wrong_type"),
    (b'{"id": "a", "prompt": [{"role": "robot", "content": "hi"}]}', "invalid_value"),
    (b'{"id": "  ", "prompt": "hi"}', "invalid_value"),
])
def test_bad_rows_get_their_reason(raw, reason):
    assert reason_of(raw) == reason


def test_row_size_limit_applies_to_bytes_and_dicts():
    assert reason_of(json.dumps({"id": "a", "prompt": "x" * 200}).encode(), max_row_bytes=100) == "row_too_large"
    assert reason_of({"id": "a", "prompt": "x" * 200}, max_row_bytes=100) == "row_too_large"


def test_native_row_with_reference_and_candidates():
    raw = json.dumps({
        "id": "m1", "domain": "math", "prompt": "1+1?", "reference": {"answer": 2}, "source": "s",
        "candidates": ["2", {"model": "big", "response": "two", "finish_reason": "stop", "note": "kept"}],
    })
    pc = parse_row(raw, NATIVE, default_model="rec")
    assert pc.prompt.reference.answer == "2"
    assert [(c.model, c.text, c.sample_index) for c in pc.candidates] == [("rec", "2", 0), ("big", "two", 1)]
    assert pc.candidates[1].metadata == {"note": "kept"}
    assert pc.candidates[0].id != pc.candidates[1].id


def test_question_answer_layout():
    pc = parse_row({"id": 7, "question": "2*3?", "answer": "6"}, field_map_for("question_answer"), default_domain="math")
    assert (pc.prompt.id, pc.prompt.domain, pc.prompt.question, pc.prompt.reference.answer) == ("7", "math", "2*3?", "6")


def test_prompt_completions_layout():
    pc = parse_row({"id": "x", "prompt": "Say hi", "completions": ["hi", "hello"]}, field_map_for("prompt_completions"))
    assert [c.text for c in pc.candidates] == ["hi", "hello"]


def test_messages_layout_splits_trailing_assistant_turn_into_a_candidate():
    row = {"id": "x", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                                   {"role": "assistant", "content": "a"}]}
    pc = parse_row(row, field_map_for("messages"), default_model="logged")
    assert [m.role for m in pc.prompt.messages] == ["system", "user"]
    assert [(c.model, c.text) for c in pc.candidates] == [("logged", "a")]


def test_derived_ids_are_stable_and_nested_paths_work():
    fields = field_map_for("native", {"id": None, "prompt": "data.q", "answer": "data.a"})
    a = parse_row({"data": {"q": "same", "a": "1"}}, fields)
    b = parse_row({"data": {"q": "same", "a": "2"}}, fields)
    assert a.prompt.id == b.prompt.id and a.prompt.reference.answer == "1"


def test_ifeval_rows_are_read_as_they_are():
    from prefmill.transforms.parse import field_map_for, parse_row

    row = {"key": 1001, "prompt": "Write a haiku about rain without commas.",
           "instruction_id_list": ["punctuation:no_comma", "length_constraints:number_words"],
           "kwargs": [{}, {"num_words": 20, "relation": "less than", "keywords": None}]}
    pc = parse_row(json.dumps(row), field_map_for("ifeval"))
    assert (pc.prompt.id, pc.prompt.domain) == ("1001", "instruction")
    assert [(c.kind, c.args) for c in pc.prompt.reference.constraints] == [
        ("punctuation:no_comma", {}), ("length_constraints:number_words", {"num_words": 20, "relation": "less than"})]
    rlvr = {"id": "r1", "prompt": "Answer in capitals.",
            "ground_truth": json.dumps({"instruction_id": ["change_case:english_capital"], "kwargs": [None]})}
    pc = parse_row(json.dumps(rlvr), field_map_for("native"))
    assert pc.prompt.domain == "instruction" and pc.prompt.reference.constraints[0].kind == "change_case:english_capital"


def test_ifeval_rows_with_mismatched_kwargs_are_dead_lettered():
    from prefmill.transforms.parse import RowError, field_map_for, parse_row

    row = {"key": 1, "prompt": "x", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}, {}]}
    with pytest.raises(RowError) as err:
        parse_row(json.dumps(row), field_map_for("ifeval"))
    assert err.value.reason == "wrong_type"


def test_an_unknown_domain_names_the_known_ones_and_a_verifier_adds_one(monkeypatch):
    from prefmill.transforms.verify import registry

    with pytest.raises(RowError) as caught:
        parse_row(b'{"id": "a", "prompt": "hi", "domain": "trivia"}', field_map_for("native"))
    assert caught.value.reason == "invalid_value"
    assert "unknown domain 'trivia': use one of chat, code, instruction, math" in str(caught.value)
    monkeypatch.setitem(registry.VERIFIERS, "trivia", registry.VERIFIERS["math"])  # what a registry line does
    assert parse_row(b'{"id": "a", "prompt": "hi", "domain": "trivia"}', field_map_for("native")).prompt.domain == "trivia"
