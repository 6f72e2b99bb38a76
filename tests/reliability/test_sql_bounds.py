"""`prefmill sql` is bounded: a statement timeout, a memory limit, a private temporary folder (nothing the
user can see is on DuckDB's allow-list), and a row limit for display formats (csv and json stream)."""

from __future__ import annotations

import pytest

from prefmill.pipelines.cli import main

from support import run_cli_measured


def test_a_runaway_cross_join_is_stopped_by_the_timeout(quickstart_uri, capsys):
    code = main(["sql", quickstart_uri, "SELECT count(*) FROM range(100000) a, range(100000) b, range(1000) c",
                 "--timeout", "0.5"])
    assert code == 2
    assert "stopped after 0.5 s" in capsys.readouterr().err


def test_a_huge_result_is_capped_for_display_and_memory_stays_small(quickstart_uri):
    done, peak_mib = run_cli_measured(["sql", quickstart_uri, "SELECT * FROM range(20000000)"], timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1002  # header, rule, 1,000 rows
    assert "1,000 rows shown" in done.stderr
    assert peak_mib < 1024, f"peak {peak_mib:.0f} MiB"  # the unbounded CLI reached 4.7 GiB on this query


def test_csv_and_json_stream_with_max_rows(quickstart_uri, capsys):
    assert main(["sql", quickstart_uri, "SELECT * FROM range(10)", "--format", "csv", "--max-rows", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == ["range", "0", "1", "2"]
    assert main(["sql", quickstart_uri, "SELECT * FROM range(2)", "--format", "json"]) == 0
    assert capsys.readouterr().out == '[\n  {"range": 0},\n  {"range": 1}\n]\n'


@pytest.mark.parametrize("query", [
    "COPY (SELECT 1) TO '.tmp/out.csv'",
    "EXPORT DATABASE '.tmp/export'",
    "ATTACH '.tmp/other.duckdb' AS other",
    "SELECT * FROM read_csv('.tmp/planted.csv')",
])
def test_the_working_directory_tmp_folder_is_not_reachable(quickstart_uri, tmp_path, monkeypatch, capsys, query):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "planted.csv").write_text("a\n1\n")
    assert main(["sql", quickstart_uri, query]) == 2
    assert "query failed" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / ".tmp").iterdir()) == ["planted.csv"]
