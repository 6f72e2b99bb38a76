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


def _with(**sections):
    return {"input": {"path": str(SAMPLE)}, "output": {"uri": "runs/x"}, **sections}


JUDGE = {"name": "j", "backend": "openai", "model": "m", "openai": {"base_url": "http://127.0.0.1:9/v1"}}


@pytest.mark.parametrize("sections,message", [
    ({"inject": {"enabled": True}}, "add self_edit to pairs.strategies"),
    ({"pairs": {"strategies": ["verified", "self_edit"]}}, "set inject.enabled: true"),
    ({"pairs": {"strategies": ["judged"]}}, "set judge.enabled: true"),
    ({"judge": {"enabled": True}, "pairs": {"strategies": ["judged"]}}, "judge.models is empty"),
    ({"pairs": {"strategies": ["delta"]}}, "needs pairs.model_strength"),
    ({"pairs": {"strategies": ["delta"], "model_strength": ["atlas-70b", "ATLAS-70B"]}}, "names a model twice"),
    ({"generate": {"mode": "models", "models": [{**JUDGE, "name": "atlas-70b"}, {**JUDGE, "name": "birch-8b"}]},
      "pairs": {"strategies": ["delta"], "model_strength": ["atlas-70b", "cedar-1b"]}},
     r"\['cedar-1b'\] match no generate.models name"),
    ({"route": {"enabled": True, "policy": "hyper_gain", "model_path": "no/such/model.json"}},
     "route.model_path no/such/model.json: no such file"),
    ({"judge": {"enabled": True, "models": [JUDGE]}}, "judgments become pairs only through the judged strategy"),
    ({"verify": {"enabled": False}, "inject": {"enabled": True}, "pairs": {"strategies": ["self_edit"]}},
     "RISE edits only verified-correct solutions"),
    ({"verify": {"enabled": False}}, "verified, but verify.enabled is false"),
])
def test_configs_that_would_silently_do_nothing_are_refused(sections, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(_with(**sections))


def test_a_base_url_without_a_scheme_is_refused():
    entry = {**JUDGE, "openai": {"base_url": "127.0.0.1:8000/v1"}}
    with pytest.raises(ConfigError, match=r"needs its scheme, e.g. http://127.0.0.1:8000/v1"):
        validate_config(_with(judge={"enabled": True, "models": [entry]}, pairs={"strategies": ["judged"]}))


def test_a_typo_inside_a_model_entry_lists_the_keys_of_that_entry():
    entry = {**JUDGE, "samplng": {"temperature": 0.0}}
    with pytest.raises(ConfigError, match=r"judge.models.0.samplng: unknown key for backend openai. Did you mean 'sampling'\? "
                                          r"Known keys here: .*backend.*sampling"):
        validate_config(_with(judge={"enabled": True, "models": [entry]}, pairs={"strategies": ["judged"]}))


def test_delta_names_match_whatever_their_case(tmp_path):
    from prefmill.pipelines.launcher import run_config

    summary = run_config(validate_config({
        "input": {"path": str(SAMPLE)}, "output": {"uri": str(tmp_path / "ds")}, "verify": {"enabled": False},
        "pairs": {"strategies": ["delta"], "model_strength": ["ATLAS-70B", "Birch-8b", "cedar-1b"]}}), progress=False)
    same = run_config(validate_config({
        "input": {"path": str(SAMPLE)}, "output": {"uri": str(tmp_path / "ds2")}, "verify": {"enabled": False},
        "pairs": {"strategies": ["delta"], "model_strength": ["atlas-70b", "birch-8b", "cedar-1b"]}}), progress=False)
    assert summary.pairs_written == same.pairs_written > 0


def test_a_scheme_in_capitals_is_a_scheme():
    entry = {**JUDGE, "openai": {"base_url": "HTTPS://api.example.com/v1"}}
    config = validate_config(_with(judge={"enabled": True, "models": [entry]}, pairs={"strategies": ["judged"]}))
    assert config.judge.models[0].openai.base_url == "HTTPS://api.example.com/v1"


@pytest.mark.parametrize("recipe,expected", [("quickstart.yaml", "2ed6e57ebdfd7bff"),
                                             ("generate_openai.yaml", "6d99b578aba8866d"),
                                             ("judge_tulu3.yaml", "d8577bba1d60a08d")])
def test_settings_added_later_leave_the_hash_of_a_config_that_does_not_use_them(recipe, expected, monkeypatch):
    """The hashes these recipes had before density_ratio, annotate, logprobs, scoring, quantization, prefix
    caching, label_source and min_density_margin existed: a config's `config_hash` must not move under it."""
    from support import REPO

    monkeypatch.setenv("TOGETHER_API_KEY", "x")
    monkeypatch.chdir(REPO)
    assert load_config(REPO / "pipelines" / "configs" / recipe).data_hash() == expected
