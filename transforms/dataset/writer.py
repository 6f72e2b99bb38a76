"""WriteTable: records -> Parquet parts under `<table>/<run_id>/`, and a manifest of the parts.

Workers only write files; nothing is visible to readers until the launcher commits the manifest's files
as a Delta version. Parts are flushed every `rows_per_file` rows so memory stays bounded. A bundle that
fails and is retried may leave an orphan part on storage, but only parts of bundles the runner committed
reach the manifest (it is written from this transform's output), so an orphan is never committed.
"""

from __future__ import annotations

import io
import json
import time
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from prefmill.schemas import arrow_schema, to_row
from prefmill.transforms.base import METRIC_PREFIX
from prefmill.transforms.progress import BOARD


class _WriteParts(beam.DoFn):
    def __init__(self, table_uri: str, run_id: str, model: type, rows_per_file: int) -> None:
        self.table_uri = table_uri.rstrip("/")
        self.run_id = run_id
        self.model = model
        self.rows_per_file = rows_per_file
        self.rows_counter = Metrics.counter(METRIC_PREFIX + "write", f"rows_{model.__name__}")
        self.files_counter = Metrics.counter(METRIC_PREFIX + "write", f"files_{model.__name__}")

    def start_bundle(self) -> None:
        self.rows: list[dict] = []

    def process(self, record):
        self.rows.append(to_row(record))
        BOARD.bump("write")
        if len(self.rows) >= self.rows_per_file:
            yield self._flush()

    def finish_bundle(self):
        if self.rows:
            yield WindowedValue(self._flush(), GlobalWindow().max_timestamp(), [GlobalWindow()])

    def _flush(self) -> dict:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(self.rows, schema=arrow_schema(self.model))
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        data = buffer.getvalue()
        relative = f"{self.run_id}/part-{uuid.uuid4().hex}.parquet"
        with FileSystems.create(f"{self.table_uri}/{relative}") as handle:
            handle.write(data)
        self.rows_counter.inc(table.num_rows)
        self.files_counter.inc()
        self.rows = []
        return {"path": relative, "rows": table.num_rows, "bytes": len(data), "mtime_ms": int(time.time() * 1000)}


class WriteTable(beam.PTransform):
    """Write records of one model as Parquet parts of a table and list the parts in `manifest_path`."""

    def __init__(self, table_uri: str, run_id: str, model: type, manifest_path: str,
                 rows_per_file: int = 100_000) -> None:
        super().__init__()
        self.table_uri = table_uri
        self.run_id = run_id
        self.model = model
        self.manifest_path = manifest_path
        self.rows_per_file = rows_per_file

    def expand(self, records):
        parts = records | "WriteParts" >> beam.ParDo(
            _WriteParts(self.table_uri, self.run_id, self.model, self.rows_per_file)
        )
        return (
            parts
            | "PartToJson" >> beam.Map(json.dumps, sort_keys=True)
            | "WriteManifest" >> beam.io.WriteToText(self.manifest_path, num_shards=1, shard_name_template="")
        )


def read_manifest(manifest_path: str) -> list[dict]:
    """The parts listed in a manifest; raises FileNotFoundError when the job never wrote it."""
    if not FileSystems.exists(manifest_path):
        raise FileNotFoundError(manifest_path)
    with FileSystems.open(manifest_path) as handle:
        return [json.loads(line) for line in handle.read().decode("utf-8").splitlines() if line.strip()]
