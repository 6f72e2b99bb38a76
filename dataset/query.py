"""SQL over any dataset version with DuckDB, read-only and without DuckDB extensions.

Each table version is opened as a pyarrow dataset (the exact Parquet files of that Delta version) and
registered in an in-memory DuckDB session. Then file-system access is switched off and the configuration
locked, so no query can write, copy, attach or delete anything: the views are the only data a query sees.
The dead letters shown with pairs version N are those of the run that wrote N.

Every session is bounded before its configuration is locked: a memory limit, a private temporary folder
with a size cap (DuckDB allows its temporary folder even with external access off; a fresh private
folder, removed afterwards, keeps `<cwd>/.tmp/` and everything else off that list), and for `stream_query`
a statement timeout (DuckDB has none of its own: a timer interrupts the connection).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from typing import Any, Iterator, Optional

import duckdb
import pyarrow as pa

from prefmill.schemas import DatasetError, DeadLetter, PreferencePair, arrow_schema
from prefmill.dataset.delta import open_table, version_info
from prefmill.dataset.layout import DEAD_LETTERS, PAIRS, DatasetPaths


def _dataset(table_uri: str, version: Optional[int], model: type):
    table = open_table(table_uri, version)
    if table is None:
        return pa.Table.from_pylist([], schema=arrow_schema(model))
    return table.to_pyarrow_dataset()


DEFAULT_MEMORY_LIMIT = "2GB"
DEFAULT_TEMP_LIMIT = "2GB"


def open_dataset(uri: str, version: Optional[int] = None, *, memory_limit: str = DEFAULT_MEMORY_LIMIT,
                 temp_limit: str = DEFAULT_TEMP_LIMIT) -> tuple[duckdb.DuckDBPyConnection, int]:
    """A read-only, bounded DuckDB session with views `pairs` and `dead_letters`; returns (connection,
    version). Close it with `close_dataset` (it removes the session's private temporary folder)."""
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
    private_tmp = tempfile.mkdtemp(prefix="prefmill-sql-")
    _TEMP_DIRS[id(con)] = private_tmp
    for setting, value in (("memory_limit", memory_limit), ("max_temp_directory_size", temp_limit)):
        if not re.fullmatch(r"\d+(?:\.\d+)?\s*[KMGT]?i?B", value.strip(), re.IGNORECASE):
            close_dataset(con)
            raise DatasetError(f"{setting} must be a size such as 2GB or 512MiB, got {value!r}")
        con.execute(f"SET {setting} = '{value.strip()}'")
    con.execute(f"SET temp_directory = '{private_tmp}'")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con, info.version


_TEMP_DIRS: dict[int, str] = {}


def close_dataset(con: duckdb.DuckDBPyConnection) -> None:
    con.close()
    folder = _TEMP_DIRS.pop(id(con), None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


class QueryTimeout(DatasetError):
    """A query ran past its statement timeout and was stopped."""


def stream_query(uri: str, sql: str, version: Optional[int] = None, *, timeout_s: float = 60.0,
                 memory_limit: str = DEFAULT_MEMORY_LIMIT, batch: int = 2048
                 ) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
    """(columns, batches of rows) of one query, fetched as they are read; the whole statement, fetching
    included, is stopped after `timeout_s` seconds (QueryTimeout)."""
    con, _ = open_dataset(uri, version, memory_limit=memory_limit)
    stopped = threading.Event()

    def interrupt() -> None:
        stopped.set()
        con.interrupt()

    timer = threading.Timer(timeout_s, interrupt)
    timer.daemon = True
    timer.start()

    def fail(exc: Exception) -> DatasetError:
        if stopped.is_set():
            return QueryTimeout(f"the query was stopped after {timeout_s:g} s (raise it with --timeout)")
        return DatasetError(f"query failed: {exc}")

    try:
        result = con.execute(sql)
        columns = [d[0] for d in result.description] if result.description else []
    except (duckdb.Error, RuntimeError) as exc:
        timer.cancel()
        close_dataset(con)
        raise fail(exc) from None

    def batches() -> Iterator[list[tuple[Any, ...]]]:
        try:
            while columns:
                rows = result.fetchmany(batch)
                if not rows:
                    return
                yield rows
        except (duckdb.Error, RuntimeError) as exc:
            raise fail(exc) from None
        finally:
            timer.cancel()
            close_dataset(con)

    return columns, batches()


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
        close_dataset(con)
