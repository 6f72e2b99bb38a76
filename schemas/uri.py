"""Where data lives: a local path, or a URI on a bucket (`gs://...`, `s3://...`). Shared by every layer."""

from __future__ import annotations


def is_remote(uri: str) -> bool:
    """A bucket URI (read and written through Beam's FileSystems), not a local path.

    >>> is_remote("gs://my-bucket/ds"), is_remote("runs/ds"), is_remote("file:///tmp/ds")
    (True, False, False)
    """
    return "://" in uri and not uri.startswith("file://")
