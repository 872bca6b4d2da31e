"""Helpers for bundle and measure tests: the committed digits-mini bundle, fast latency
settings, file tampering, and a results document rebuilt from a bundle (no TensorFlow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.bundle import MANIFEST, ModelArrays, sha256_file
from tflbench.timing import LatencySettings

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "fixtures" / "bundles" / "digits-mini"

#: Enough to exercise the code paths; speed figures belong in benchmarks/.
FAST = LatencySettings(warmup_runs=2, warmup_seconds=0.0, min_runs=5, min_seconds=0.0,
                       max_runs=20, max_seconds=1.0)


def copy_fixture(tmp_path: Path) -> Path:
    """A writable copy of the committed fixture bundle."""
    dst = tmp_path / "digits-mini"
    shutil.copytree(FIXTURE, dst)
    return dst


def load_manifest(root: Path) -> dict[str, Any]:
    return json.loads((root / MANIFEST).read_text(encoding="utf-8"))


def save_manifest(root: Path, manifest: dict[str, Any]) -> None:
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def replace_file(root: Path, rel: str, data: bytes, *, update_manifest: bool) -> None:
    """Overwrite a bundle file; optionally record its new checksum (so only the content is
    wrong, not the manifest)."""
    (root / rel).write_bytes(data)
    if update_manifest:
        m = load_manifest(root)
        m["files"][rel] = {"sha256": sha256_file(root / rel), "size_bytes": len(data)}
        save_manifest(root, m)


def doc_from_bundle(root: Path) -> tuple[dict[str, Any], dict[str, ModelArrays]]:
    """A host-like results document whose mode files point into ``root``, and its arrays."""
    manifest = load_manifest(root)
    host = json.loads((root / manifest["host_results"]).read_text(encoding="utf-8"))
    arrays = {}
    for entry in manifest["models"]:
        model = next(m for m in host["models"] if m["name"] == entry["name"])
        for rec in model["modes"]:
            md = next((x for x in entry["modes"] if x["mode"] == rec["mode"]), None)
            if md is not None:
                rec["file"]["path"] = str(root / md["file"])
        arrays[entry["name"]] = ModelArrays(
            x=np.load(root / entry["inputs"], allow_pickle=False),
            y=np.load(root / entry["labels"], allow_pickle=False),
            reference=np.load(root / entry["reference"], allow_pickle=False),
        )
    return host, arrays
