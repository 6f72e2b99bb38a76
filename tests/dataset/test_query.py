"""SQL is read-only: no statement can change, delete or copy dataset data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from prefmill.pipelines.launcher import run_config
from prefmill.schemas import DatasetError
from prefmill.dataset import open_dataset, run_query


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    from prefmill.pipelines.config import validate_config

    from support import SAMPLE

    uri = str(tmp_path_factory.mktemp("query") / "ds")
    return run_config(validate_config({"input": {"path": str(SAMPLE)}, "output": {"uri": uri}}), progress=False).uri


def fingerprint(root: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("statement", [
    "DELETE FROM pairs",
    "UPDATE pairs SET rationale = 'x'",
    "INSERT INTO pairs SELECT * FROM pairs",
    "COPY pairs TO '{root}/pairs/evil.parquet' (FORMAT parquet)",
    "COPY (SELECT 1) TO '{root}/../escape.csv'",
    "ATTACH '{root}/db.duckdb' AS db",
    "SELECT * FROM read_parquet('{root}/pairs/*/*.parquet')",
    "SET enable_external_access = true",
    "INSTALL delta",
])
def test_statements_that_would_change_or_reach_files_fail(dataset, statement):
    before = fingerprint(dataset)
    with pytest.raises(DatasetError, match="query failed"):
        run_query(dataset, statement.format(root=dataset))
    assert fingerprint(dataset) == before
    assert run_query(dataset, "SELECT count(*) FROM pairs")[1] == [(94,)]


def test_views_in_a_session_are_scratch_only(dataset):
    con, version = open_dataset(dataset)
    con.execute("DROP VIEW pairs")  # drops the session's view, not data
    con.close()
    assert version == 0 and run_query(dataset, "SELECT count(*) FROM pairs")[1] == [(94,)]


def test_unknown_version_is_a_clear_error(dataset):
    with pytest.raises(DatasetError, match="no version 3"):
        run_query(dataset, "SELECT 1", version=3)
