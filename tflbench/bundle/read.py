"""Opening a bundle on the device: :func:`read_bundle` extracts a ``.zip`` safely, loads and
validates the manifest, verifies every file and returns a :class:`Bundle` whose models and
modes say whether they can run and, if not, why.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.bundle.archive import (
    MAX_ZIP_ENTRIES,
    MAX_ZIP_ENTRY_BYTES,
    MAX_ZIP_TOTAL_BYTES,
    safe_extract,
)
from tflbench.bundle.inputs import BundleInputs, open_inputs
from tflbench.bundle.manifest import find_root, load_manifest
from tflbench.bundle.paths import bundle_path
from tflbench.bundle.verify import check_arrays, load_npy, verify_file
from tflbench.errors import BundleError


@dataclass
class BundleMode:
    """One mode of one bundled model; ``ok`` is False when its file is missing or altered."""

    mode: str
    path: Path | None
    ok: bool
    error: str | None
    io: dict[str, Any] | None
    host: dict[str, Any] | None


@dataclass
class BundleModel:
    name: str
    entry: dict[str, Any]
    class_names: list[str]
    #: The inputs, read batch by batch (:class:`~tflbench.bundle.inputs.BundleInputs`).
    x: BundleInputs | None
    y: np.ndarray | None
    reference: np.ndarray | None
    error: str | None
    modes: list[BundleMode] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Bundle:
    """A verified bundle. Use as a context manager to remove the extraction of a ``.zip``."""

    source: Path
    root: Path
    manifest: dict[str, Any]
    models: list[BundleModel]
    problems: list[str]
    #: The host's results document inside the bundle, when present and intact.
    host_results: Path | None = None
    _tmp: Path | None = None

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def intact(self) -> bool:
        return not self.problems

    def status(self) -> list[dict[str, Any]]:
        """One row per (model, mode): whether it can run and why not."""
        return [
            {"model": m.name, "mode": md.mode, "ok": md.ok, "error": md.error}
            for m in self.models
            for md in m.modes
        ]

    def require_intact(self) -> None:
        if self.problems:
            raise BundleError(
                f"Bundle {self.source} failed verification:\n"
                + "\n".join(f"  - {p}" for p in self.problems)
            )


def read_bundle(
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    max_entries: int = MAX_ZIP_ENTRIES,
    max_entry_bytes: int = MAX_ZIP_ENTRY_BYTES,
    max_total_bytes: int = MAX_ZIP_TOTAL_BYTES,
) -> Bundle:
    """Open and verify a bundle directory or ``.zip``.

    Raises :class:`BundleError` when the bundle as a whole is unusable (no or bad manifest, a
    newer schema, unsafe paths, an unsafe zip, or no mode left to run). Missing or altered files
    are collected in ``Bundle.problems`` and mark only the modes (or the model) they belong to;
    with ``strict=True`` any problem raises, naming every affected file.
    """
    source = Path(path)
    if not source.exists():
        raise BundleError(f"Bundle not found: {source}. Give the directory or .zip written by "
                          "'tflbench bundle'.")
    tmp: Path | None = None
    try:
        if source.is_file():
            if not zipfile.is_zipfile(source):
                raise BundleError(f"{source} is neither a bundle directory nor a .zip bundle.")
            tmp = Path(tempfile.mkdtemp(prefix="tflbench-bundle-"))
            safe_extract(source, tmp, max_entries=max_entries,
                         max_entry_bytes=max_entry_bytes, max_total_bytes=max_total_bytes)
            root = find_root(tmp, source)
        else:
            if source.is_symlink():
                raise BundleError(f"{source} is a symlink; give the bundle directory itself.")
            root = find_root(source, source)
        manifest = load_manifest(root, source)
        bundle = _verify(source, root, manifest, tmp)
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        if strict or not any(md.ok for m in bundle.models for md in m.modes):
            bundle.require_intact()
        if not any(md.ok for m in bundle.models for md in m.modes):
            raise BundleError(f"Bundle {source} lists no mode to run.")
    except BundleError:
        bundle.close()
        raise
    return bundle


def _verify(source: Path, root: Path, manifest: dict[str, Any], tmp: Path | None) -> Bundle:
    """Check every file the (validated) manifest lists, each once, and build the
    :class:`Bundle`; a problem marks the model or modes whose file it is."""
    files: dict[str, Any] = manifest["files"]
    file_problem: dict[str, str | None] = {}

    def problem(rel: str) -> str | None:
        if rel not in file_problem:
            file_problem[rel] = verify_file(root, rel, files[rel])
        return file_problem[rel]

    models: list[BundleModel] = []
    for m in manifest["models"]:
        model_error: str | None = None
        arrays: dict[str, Any] = {}
        for key in ("inputs", "labels", "reference"):
            p = problem(m[key])
            if p is None:
                try:
                    arrays[key] = (open_inputs(bundle_path(root, m[key]), m[key], m)
                                   if key == "inputs" else load_npy(root, m[key]))
                except BundleError as exc:
                    p = file_problem[m[key]] = str(exc)
            if p is not None and model_error is None:
                model_error = p
        class_names = [str(c) for c in m.get("class_names") or []]
        if model_error is None:
            model_error = check_arrays(m, arrays, class_names)
        bm = BundleModel(
            name=m["name"], entry=m, class_names=class_names,
            x=arrays.get("inputs"), y=arrays.get("labels"), reference=arrays.get("reference"),
            error=model_error,
        )
        for md in m["modes"]:
            p = problem(md["file"])
            err = p if p is not None else (
                None if model_error is None else f"evaluation data unusable: {model_error}")
            bm.modes.append(BundleMode(
                mode=md["mode"],
                path=None if p else bundle_path(root, md["file"]),
                ok=err is None, error=err, io=md.get("io"), host=md.get("host"),
            ))
        models.append(bm)
    host_results = None
    if manifest.get("host_results"):
        rel = manifest["host_results"]
        if problem(rel) is None:
            host_results = bundle_path(root, rel)
    problems = [p for p in file_problem.values() if p]
    return Bundle(source=source, root=root, manifest=manifest, models=models,
                  problems=problems, host_results=host_results, _tmp=tmp)
