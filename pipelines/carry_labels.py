"""Human labels survive the next run: a pair a person labelled keeps that label while the pair still exists.

Pair ids are stable (prompt id, the two candidate ids, the pair source), so a new run (overwrite mode)
produces the same id for the same pair. Before its version is committed, every part holding such a pair is
rewritten with the person's row (their orientation, `label_source = human`, the rationale), provided the
two texts are still the ones the person compared; the run says how many labels it carried and how many
labelled pairs the new run no longer produces.
"""

from __future__ import annotations

import io
from typing import Any

from apache_beam.io.filesystems import FileSystems

from prefmill.dataset import DatasetPaths
from prefmill.dataset.delta import open_table
from prefmill.dataset.layout import PAIRS


def _texts(row: dict) -> frozenset:
    return frozenset((row["chosen"][-1]["content"], row["rejected"][-1]["content"]))


def human_rows(paths: DatasetPaths) -> dict[str, dict]:
    """The latest version's human-labelled pairs, by id (only those rows are read into memory)."""
    table = open_table(paths.table(PAIRS))
    if table is None:
        return {}
    import pyarrow.compute as pc

    dataset = table.to_pyarrow_dataset()
    if "label_source" not in dataset.schema.names:
        return {}
    rows = dataset.to_table(filter=pc.field("label_source") == "human").to_pylist()
    return {row["id"]: row for row in rows}


def carry(paths: DatasetPaths, files: list[dict], run_id: str) -> tuple[list[dict], dict[str, int]]:
    """(the parts to commit, {"carried", "vanished", "texts_changed"}) with earlier human labels applied."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    humans = human_rows(paths)
    report = {"carried": 0, "vanished": 0, "texts_changed": 0}
    if not humans:
        return files, report
    seen: set[str] = set()
    out = []
    for entry in files:
        path = paths.table(PAIRS) + "/" + entry["path"]
        with FileSystems.open(path) as handle:
            table = pq.read_table(io.BytesIO(handle.read()))
        ids = table.column("id").to_pylist()
        seen.update(ids)
        if not humans.keys() & set(ids):
            out.append(entry)
            continue
        rows = table.to_pylist()
        for index, row in enumerate(rows):
            earlier = humans.get(row["id"])
            if earlier is None:
                continue
            if _texts(earlier) != _texts(row):
                report["texts_changed"] += 1  # the person judged other texts: the new row stands
                continue
            rows[index] = {**earlier, **{k: row[k] for k in ("run_id", "config_hash", "created_at") if k in row}}
            report["carried"] += 1
        rewritten = pa.Table.from_pylist(rows, schema=table.schema)
        buffer = io.BytesIO()
        pq.write_table(rewritten, buffer, compression="zstd")
        relative = entry["path"].rsplit(".parquet", 1)[0] + "-labels.parquet"
        with FileSystems.create(paths.table(PAIRS) + "/" + relative) as handle:
            handle.write(buffer.getvalue())
        out.append({**entry, "path": relative, "rows": rewritten.num_rows, "bytes": len(buffer.getvalue())})
    report["vanished"] = len(humans.keys() - seen)
    return out, report


def describe(report: dict[str, Any]) -> str:
    return (f"human labels: carried {report['carried']:,} from the previous version; "
            f"{report['vanished']:,} labelled pair(s) no longer produced; "
            f"{report['texts_changed']:,} with changed texts (relabel them)")
