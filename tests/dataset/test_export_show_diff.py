"""show, diff and exports on a real quickstart dataset; exports load with `datasets` as they are."""

from __future__ import annotations

import json

import datasets
import pyarrow.parquet as pq
import pytest

from prefmill.pipelines.cli import main
from prefmill.pipelines.config import load_config
from prefmill.pipelines.launcher import run_config
from prefmill.schemas import DatasetError
from prefmill.dataset.export import export, parse_splits
from prefmill.dataset.overview import diff, show

from support import REPO, SAMPLE


@pytest.fixture
def quickstart(quickstart_uri):
    return quickstart_uri


def test_show_counts(quickstart):
    info = show(quickstart)
    assert info["pairs"] == 132 and info["dead_letters"] == 14
    assert dict(info["counts"]["pair source"]) == {"verified": 84, "delta": 24, "self_edit": 24}
    types = dict(info["schema"])
    assert types["routing"].startswith("STRUCT(decision VARCHAR") and types["margin"] == "DOUBLE"


@pytest.mark.parametrize("fmt,columns", [
    ("trl-dpo", ["prompt", "chosen", "rejected"]),
    ("trl-reward", ["prompt", "chosen", "rejected", "margin"]),
    ("rdpo", ["prompt", "chosen", "rejected", "rationale"]),
    ("step-dpo", ["prompt", "initial_reason_steps", "chosen", "rejected", "error_type"]),
    ("openrlhf", ["prompt", "chosen", "rejected"]),
])
def test_trainer_formats_load_with_datasets(quickstart, tmp_path, fmt, columns):
    counts = export(quickstart, fmt, str(tmp_path), splits={"test": 0.2})
    loaded = datasets.load_dataset("parquet", data_files={k: str(tmp_path / f"{k}.parquet") for k in counts})
    assert loaded["train"].column_names == columns
    # 132 pairs, 12 of them RISE step pairs: those go to step-dpo only (a conversational trainer would render
    # the step as a new assistant turn instead of continuing the prefix)
    assert sum(len(loaded[k]) for k in counts) == (12 if fmt == "step-dpo" else 120)
    row = loaded["train"][0]
    if fmt in ("trl-dpo", "trl-reward", "rdpo"):
        assert row["prompt"][0]["role"] == "user" and row["chosen"][0]["role"] == "assistant"
    if fmt == "openrlhf":
        assert [m["role"] for m in row["chosen"]][:1] == ["user"] and row["chosen"][-1]["role"] == "assistant"
    assert "Preference dataset" in (tmp_path / "README.md").read_text()


def test_splits_are_by_prompt_and_deterministic(quickstart, tmp_path):
    export(quickstart, "parquet", str(tmp_path / "a"), splits={"test": 0.3})
    export(quickstart, "parquet", str(tmp_path / "b"), splits={"test": 0.3})
    train = set(pq.read_table(tmp_path / "a" / "train.parquet").column("prompt_id").to_pylist())
    test = set(pq.read_table(tmp_path / "a" / "test.parquet").column("prompt_id").to_pylist())
    assert train and test and not train & test
    assert pq.read_table(tmp_path / "a" / "test.parquet").equals(pq.read_table(tmp_path / "b" / "test.parquet"))


def test_where_filter_jsonl_and_openrlhf_keys(quickstart, tmp_path, capsys):
    assert main(["export", quickstart, "--format", "jsonl", "--out", str(tmp_path / "j"),
                 "--where", "domain = 'code'"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "j" / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 28 and {r["domain"] for r in rows} == {"code"}
    assert "filtered by `domain = 'code'`" in (tmp_path / "j" / "README.md").read_text()
    assert main(["export", quickstart, "--format", "openrlhf", "--out", str(tmp_path / "o"),
                 "--keys", "chosen=chosen_conv,rejected=rejected_conv"]) == 0
    assert pq.read_table(tmp_path / "o" / "train.parquet").column_names == ["prompt", "chosen_conv", "rejected_conv"]
    with pytest.raises(DatasetError, match="export query failed"):
        export(quickstart, "trl-dpo", str(tmp_path / "x"), where="no_such_column = 1")
    with pytest.raises(DatasetError, match="--split"):
        parse_splits("test=0.7,validation=0.5")


def test_diff_between_versions(tmp_path):
    config = load_config(REPO / "pipelines" / "configs" / "quickstart.yaml")
    config.input.path = str(SAMPLE)
    uri = str(tmp_path / "ds")
    run_config(config, output=uri, progress=False)
    assert diff(uri, 0, 0) == {"added": [], "removed": [], "changed": []}
    config.pairs.max_pairs_per_prompt = 1
    config.route.budget = 3
    run_config(config, output=uri, progress=False)
    changes = diff(uri, 0, 1)
    assert len(changes["removed"]) > 0 and changes["added"] == []
    assert len(changes["changed"]) > 0  # routing decisions moved with the smaller budget


def test_steps_can_be_included_on_request(quickstart, tmp_path):
    assert sum(export(quickstart, "trl-dpo", str(tmp_path / "a"), include_steps=True).values()) == 132
    assert sum(export(quickstart, "parquet", str(tmp_path / "b")).values()) == 132  # not conversational: all


def test_a_non_empty_target_is_refused_and_overwrite_replaces_it_whole(quickstart, tmp_path):
    from prefmill.schemas import DatasetError

    out = tmp_path / "dpo"
    export(quickstart, "trl-dpo", str(out), splits={"test": 0.2})
    (out / "stale-test.parquet").write_bytes(b"an earlier export's split")
    with pytest.raises(DatasetError, match="--overwrite"):
        export(quickstart, "trl-dpo", str(out))
    counts = export(quickstart, "trl-dpo", str(out), overwrite=True)  # no split this time
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "train.parquet"]  # nothing stale survives
    assert counts == {"train": 120}
    assert [p.name for p in tmp_path.iterdir()] == ["dpo"]  # no staging folder left beside it


def test_step_dpo_export_with_a_system_turn_keeps_the_question_and_the_steps_apart(tmp_path):
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if '"domain": "math"' in line][:6]
    for row in rows:
        row["prompt"] = [{"role": "system", "content": "You are a careful tutor."},
                         {"role": "user", "content": row["prompt"]}]
    path = tmp_path / "with-system.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    questions = {r["prompt"][1]["content"] for r in rows}
    config = load_config(REPO / "pipelines/configs/quickstart.yaml").model_copy()
    config.input.path = str(path)
    summary = run_config(config, output=str(tmp_path / "ds"), progress=False)
    export(summary.uri, "step-dpo", str(tmp_path / "steps"))
    exported = pq.read_table(tmp_path / "steps" / "train.parquet").to_pylist()
    assert exported, "the quickstart's rule editor gives step pairs on these prompts"
    for row in exported:
        assert row["prompt"] in questions  # the question, not the system message
        assert "careful tutor" not in row["initial_reason_steps"]
        assert row["initial_reason_steps"] == "" or row["initial_reason_steps"].startswith("Step 1")


def test_an_unknown_format_names_the_registered_ones(quickstart, tmp_path, capsys):
    from prefmill.dataset.export import EXPORT_FORMATS

    assert main(["export", quickstart, "--format", "trl-dop", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown format 'trl-dop'" in err and all(name in err for name in EXPORT_FORMATS)


def test_reward_augmented_export_conditions_each_pair_on_both_scores(quickstart, tmp_path):
    from prefmill.dataset.query import run_query

    counts = export(quickstart, "reward-augmented", str(tmp_path))
    scored = run_query(quickstart, "SELECT count(*) FROM pairs WHERE chosen_score IS NOT NULL AND rejected_score IS "
                                   "NOT NULL AND granularity <> 'step'")[1][0][0]
    assert scored > 0 and counts["train"] == 2 * scored  # delta pairs have no scores: left out
    rows = datasets.load_dataset("parquet", data_files=str(tmp_path / "train.parquet"))["train"]
    assert rows.column_names == ["prompt", "chosen", "rejected"]
    first, second = rows[0], rows[1]  # one pair's two rows: the goal of each response, the preference reversed
    assert first["prompt"][0]["role"] == "system" and first["prompt"][1:] == second["prompt"][1:]
    assert first["chosen"] == second["rejected"] and first["rejected"] == second["chosen"]
    goals = {first["prompt"][0]["content"], second["prompt"][0]["content"]}
    assert goals == {"Write a response whose quality reaches 1.00 on the verifier score (0-1) scale.",
                     "Write a response whose quality reaches 0.00 on the verifier score (0-1) scale."}
