"""WriteTable: records -> Parquet parts under `<table>/<run_id>/`, and a manifest of the parts.

Workers only write files; nothing is visible to readers until the launcher commits the manifest's files
as a Delta version. Rows stream into the open part in row groups of BATCH_ROWS, and a part closes at
`rows_per_file` rows, so memory stays bounded whatever the bundle size. A bundle that
fails and is retried may leave an orphan part on storage, but only parts of bundles the runner committed
reach the manifest (it is written from this transform's output), so an orphan is never committed.
"""

from __future__ import annotations

import json
import time
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from prefmill.schemas import arrow_schema, to_row
from prefmill.transforms.base import count
from prefmill.transforms.progress import BOARD


BATCH_ROWS = 5_000  # rows converted and written per row group: bounds the writer's memory


def file_size(path: str) -> int:
    """Bytes of a written file, local or on a bucket (the Delta commit records each part's size)."""
    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes


class _WriteParts(beam.DoFn):
    def __init__(self, table_uri: str, run_id: str, model: type, rows_per_file: int) -> None:
        self.table_uri = table_uri.rstrip("/")
        self.run_id = run_id
        self.model = model
        self.rows_per_file = rows_per_file

    def start_bundle(self) -> None:
        self.rows: list[dict] = []
        self.part = None  # (relative path, file handle, ParquetWriter, rows written) of the open part

    def process(self, record):
        self.rows.append(to_row(record))
        BOARD.bump("write")
        if len(self.rows) >= BATCH_ROWS:
            self._write_batch()
        if self.part is not None and self.part[3] >= self.rows_per_file:
            yield self._close_part()

    def finish_bundle(self):
        while self.rows or self.part is not None:
            if self.rows:
                self._write_batch()
            if self.part is not None:  # rows beyond a full part stay in self.rows for the next one
                yield WindowedValue(self._close_part(), GlobalWindow().max_timestamp(), [GlobalWindow()])

    def _write_batch(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.part is None:
            relative = f"{self.run_id}/part-{uuid.uuid4().hex}.parquet"
            handle = FileSystems.create(f"{self.table_uri}/{relative}")
            self.part = [relative, handle, pq.ParquetWriter(handle, arrow_schema(self.model), compression="zstd"), 0]
        take = self.rows_per_file - self.part[3]
        batch, self.rows = self.rows[:take], self.rows[take:]
        self.part[2].write_table(pa.Table.from_pylist(batch, schema=arrow_schema(self.model)))
        self.part[3] += len(batch)

    def _close_part(self) -> dict:
        relative, handle, writer, rows = self.part
        writer.close()
        handle.close()
        self.part = None
        path = f"{self.table_uri}/{relative}"
        size = file_size(path)
        count("write", f"rows_{self.model.__name__}", rows)
        count("write", f"files_{self.model.__name__}")
        return {"path": relative, "rows": rows, "bytes": size, "mtime_ms": int(time.time() * 1000)}


class WriteParts(beam.PTransform):
    """Records of one model -> Parquet parts under `<table_uri>/<run_id>/`; outputs one dict per part."""

    def __init__(self, table_uri: str, run_id: str, model: type, rows_per_file: int = 100_000) -> None:
        super().__init__()
        self.table_uri = table_uri
        self.run_id = run_id
        self.model = model
        self.rows_per_file = rows_per_file

    def expand(self, records):
        return records | "WriteParts" >> beam.ParDo(
            _WriteParts(self.table_uri, self.run_id, self.model, self.rows_per_file))


class WriteManifest(beam.PTransform):
    """Part dicts -> one JSON line each in `manifest_path`, the list the launcher commits."""

    def __init__(self, manifest_path: str) -> None:
        super().__init__()
        self.manifest_path = manifest_path

    def expand(self, parts):
        return (
            parts
            | "PartToJson" >> beam.Map(json.dumps, sort_keys=True)
            | "WriteManifest" >> beam.io.WriteToText(self.manifest_path, num_shards=1, shard_name_template="")
        )


class WriteTable(beam.PTransform):
    """Write records of one model as Parquet parts of a table and list the parts in `manifest_path`."""

    def __init__(self, table_uri: str, run_id: str, model: type, manifest_path: str,
                 rows_per_file: int = 100_000) -> None:
        super().__init__()
        self.parts = WriteParts(table_uri, run_id, model, rows_per_file)
        self.manifest = WriteManifest(manifest_path)

    def expand(self, records):
        return records | "Parts" >> self.parts | "Manifest" >> self.manifest


def read_manifest(manifest_path: str) -> list[dict]:
    """The parts listed in a manifest; raises FileNotFoundError when the job never wrote it."""
    if not FileSystems.exists(manifest_path):
        raise FileNotFoundError(manifest_path)
    with FileSystems.open(manifest_path) as handle:
        return [json.loads(line) for line in handle.read().decode("utf-8").splitlines() if line.strip()]
