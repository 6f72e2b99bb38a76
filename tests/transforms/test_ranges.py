"""Input ranges: reading every range of a split file gives back exactly the file's rows and line numbers."""

from __future__ import annotations

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from prefmill.transforms import ranges
from prefmill.transforms.ranges import plan_jsonl, plan_parquet, read_jsonl, read_parquet


def _expected(lines: list[bytes]) -> list[tuple[int, bytes]]:
    return [(i, line.rstrip(b"\r")) for i, line in enumerate(lines) if line.rstrip(b"\r").strip()]


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x")), max_size=60),
       split=st.integers(1, 200), block=st.integers(1, 64), trailing_newline=st.booleans())
def test_ranges_cover_every_line_once(tmp_path_factory, lines, split, block, trailing_newline):
    path = tmp_path_factory.mktemp("r") / "rows.jsonl"
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    path.write_bytes(data)
    original = ranges._BLOCK
    ranges._BLOCK = block  # small blocks put split points on block edges too
    try:
        planned = list(plan_jsonl(3, str(path), split))
    finally:
        ranges._BLOCK = original
    got = [(row.index, row.raw) for r in planned for row in read_jsonl(r)]
    assert got == _expected(data.split(b"\n") if data else [])
    assert all(r.ordinal == 3 for r in planned) and planned[-1].end is None
    assert [r.start for r in planned[1:]] == [r.end for r in planned[:-1]]


def test_a_large_file_is_split_and_compressed_files_are_not(tmp_path):
    rows = [b'{"id": "%d", "prompt": "p"}' % i for i in range(5000)]
    plain = tmp_path / "a.jsonl"
    plain.write_bytes(b"\n".join(rows) + b"\n")
    planned = list(plan_jsonl(0, str(plain), split_bytes=10_000))
    assert len(planned) > 10
    assert [row.index for r in planned for row in read_jsonl(r)] == list(range(5000))
    packed = tmp_path / "a.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    (whole,) = plan_jsonl(1, str(packed), split_bytes=10_000)
    assert [row.raw for row in read_jsonl(whole)] == rows


def test_parquet_ranges_follow_row_groups(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": [str(i) for i in range(1000)]}), path, row_group_size=100)
    planned = list(plan_parquet(0, str(path), groups_per_range=3))
    assert [(r.start, r.end, r.first_row) for r in planned] == [(0, 3, 0), (3, 6, 300), (6, 9, 600), (9, 10, 900)]
    rows = [(row.index, row.raw["id"]) for r in planned for row in read_parquet(r)]
    assert rows == [(i, str(i)) for i in range(1000)]
