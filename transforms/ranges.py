"""Split input files into ranges that workers read in parallel, keeping every row's line number.

A JSONL file is cut at line starts about every `split_bytes`; a Parquet file at row-group boundaries.
Each range knows the number of its first row, so dead letters still name `file:line` and "first
occurrence" keeps meaning input order (file, then line). Compressed JSONL cannot be sought into and stays
one range. Planning a JSONL file reads it once, counting newlines in large blocks (memchr speed); the
rows themselves are parsed only by the readers.
"""

from __future__ import annotations

from typing import Any, Iterator, NamedTuple, Optional

from apache_beam.io.filesystems import FileSystems

DEFAULT_SPLIT_BYTES = 32 * 1024 * 1024
_BLOCK = 8 * 1024 * 1024
_COMPRESSED = (".gz", ".bz2", ".zst", ".deflate")


class FileRange(NamedTuple):
    ordinal: int  # position of the file in the sorted input list
    path: str
    start: int  # JSONL: byte offset of a line start; Parquet: first row group
    end: Optional[int]  # JSONL: byte offset where the next range starts; Parquet: row group after the last
    first_row: int  # 0-based line (JSONL) or row (Parquet) number of the range's first row


class RawRow(NamedTuple):
    source: str
    ordinal: int
    index: int  # 0-based line or row number within the file
    raw: Any  # bytes (JSONL line) or dict (Parquet / HF row)

    @property
    def position(self) -> tuple[int, int]:
        return self.ordinal, self.index


def plan_jsonl(ordinal: int, path: str, split_bytes: int = DEFAULT_SPLIT_BYTES) -> Iterator[FileRange]:
    """Ranges of one JSONL file, each starting at a line start, with the line number it starts at."""
    if path.lower().endswith(_COMPRESSED):
        yield FileRange(ordinal, path, 0, None, 0)
        return
    start, start_line = 0, 0
    offset, lines = 0, 0  # bytes and newlines read so far
    target = split_bytes
    with FileSystems.open(path) as handle:
        while True:
            block = handle.read(_BLOCK)
            if not block:
                break
            cursor = 0
            while offset + len(block) > target:
                newline = block.find(b"\n", max(target - offset, cursor))
                if newline < 0:
                    break  # the line crossing the target ends in a later block
                boundary = offset + newline + 1
                boundary_line = lines + block.count(b"\n", 0, newline + 1)
                yield FileRange(ordinal, path, start, boundary, start_line)
                start, start_line = boundary, boundary_line
                target, cursor = boundary + split_bytes, newline + 1
            offset += len(block)
            lines += block.count(b"\n")
    yield FileRange(ordinal, path, start, None, start_line)


def read_jsonl(file_range: FileRange) -> Iterator[RawRow]:
    """The non-blank lines of one range, with their line numbers."""
    ordinal, path, start, end, index = file_range
    with FileSystems.open(path) as handle:
        if start:
            handle.seek(start)
        position = start
        for line in iter(handle.readline, b""):  # compressed files have readline, not iteration
            if end is not None and position >= end:
                break
            position += len(line)
            line = line.rstrip(b"\r\n")
            if line.strip():  # blank lines separate nothing and carry no row
                yield RawRow(path, ordinal, index, line)
            index += 1


def plan_parquet(ordinal: int, path: str, groups_per_range: int = 4) -> Iterator[FileRange]:
    import pyarrow.parquet as pq

    with FileSystems.open(path) as handle:
        metadata = pq.ParquetFile(handle).metadata
    first = 0
    for group in range(0, metadata.num_row_groups, groups_per_range):
        last = min(group + groups_per_range, metadata.num_row_groups)
        yield FileRange(ordinal, path, group, last, first)
        first += sum(metadata.row_group(g).num_rows for g in range(group, last))
    if metadata.num_row_groups == 0:
        yield FileRange(ordinal, path, 0, 0, 0)


def read_parquet(file_range: FileRange) -> Iterator[RawRow]:
    import pyarrow.parquet as pq

    ordinal, path, start, end, index = file_range
    with FileSystems.open(path) as handle:
        groups = list(range(start, end))
        if not groups:
            return
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=2048, row_groups=groups):
            for row in batch.to_pylist():
                yield RawRow(path, ordinal, index, row)
                index += 1
