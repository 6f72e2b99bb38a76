"""The dataset: Parquet parts written by workers, committed by the launcher as one Delta Lake version,
read back (any version) through pyarrow and DuckDB."""

from prefmill.transforms.dataset.delta import DatasetVersion, commit_run_files, list_versions, version_info
from prefmill.transforms.dataset.layout import DatasetPaths
from prefmill.transforms.dataset.query import open_dataset, run_query

__all__ = [
    "DatasetPaths", "DatasetVersion", "WriteTable", "commit_run_files", "list_versions", "open_dataset",
    "run_query", "version_info",
]


def __getattr__(name: str):
    # The writer is a Beam transform: importing Beam (about a second) is left to the code that writes, so
    # `prefmill query`, `export` and `versions` start without it.
    if name == "WriteTable":
        from prefmill.transforms.dataset.writer import WriteTable

        return WriteTable
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
