"""prefmill's storage layer: Delta Lake datasets (commit, versions, read-only SQL), exports for trainers, the
HTML report, and the review tools' files. Used by pipelines/ and the CLI; nothing under transforms/ imports
it (the Beam writer that stages Parquet parts is `prefmill.transforms.write`).

Parquet parts written by workers are committed by the launcher as one Delta Lake version and read back (any
version) through pyarrow and DuckDB.
"""

from prefmill.dataset.delta import DatasetVersion, commit_run_files, list_versions, version_info
from prefmill.dataset.layout import DatasetPaths
from prefmill.dataset.query import open_dataset, run_query

__all__ = [
    "DatasetPaths", "DatasetVersion", "commit_run_files", "list_versions", "open_dataset", "run_query",
    "version_info",
]
