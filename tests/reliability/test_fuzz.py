"""Fuzzed input: any row, config or solution text gives a result or prefmill's own error, never another
exception and never a hang (hypothesis; no wall-clock deadline, see FUZZ)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefmill.pipelines.config import validate_config
from prefmill.schemas import ConfigError, PromptCandidates, Verdict
from prefmill.transforms.parse import RowError, field_map_for, parse_row
from prefmill.transforms.verify import extract_answer, verify_instructions, verify_math

# No per-example deadline: on a loaded machine a wall-clock deadline fails for reasons that are not the code's
# (the first example also starts the sympy helper). A hang still fails the run: the helper has its own timeout.
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
row_like = st.fixed_dictionaries({}, optional={
    "id": json_values, "prompt": json_values | st.text(max_size=200), "domain": json_values,
    "reference": json_values, "candidates": json_values, "messages": json_values, "question": json_values,
    "answer": json_values, "completions": json_values, "metadata": json_values,
})


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_raise_row_error(raw):
    try:
        assert isinstance(parse_row(raw, field_map_for("native"), max_row_bytes=300), PromptCandidates)
    except RowError as err:
        assert err.reason


@FUZZ
@given(row_like, st.sampled_from(["native", "question_answer", "prompt_completions", "messages"]))
def test_any_json_row_parses_or_raises_row_error(row, layout):
    for raw in (row, json.dumps(row).encode()):
        try:
            assert isinstance(parse_row(raw, field_map_for(layout)), PromptCandidates)
        except RowError as err:
            assert err.reason


@FUZZ
@given(st.dictionaries(st.sampled_from(["input", "output", "pairs", "verify", "generate", "route", "judge",
                                        "inject", "name", "bogus"]), json_values, max_size=6))
def test_any_config_validates_or_raises_config_error(data):
    try:
        validate_config(data)
    except ConfigError as err:
        assert str(err)


@FUZZ
@given(st.text(max_size=300), st.text(max_size=30))
def test_answer_extraction_and_math_verdicts_never_raise(text, reference):
    answer, method = extract_answer(text)
    assert answer is None or isinstance(answer, str)
    assert isinstance(verify_math(text, reference), Verdict)


@FUZZ
@given(st.text(max_size=200), st.lists(st.fixed_dictionaries(
    {"kind": st.sampled_from(["word_count", "no_commas", "keywords_include", "json_format", "bogus"]),
     "args": st.dictionaries(st.sampled_from(["relation", "value", "keywords", "phrase"]), json_values, max_size=3)}),
    max_size=3))
def test_instruction_verdicts_never_raise(text, constraints):
    assert isinstance(verify_instructions(text, constraints), Verdict)


@FUZZ
@given(st.text(max_size=300))
def test_any_yaml_text_loads_or_raises_config_error(tmp_path_factory, text):
    from prefmill.pipelines.config import load_config

    path = tmp_path_factory.mktemp("yaml") / "config.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as err:
        assert str(err)
