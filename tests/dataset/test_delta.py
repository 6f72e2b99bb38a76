"""Delta commits of Parquet parts: one version per run, idempotent per run id, metadata kept."""

from __future__ import annotations

import io
import os

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from prefmill.schemas import DatasetError, DeadLetter, to_table
from prefmill.dataset import commit_run_files, list_versions, version_info


def write_part(table_uri: str, run_id: str, records: list) -> dict:
    table = to_table(records, DeadLetter)
    relative = f"{run_id}/part-0.parquet"
    os.makedirs(os.path.join(table_uri, run_id), exist_ok=True)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    with open(os.path.join(table_uri, relative), "wb") as handle:
        handle.write(buffer.getvalue())
    return {"path": relative, "rows": table.num_rows, "bytes": len(buffer.getvalue()), "mtime_ms": 1}


def letters(n: int, run: str) -> list:
    return [DeadLetter(stage="read", reason="malformed_json", payload=f"{run}-{i}", run_id=run) for i in range(n)]


def test_same_run_committed_twice_appends_once(tmp_path):
    uri = str(tmp_path / "t")
    part = write_part(uri, "run-a", letters(3, "a"))
    assert commit_run_files(uri, [part], DeadLetter, run_id="run-a", metadata={"rows": 3}) == (0, True)
    assert commit_run_files(uri, [part], DeadLetter, run_id="run-a", metadata={"rows": 3}) == (0, False)
    part_b = write_part(uri, "run-b", letters(2, "b"))
    assert commit_run_files(uri, [part_b], DeadLetter, run_id="run-b", metadata={}, mode="append") == (1, True)
    assert commit_run_files(uri, [part_b], DeadLetter, run_id="run-b", metadata={}, mode="append") == (1, False)
    assert DeltaTable(uri).version() == 1
    assert DeltaTable(uri).to_pyarrow_table().num_rows == 5


def test_overwrite_keeps_old_versions_readable(tmp_path):
    uri = str(tmp_path / "t")
    commit_run_files(uri, [write_part(uri, "r1", letters(3, "r1"))], DeadLetter, run_id="r1", metadata={"rows": 3})
    commit_run_files(uri, [write_part(uri, "r2", letters(1, "r2"))], DeadLetter, run_id="r2", metadata={"rows": 1})
    assert DeltaTable(uri).to_pyarrow_table().column("run_id").to_pylist() == ["r2"]
    assert DeltaTable(uri, version=0).to_pyarrow_table().num_rows == 3
    versions = list_versions(uri)
    assert [(v.version, v.run_id, v.rows, v.parent) for v in versions] == [(0, "r1", 3, None), (1, "r2", 1, 0)]
    assert versions[1].metadata["mode"] == "overwrite"


def test_a_run_with_no_rows_still_makes_a_version(tmp_path):
    uri = str(tmp_path / "t")
    assert commit_run_files(uri, [], DeadLetter, run_id="empty", metadata={"rows": 0}) == (0, True)
    assert DeltaTable(uri).to_pyarrow_table().num_rows == 0
    assert DeltaTable(uri).schema().to_arrow().names[:2] == ["stage", "reason"]


def test_missing_version_is_a_clear_error(tmp_path):
    uri = str(tmp_path / "t")
    commit_run_files(uri, [], DeadLetter, run_id="r", metadata={})
    with pytest.raises(DatasetError, match="no version 5"):
        version_info(uri, 5)
    with pytest.raises(DatasetError, match="no dataset"):
        list_versions(str(tmp_path / "absent"))
