"""A content-keyed on-disk cache for trained models, conversions and reference outputs.

Keys are SHA-256 digests of JSON-able parts (model hash, mode record, data fingerprint, package
versions), so a change in any input misses the cache and a rerun with the same inputs hits it.
Writes are atomic (temp file + rename), so concurrent workers never read half-written entries.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.fileio import atomic_write_bytes, package_version

DEFAULT_DIR = Path(os.environ.get("TFLBENCH_CACHE_DIR", ".tflbench-cache"))


def content_key(*parts: Any) -> str:
    """SHA-256 of the canonical JSON of ``parts``."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def tf_versions() -> dict[str, str | None]:
    tf = package_version("tensorflow") or package_version("tensorflow-cpu")
    return {"tensorflow": tf, "keras": package_version("keras")}


def array_digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, or of every file (relative path + bytes) below a directory."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


class Cache:
    """Files under ``root/<kind>/<key><suffix>`` plus optional JSON metadata beside them."""

    def __init__(self, root: str | os.PathLike[str] | None = None, enabled: bool = True) -> None:
        self.root = Path(root) if root is not None else DEFAULT_DIR
        self.enabled = enabled

    def path(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / kind / f"{key}{suffix}"

    def get(self, kind: str, key: str, suffix: str) -> Path | None:
        if not self.enabled:
            return None
        p = self.path(kind, key, suffix)
        return p if p.exists() else None

    def _atomic_write(self, target: Path, data: bytes) -> Path:
        return atomic_write_bytes(target, data)

    def put_bytes(self, kind: str, key: str, suffix: str, data: bytes) -> Path:
        return self._atomic_write(self.path(kind, key, suffix), data)

    def put_array(self, kind: str, key: str, arr: np.ndarray) -> Path:
        import io

        buf = io.BytesIO()
        np.save(buf, np.asarray(arr), allow_pickle=False)
        return self._atomic_write(self.path(kind, key, ".npy"), buf.getvalue())

    def get_array(self, kind: str, key: str) -> np.ndarray | None:
        p = self.get(kind, key, ".npy")
        if p is None:
            return None
        try:
            return np.load(p, allow_pickle=False)
        except (OSError, ValueError):
            return None  # a damaged entry is a miss

    def put_json(self, kind: str, key: str, obj: Any) -> Path:
        return self._atomic_write(
            self.path(kind, key, ".json"), json.dumps(obj, sort_keys=True, default=str).encode()
        )

    def get_json(self, kind: str, key: str) -> Any | None:
        p = self.get(kind, key, ".json")
        if p is None:
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
