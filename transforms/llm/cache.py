"""Durable response cache: one small JSON file per finished request, under a local path or bucket URI.

Keys are hashes of (model, messages, sampling params, seed, sample index), see `request_key`. A file is
written only for a finished response, right after it arrives; locally through a temporary file and an
atomic rename, so a run killed mid-write leaves either the whole entry or none. An unreadable entry is
treated as a miss, never as an error.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Optional

from apache_beam.io.filesystems import FileSystems

from prefmill.schemas import is_remote


class ResponseCache:
    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self.remote = is_remote(self.root)
        if not self.remote:
            os.makedirs(self.root, exist_ok=True)

    def path(self, key: str) -> str:
        return f"{self.root}/{key[:2]}/{key}.json"

    def get(self, key: str) -> Optional[dict]:
        path = self.path(key)
        try:
            if self.remote:
                if not FileSystems.exists(path):
                    return None
                with FileSystems.open(path) as handle:
                    return json.loads(handle.read().decode("utf-8"))
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None
        except (ValueError, OSError):
            return None  # a torn or unreadable entry is a miss; the request is simply made again

    def put(self, key: str, value: dict) -> None:
        data = json.dumps(value, ensure_ascii=False).encode("utf-8")
        path = self.path(key)
        if self.remote:
            with FileSystems.create(path) as handle:
                handle.write(data)
            return
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

    def __len__(self) -> int:
        if self.remote:
            return len(FileSystems.match([f"{self.root}/*/*.json"])[0].metadata_list)
        return sum(len([n for n in files if n.endswith(".json")]) for _, _, files in os.walk(self.root))
