"""SQL over any dataset version with DuckDB, read-only and without DuckDB extensions.

Each table version is opened as a pyarrow dataset (the exact Parquet files of that Delta version) and
registered in an in-memory DuckDB session. Then file-system access is switched off and the configuration
locked, so no query can write, copy, attach or delete anything: the views are the only data a query sees.
The dead letters shown with pairs version N are those of the run that wrote N.
"""

from __future__ import annotations

from typing import Any, Optional

import duckdb
import pyarrow as pa

from prefmill.schemas import DatasetError, DeadLetter, PreferencePair, arrow_schema
from prefmill.transforms.dataset.delta import open_table, version_info
from prefmill.transforms.dataset.layout import DEAD_LETTERS, PAIRS, DatasetPaths


def _dataset(table_uri: str, version: Optional[int], model: type):
    table = open_table(table_uri, version)
    if table is None:
        return pa.Table.from_pylist([], schema=arrow_schema(model))
    return table.to_pyarrow_dataset()


def open_dataset(uri: str, version: Optional[int] = None) -> tuple[duckdb.DuckDBPyConnection, int]:
    """A read-only DuckDB session with views `pairs` and `dead_letters`; returns (connection, version)."""
    paths = DatasetPaths.of(uri)
    if open_table(paths.table(PAIRS)) is None:
        raise DatasetError(f"no prefmill dataset at {uri} (expected a Delta table at {paths.table(PAIRS)})")
    info = version_info(paths.table(PAIRS), version)
    dead_version = info.metadata.get("dead_letters_version")
    con = duckdb.connect(":memory:")
    con.register(PAIRS, _dataset(paths.table(PAIRS), info.version, PreferencePair))
    if dead_version is None:
        con.register(DEAD_LETTERS, pa.Table.from_pylist([], schema=arrow_schema(DeadLetter)))
    else:
        con.register(DEAD_LETTERS, _dataset(paths.table(DEAD_LETTERS), int(dead_version), DeadLetter))
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con, info.version


def run_query(uri: str, sql: str, version: Optional[int] = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one query against a version; returns (column names, rows)."""
    con, _ = open_dataset(uri, version)
    try:
        relation = con.sql(sql)
        if relation is None:
            return [], []
        return list(relation.columns), relation.fetchall()
    except duckdb.Error as exc:
        raise DatasetError(f"query failed: {exc}") from None
    finally:
        con.close()
