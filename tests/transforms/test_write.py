"""WriteTable streams rows into parts of at most rows_per_file rows; read back, the rows are all there."""

from __future__ import annotations

import apache_beam as beam
import pyarrow.dataset as ds
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from prefmill.schemas import DeadLetter
from prefmill.transforms.write import WriteTable
from prefmill.transforms import write as writer
from prefmill.transforms.write import read_manifest


def test_parts_split_at_rows_per_file_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "BATCH_ROWS", 3)  # several row groups per part, and batches that cross parts
    records = [DeadLetter(stage="s", reason=f"r{i % 4}", record_id=str(i), payload="{}", error="", run_id="run")
               for i in range(23)]
    table, manifest = str(tmp_path / "dead"), str(tmp_path / "parts.jsonl")
    with beam.Pipeline(runner=FnApiRunner()) as p:
        _ = p | beam.Create(records, reshuffle=False) | WriteTable(table, "run", DeadLetter, manifest, rows_per_file=5)
    parts = read_manifest(manifest)
    assert sorted(part["rows"] for part in parts) == [3, 5, 5, 5, 5]
    assert all(part["path"].startswith("run/part-") and part["bytes"] > 0 for part in parts)
    rows = ds.dataset([f"{table}/{part['path']}" for part in parts]).to_table().to_pylist()
    assert sorted(int(r["record_id"]) for r in rows) == list(range(23))
    assert {r["reason"] for r in rows if r["record_id"] == "6"} == {"r2"}
