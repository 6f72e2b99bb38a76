"""The quickstart on the bundled sample data, on a real FnApiRunner, real Delta table and real DuckDB."""

from __future__ import annotations

import json

import pytest

from prefmill.pipelines.config import load_config
from prefmill.pipelines.launcher import run_config
from prefmill.schemas import ConfigError
from prefmill.dataset import run_query

from support import REPO, SAMPLE


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Run the quickstart config twice into one fresh dataset."""
    uri = str(tmp_path_factory.mktemp("quickstart") / "dataset")
    config = load_config(REPO / "pipelines" / "configs" / "quickstart.yaml").model_copy()
    config.input.path = str(SAMPLE)
    first = run_config(config, output=uri, progress=False)
    second = run_config(config, output=uri, progress=False)
    return uri, first, second


def test_exact_counts_per_stage(two_runs):
    _, summary, _ = two_runs
    got = {s.name: (s.rows_in, s.rows_out, s.dead, s.emitted, s.reasons) for s in summary.stages}
    # 64 prompts: 24 math, 14 code, 14 instruction, 12 chat (chat has no verifier: `unverified`).
    # Verified pairs: 2 math prompts where every response is wrong, 3 where every response is right; the
    # other 19 math prompts and every code and instruction prompt give 2 pairs each (max_pairs_per_prompt).
    # RISE: 22 math prompts have a correct response to edit; 12 edits are accepted, 10 discarded because
    # the completed solution still reaches the reference (answer_unchanged). Each accepted edit gives a
    # solution pair and a step pair, and cuts that prompt's verified pairs to one (sampled_per_self_edit).
    # Pairs: math 28 verified + 24 self-edit, code 28, instruction 28, and chat 24 delta pairs (2 per chat
    # prompt, stronger model chosen) = 132. One truncated math response is dead-lettered by generate.
    # Routing: the 24 delta pairs are AI-labelled and eligible; the budget sends exactly 10 to humans.
    assert got == {
        "read": (64, 64, 0, 64, {}),
        "dedupe": (64, 64, 0, 64, {}),
        "generate": (64, 64, 0, 64, {"truncated": 1}),
        "verify": (64, 64, 0, 64, {}),
        "inject": (64, 64, 0, 64, {"answer_unchanged": 10}),
        "pairs": (64, 61, 3, 132, {"no_passing_candidate": 2, "no_failing_candidate": 1}),
        "route": (132, 132, 0, 132, {}),
    }
    route = summary.stage("route").extra
    assert (route["routed_human"], route["routed_ai"], route["routed_verifier_kept_ai"]) == (10, 122, 108)
    assert summary.stage("inject").extra["edits_attempted"] == 22
    assert summary.stage("inject").extra["edits_accepted"] == 12
    assert summary.balanced and summary.rows_in == 64 and summary.rows_dead == 3
    assert (summary.pairs_written, summary.dead_letters_written) == (132, 14)
    assert (summary.pairs_version, summary.dead_letters_version) == (0, 0)


def test_second_run_writes_version_1_and_version_0_stays_readable(two_runs):
    uri, first, second = two_runs
    assert (second.pairs_version, second.dead_letters_version) == (1, 1)
    count_sql = "SELECT count(*), count(DISTINCT id), min(run_id), max(run_id) FROM pairs"
    assert run_query(uri, count_sql, version=0)[1] == [(132, 132, first.run_id, first.run_id)]
    assert run_query(uri, count_sql, version=1)[1] == [(132, 132, second.run_id, second.run_id)]
    ids_v0 = run_query(uri, "SELECT id FROM pairs ORDER BY id", version=0)[1]
    ids_v1 = run_query(uri, "SELECT id FROM pairs ORDER BY id")[1]
    assert ids_v0 == ids_v1  # same config, same pairs: ids are stable across runs
    dead = run_query(uri, "SELECT count(*), min(run_id) FROM dead_letters", version=0)[1]
    assert dead == [(14, first.run_id)]


def test_pairs_agree_with_the_sample_authors_intent(two_runs):
    uri, _, _ = two_runs
    intent = {}
    for line in SAMPLE.read_text().splitlines():
        row = json.loads(line)
        for c in row["candidates"]:
            intent[(row["id"], c["text"])] = c["intended"]
    _, rows = run_query(uri, "SELECT prompt_id, domain, chosen[1].content, rejected[1].content, rationale FROM pairs "
                             "WHERE pair_source = 'verified'")
    assert len(rows) == 84
    evidence = {"math": "reference answer", "code": "tests", "instruction": "follows every instruction"}
    for prompt_id, domain, chosen, rejected, rationale in rows:
        assert intent[(prompt_id, chosen)] == "correct"
        assert intent[(prompt_id, rejected)] in ("wrong", "off_format")
        assert evidence[domain] in rationale
    _, rows = run_query(uri, "SELECT prompt_id, chosen[1].content, rejected[1].content, error_edit.edited_span.text, "
                             "rationale FROM pairs WHERE pair_source = 'self_edit' AND granularity = 'solution'")
    assert len(rows) == 12
    for prompt_id, chosen, rejected, edited_text, rationale in rows:
        assert intent[(prompt_id, chosen)] == "correct" and rejected != chosen
        assert edited_text in rejected and "differs from reference" in rationale
    _, rows = run_query(uri, "SELECT prompt_id, chosen_model, rejected_model FROM pairs WHERE pair_source = 'delta'")
    assert len(rows) == 24 and all(p.startswith("chat-") for p, _, _ in rows)
    rank = {"atlas-70b": 0, "birch-8b": 1, "cedar-1b": 2}
    assert all(rank[c] < rank[r] for _, c, r in rows)
    _, rows = run_query(uri, "SELECT pair_source, routing.decision, count(*) FROM pairs GROUP BY ALL ORDER BY ALL")
    assert ("delta", "human", 10) in rows and not [r for r in rows if r[0] != "delta" and r[1] == "human"]


def test_commit_metadata_records_lineage(two_runs):
    from prefmill.dataset import DatasetPaths, list_versions

    uri, first, _ = two_runs
    v0 = list_versions(DatasetPaths.of(uri).table("pairs"))[0]
    assert v0.run_id == first.run_id and v0.config_hash == first.config_hash
    assert v0.metadata["schema_version"] == "4"
    assert v0.metadata["models"] == ["atlas-70b", "atlas-70b+rule-edit", "birch-8b", "birch-8b+rule-edit",
                                      "cedar-1b", "cedar-1b+rule-edit"]
    assert v0.metadata["stages"]["pairs"]["emitted"] == 132
    assert v0.rows == 132
    assert v0.metadata["routing"] == {"policy": "uncertainty", "budget": 10.0, "budget_unit": "count"}


def test_bad_input_run_balances(make_config):
    from support import BAD_INPUT, bad_input_reasons

    summary = run_config(make_config(BAD_INPUT, input={"max_row_bytes": 4096}), progress=False)
    read, dedupe = summary.stage("read"), summary.stage("dedupe")
    assert (read.rows_in, read.rows_out, read.dead) == (12, 3, 9)
    assert (dedupe.rows_in, dedupe.rows_out, dedupe.dead) == (3, 2, 1)
    assert summary.balanced and summary.rows_in == summary.rows_out + summary.rows_dead
    _, rows = run_query(summary.uri, "SELECT reason, record_id FROM dead_letters WHERE stage IN ('read', 'dedupe')")
    assert sorted(rows) == sorted(bad_input_reasons())


def test_a_run_whose_counts_do_not_balance_commits_nothing(tmp_path, monkeypatch, capsys):
    from prefmill.pipelines import launcher
    from prefmill.dataset.delta import open_table
    from prefmill.dataset.layout import PAIRS, DatasetPaths

    real = launcher.counters_from_result

    def lose_three_rows(result):  # as if 3 parsed rows never reached the dedupe stage
        counters = real(result)
        counters[("prefmill.dedupe", "in")] -= 3
        counters[("prefmill.dedupe", "out")] -= 3
        return counters

    monkeypatch.setattr(launcher, "counters_from_result", lose_three_rows)
    config = load_config(REPO / "pipelines" / "configs" / "quickstart.yaml")
    with pytest.raises(launcher.PipelineFailedError, match="rows were lost"):
        run_config(config, output=str(tmp_path / "ds"), progress=False)
    assert "NOT BALANCED" in capsys.readouterr().out
    assert open_table(DatasetPaths.of(str(tmp_path / "ds")).table(PAIRS)) is None  # no version at all


def test_staged_routing_parts_are_removed_after_the_commit(two_runs):
    import os

    uri, first, second = two_runs
    for summary in (first, second):
        run_dir = os.path.join(uri, "_prefmill", "runs", summary.run_id)
        assert os.path.exists(os.path.join(run_dir, "summary.json"))
        assert not os.path.exists(os.path.join(run_dir, "staged"))


def test_local_multi_threading_with_several_workers_is_refused(tmp_path):
    config = load_config(REPO / "pipelines" / "configs" / "quickstart.yaml")
    with pytest.raises(ConfigError, match="use multi_processing"):
        run_config(config, output=str(tmp_path / "ds"), progress=False,
                   beam_args=["--direct_num_workers=2", "--direct_running_mode=multi_threading"])


def test_the_readme_shows_what_the_quickstart_prints(two_runs):
    """The README's example output is the run's own summary, line for line (but the run id, time and path)."""
    _, summary, _ = two_runs
    readme = (REPO / "README.md").read_text()
    lines = summary.render().splitlines()
    checked = [line for line in lines[1:] if not line.startswith("dataset ")]
    assert len(checked) >= 12
    for line in checked:
        assert line in readme, line
    bias = next(line for line in lines if line.startswith("length bias: "))
    assert readme.count(bias) == 2  # the example output, and the length-bias paragraph quoting it
