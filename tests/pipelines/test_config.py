"""Config validation fails before any work, naming the key and the fix."""

from __future__ import annotations

import pytest

from prefmill.pipelines.config import load_config, validate_config
from prefmill.schemas import ConfigError

from support import REPO, SAMPLE


def base(**over):
    data = {"input": {"path": str(SAMPLE)}, "output": {"uri": "/tmp/x"}}
    data.update(over)
    return data


def error_of(data) -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(data)
    return str(info.value)


def test_quickstart_and_recipes_are_valid(in_repo):
    for path in sorted((REPO / "pipelines" / "configs").glob("*.yaml")):
        assert load_config(path).output.uri


def test_misspelled_key_names_the_path_and_a_suggestion():
    message = error_of(base(pairs={"max_pairs_per_promt": 3}))
    assert "pairs.max_pairs_per_promt: unknown key" in message
    assert "Did you mean 'max_pairs_per_prompt'?" in message


def test_unknown_top_level_section():
    assert "Did you mean 'verify'?" in error_of(base(verfy={}))


def test_wrong_type_names_the_value():
    message = error_of(base(pairs={"max_pairs_per_prompt": "many"}))
    assert "pairs.max_pairs_per_prompt" in message and '"many"' in message


def test_missing_required_key():
    assert "output: required key is missing" in error_of({"input": {"path": str(SAMPLE)}})


def test_missing_input_file_names_the_directory(tmp_path):
    message = error_of(base(input={"path": str(tmp_path / "nope.jsonl")}))
    assert "input.path: no file matches" in message and "current directory" in message


def test_bad_literal_and_unknown_field_name():
    assert "input.layout" in error_of(base(input={"path": str(SAMPLE), "layout": "csv"}))
    assert "unknown field name" in error_of(base(input={"path": str(SAMPLE), "fields": {"promt": "q"}}))


def test_file_level_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(listed)


def test_config_hash_ignores_output_and_runner():
    a = validate_config(base())
    b = validate_config(base(output={"uri": "/elsewhere"}, runner={"direct_num_workers": 2}))
    c = validate_config(base(pairs={"seed": 1}))
    assert a.data_hash() == b.data_hash() != c.data_hash()


def test_generate_models_mode_needs_models_with_unique_names():
    assert "needs at least one entry in generate.models" in error_of(base(generate={"mode": "models"}))
    model = {"name": "a", "backend": "openai", "model": "m"}
    assert "must be unique" in error_of(base(generate={"mode": "models", "models": [model, model]}))
    assert "generate.models.0.backend" in error_of(base(generate={"mode": "models", "models": [
        {"name": "a", "backend": "tgi", "model": "m"}]}))
