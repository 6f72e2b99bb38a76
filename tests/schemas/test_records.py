"""Schema round trips: pydantic -> Arrow -> Parquet -> pydantic gives back equal records."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from prefmill.schemas import (
    Candidate, CodeTests, Constraint, DeadLetter, ErrorEdit, Message, PreferencePair, Prompt, Reference,
    Routing, Span, StdioCase, TokenUsage, Verdict, arrow_schema, from_row, to_table,
)


def _prompt() -> Prompt:
    return Prompt(
        id="p-1",
        messages=[Message(role="system", content="Be brief."), Message(role="user", content="Sort [3, 1]")],
        domain="code",
        reference=Reference(
            answer=None,
            tests=CodeTests(asserts=["assert f([3, 1]) == [1, 3]"], stdio=[StdioCase(input="3 1\n", output="1 3\n")],
                            entry_point="f"),
            constraints=[Constraint(kind="word_count", args={"relation": "at_most", "value": 50, "nested": [1, {"a": None}]})],
        ),
        source="unit-test",
        metadata={"difficulty": 2, "tags": ["sorting"], "unicode": "caf\u00e9 \u2212 \u2603"},
    )


def _pair(**over) -> PreferencePair:
    base = dict(
        id="pair-1", prompt_id="p-1", domain="math",
        prompt=[Message(role="user", content="2+2?")],
        chosen=[Message(role="assistant", content="4")], rejected=[Message(role="assistant", content="5")],
        chosen_model="strong", rejected_model="weak", chosen_score=1.0, rejected_score=0.0,
        pair_source="self_edit", margin=1.0, strength=3, rationale="4 is right",
        label_source="verifier", routing=Routing(decision="ai", score=0.12, policy="uncertainty"),
        error_edit=ErrorEdit(error_type="number_change", step_index=1, original_span=Span(start=0, end=1, text="4"),
                             edited_span=Span(start=0, end=1, text="5"), token_distance=1),
        run_id="run-1", config_hash="abc",
    )
    base.update(over)
    return PreferencePair(**base)


RECORDS = [
    (Prompt, _prompt()),
    (Prompt, Prompt(id="p-2", messages=[Message(role="user", content="hi")])),
    (Candidate, Candidate(id="c", prompt_id="p", model="m", text="t", sampling_params={"temperature": 0.7, "top_p": 0.9},
                          usage=TokenUsage(prompt_tokens=3, completion_tokens=5), finish_reason="stop", latency_s=0.25,
                          verdict=Verdict(passed=None, score=0.0, reason="no_verifier"))),
    (Verdict, Verdict(passed=False, score=0.5, reason="tests_failed", evidence="1 of 2 failed", verifier="code")),
    (PreferencePair, _pair()),
    (PreferencePair, _pair(routing=None, error_edit=None, margin=None, strength=None, rationale=None,
                           chosen_score=None, rejected_score=None)),
    (DeadLetter, DeadLetter(stage="read", reason="invalid_utf8", record_id=None, payload="caf\\xe9", error="bad byte")),
]


@pytest.mark.parametrize("model,record", RECORDS, ids=[f"{m.__name__}-{i}" for i, (m, _) in enumerate(RECORDS)])
def test_round_trip_through_parquet(tmp_path, model, record):
    table = to_table([record], model)
    assert table.schema == arrow_schema(model)
    path = tmp_path / "r.parquet"
    pq.write_table(table, path)
    back = pq.read_table(path)
    assert back.schema.equals(arrow_schema(model), check_metadata=False)
    restored = from_row(model, back.to_pylist()[0])
    assert restored == record


def test_nested_models_are_structs_and_free_form_fields_are_json_text():
    schema = arrow_schema(PreferencePair)
    assert pa.types.is_struct(schema.field("routing").type)
    assert schema.field("routing").type.field("decision").type == pa.string()
    assert pa.types.is_list(schema.field("chosen").type)
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    prompt_schema = arrow_schema(Prompt)
    assert prompt_schema.field("metadata").type == pa.string()
    assert not schema.field("id").nullable and schema.field("rationale").nullable


def test_contract_column_names_are_present():
    names = set(arrow_schema(PreferencePair).names)
    contract = {"id", "prompt_id", "domain", "prompt", "chosen", "rejected", "chosen_model", "rejected_model",
                "chosen_score", "rejected_score", "pair_source", "margin", "strength", "rationale", "label_source",
                "routing", "error_edit", "run_id", "config_hash", "created_at"}
    assert contract <= names
    assert {"stage", "reason", "record_id", "payload", "error", "run_id"} <= set(arrow_schema(DeadLetter).names)


def test_records_reject_unknown_keys_and_out_of_range_values():
    with pytest.raises(ValidationError, match="extra"):
        Message(role="user", content="x", colour="red")
    with pytest.raises(ValidationError):
        _pair(strength=4)
    with pytest.raises(ValidationError, match="non-empty user message"):
        Prompt(id="p", messages=[Message(role="user", content="  ")])


def test_a_copy_with_changes_is_validated_like_an_assignment():
    import pydantic

    from prefmill.schemas import Message, PreferencePair

    pair = PreferencePair(id="p", prompt_id="q", domain="chat", prompt=[Message(role="user", content="hi")],
                          chosen=[Message(role="assistant", content="a")], rejected=[Message(role="assistant", content="b")],
                          chosen_model="m", rejected_model="n", pair_source="delta", label_source="ai",
                          chosen_candidate_id="c1", rejected_candidate_id="c2", run_id="r", config_hash="h")
    assert pair.model_copy(update={"strength": 2}).strength == 2
    with pytest.raises(pydantic.ValidationError):
        pair.model_copy(update={"strength": 9})
    with pytest.raises(pydantic.ValidationError):
        pair.model_copy(update={"no_such_field": 1})
