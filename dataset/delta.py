"""Delta Lake commits and version history.

A run's Parquet parts become one new table version in a single commit, made by the launcher after the
pipeline succeeded. The commit carries a Delta app transaction (`txn` action) keyed by the run id, so a
retried commit of the same run is recognised and never appends twice; readers never see a half version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from deltalake import DeltaTable, Schema
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, CommitProperties, Transaction, create_table_with_add_actions

from prefmill.schemas import CommitConflictError, DatasetError, arrow_schema

META_PREFIX = "prefmill."
TXN_KEY = META_PREFIX + "txn"
METADATA_KEY = META_PREFIX + "metadata"  # one JSON object: counts, config hash, schema version, models, ...


def txn_app_id(run_id: str) -> str:
    return f"prefmill-run-{run_id}"


def open_table(table_uri: str, version: Optional[int] = None) -> Optional[DeltaTable]:
    """The table at `version` (latest when None); None when no table exists at the URI."""
    try:
        return DeltaTable(table_uri, version=version)
    except TableNotFoundError:
        return None
    except DeltaError as exc:
        if version is not None and "version" in str(exc).lower():
            raise DatasetError(f"{table_uri} has no version {version}: {exc}") from None
        raise


def _committed_version(table: DeltaTable, app_id: str) -> int:
    for entry in table.history():
        if entry.get(TXN_KEY) == app_id:
            return int(entry["version"])
    raise DatasetError(f"transaction {app_id} is recorded in {table.table_uri} but its commit was not found")


def committed_version(table_uri: str, run_id: str) -> Optional[int]:
    """The version a run (or review import) was committed as, or None when it was not."""
    table = open_table(table_uri)
    if table is None or table.transaction_version(txn_app_id(run_id)) is None:
        return None
    return _committed_version(table, txn_app_id(run_id))


def commit_run_files(table_uri: str, files: list[dict], model: type, *, run_id: str,
                     metadata: dict[str, Any], mode: str = "overwrite",
                     expected_version: Optional[int] = None) -> tuple[int, bool]:
    """Commit the parts in `files` as one version; returns (version, newly_committed).

    mode "overwrite": the new version holds exactly this run's rows (earlier versions stay readable);
    mode "append": the new version adds this run's rows to the previous version's.
    Idempotent per run id: when this run's transaction is already in the table, nothing is written and
    the version it landed in is returned.
    """
    if mode not in ("overwrite", "append"):
        raise DatasetError(f"unknown commit mode {mode!r}; use overwrite or append")
    app_id = txn_app_id(run_id)
    custom = {
        TXN_KEY: app_id,
        META_PREFIX + "run_id": run_id,
        META_PREFIX + "mode": mode,
        METADATA_KEY: json.dumps(metadata, sort_keys=True, default=str),
    }
    props = CommitProperties(custom_metadata=custom, app_transactions=[Transaction(app_id, 1)])
    actions = [
        AddAction(f["path"], int(f["bytes"]), {}, int(f["mtime_ms"]), True, json.dumps({"numRecords": f["rows"]}))
        for f in files
    ]
    schema = arrow_schema(model)
    table = open_table(table_uri)
    if table is None:
        try:
            create_table_with_add_actions(table_uri, Schema.from_arrow(schema), actions, mode="error",
                                          commit_properties=props)
            return 0, True
        except DeltaError:
            table = open_table(table_uri)  # another writer created it first: append below
            if table is None:
                raise
    if table.transaction_version(app_id) is not None:
        return _committed_version(table, app_id), False
    if expected_version is not None and table.version() != expected_version:
        # Optimistic concurrency: the writer built its version from `expected_version`; committing it on top
        # of someone else's newer version would overwrite their work.
        raise CommitConflictError(
            f"{table_uri} is at version {table.version()}, but this change was made from version "
            f"{expected_version}: someone committed meanwhile. Nothing was committed; re-run the import.")
    try:
        table.create_write_transaction(actions, mode=mode, schema=schema, commit_properties=props)
    except CommitFailedError as exc:
        raise CommitConflictError(
            f"could not commit run {run_id} to {table_uri}: a concurrent commit conflicted ({exc}). "
            "The run's files are kept; re-run the same command to retry the commit."
        ) from exc
    table = DeltaTable(table_uri)
    return _committed_version(table, app_id), True


@dataclass
class DatasetVersion:
    version: int
    timestamp: datetime
    operation: str
    run_id: Optional[str]
    config_hash: Optional[str]
    rows: Optional[int]
    parent: Optional[int]
    metadata: dict[str, Any]


def _to_version(entry: dict[str, Any]) -> DatasetVersion:
    meta: dict[str, Any] = json.loads(entry.get(METADATA_KEY) or "{}")
    meta.update({k[len(META_PREFIX):]: v for k, v in entry.items()
                 if k.startswith(META_PREFIX) and k != METADATA_KEY})
    version = int(entry["version"])
    rows = meta.get("rows")
    return DatasetVersion(
        version=version,
        timestamp=datetime.fromtimestamp(entry["timestamp"] / 1000, tz=timezone.utc),
        operation=entry.get("operation", ""),
        run_id=meta.get("run_id"),
        config_hash=meta.get("config_hash"),
        rows=int(rows) if rows is not None else None,
        parent=version - 1 if version > 0 else None,
        metadata=meta,
    )


def list_versions(table_uri: str) -> list[DatasetVersion]:
    """Every version of a table, oldest first."""
    table = open_table(table_uri)
    if table is None:
        raise DatasetError(f"no dataset at {table_uri}")
    return sorted((_to_version(e) for e in table.history()), key=lambda v: v.version)


def version_info(table_uri: str, version: Optional[int] = None) -> DatasetVersion:
    versions = list_versions(table_uri)
    if version is None:
        return versions[-1]
    for info in versions:
        if info.version == version:
            return info
    raise DatasetError(f"{table_uri} has no version {version}; versions are 0..{versions[-1].version}")
