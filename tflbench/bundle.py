"""Portable bundles: everything a device needs to measure the converted models, with no TensorFlow.

A bundle is a directory (or a ``.zip`` of one)::

    manifest.json                 schema "tflbench.bundle", version 1 (see docs/device.md)
    README.txt                    how to measure it
    <model>/inputs.npy            evaluation inputs, already preprocessed (float32, NHWC)
    <model>/labels.npy            integer labels
    <model>/reference.npy         the Keras model's outputs on those inputs (float32)
    <model>/<mode>.tflite         one file per mode that converted successfully on the host
    host-results.json             the host's results (without latency samples), to merge with

``manifest.json`` lists every other file with its SHA-256 and size. :func:`read_bundle` refuses a
manifest from a newer tflbench, any path that is absolute, climbs out with ``..`` or goes through
a symlink, and zip entries that would do the same; it then checks every file and reports
problems *per mode*, so the modes whose files are intact still run. Arrays are read with
``allow_pickle=False``. The checksums detect corruption and accidental edits; they do not prove
who made the bundle.

This module never imports TensorFlow.
"""

from __future__ import annotations

import datetime as _dt
import json
import lzma
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from tflbench import __version__
from tflbench.data.base import LazyArray, stratified_subset
from tflbench.errors import BundleError
from tflbench.fileio import sha256_file
from tflbench.results import to_json

SCHEMA = "tflbench.bundle"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
README = "README.txt"
#: The host's results document (without latency samples), for merging on the device.
HOST_RESULTS = "host-results.json"

#: Evaluation samples stored per model unless told otherwise.
DEFAULT_MAX_SAMPLES = 1000

#: Limits applied when extracting a ``.zip`` bundle (a bundle of a few models is megabytes).
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_ENTRY_BYTES = 1 << 30  # 1 GiB
MAX_ZIP_TOTAL_BYTES = 2 << 30  # 2 GiB
#: Largest manifest read from an existing zip before replacing it.
MAX_MANIFEST_BYTES = 64 << 20

_CHUNK = 1 << 20
#: Compression methods a zip bundle may use (the ones Python's zipfile reads).
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


# ------------------------------------------------------------------------------------- helpers


def _one_line(exc: BaseException, limit: int = 300) -> str:
    return " ".join(str(exc).split())[:limit]


def _slug(name: str) -> str:
    s = _SLUG.sub("-", name).strip(".-")
    return s or "model"


def _unique(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``... : the first name not in ``taken``, compared without
    case (bundles travel to case-insensitive file systems and zip readers)."""
    name, i = base, 2
    while name.lower() in taken:
        name = f"{base}-{i}"
        i += 1
    taken.add(name.lower())
    return name


def check_relative_path(rel: Any, where: str) -> PurePosixPath:
    """Validate a bundle-relative path from a manifest or zip entry; raise :class:`BundleError`.

    Accepted: a non-empty POSIX path without a leading ``/``, drive letter, backslash, NUL, empty
    component, ``.`` or ``..``.
    """
    if not isinstance(rel, str) or not rel:
        raise BundleError(f"{where}: expected a relative file path. Received: {rel!r}.")
    bad = None
    if "\x00" in rel or "\\" in rel:
        bad = "contains a backslash or NUL byte"
    elif rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
        bad = "is absolute"
    else:
        parts = rel.rstrip("/").split("/")
        if any(p in ("", ".", "..") for p in parts):
            bad = "has an empty, '.' or '..' component"
    if bad:
        raise BundleError(
            f"{where}: path {rel!r} {bad}; bundle paths must stay inside the bundle directory. "
            "The bundle is corrupt or was tampered with; re-create it with 'tflbench bundle'."
        )
    return PurePosixPath(rel.rstrip("/"))


def _through_symlink(root: Path, rel: PurePosixPath) -> bool:
    p = root
    for part in rel.parts:
        p = p / part
        if p.is_symlink():
            return True
    return False


# ------------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class ModelArrays:
    """What a bundle stores for one model besides its ``.tflite`` files.

    ``x`` are the evaluation inputs exactly as the model takes them (preprocessed), ``y`` their
    integer labels and ``reference`` the Keras model's outputs on ``x``.
    """

    x: np.ndarray | LazyArray
    y: np.ndarray
    reference: np.ndarray

    def __post_init__(self) -> None:
        n = {len(self.x), len(self.y), len(self.reference)}
        if len(n) != 1:
            raise BundleError(
                f"Inputs, labels and reference outputs differ in length. Received: {len(self.x)} "
                f"inputs, {len(self.y)} labels, {len(self.reference)} reference outputs. Give "
                "the reference outputs of the same inputs."
            )
        if len(self.x) == 0:
            raise BundleError("No evaluation samples to bundle. Received 0 inputs.")

    def subset(self, n: int | None, seed: int = 0) -> ModelArrays:
        """A seeded, stratified subset of ``n`` samples, in their original order (all samples
        when ``n`` is None or not below the count); the same ``n`` and ``seed`` give the same
        subset. See :func:`tflbench.data.base.stratified_subset`."""
        if n is None or n >= len(self.x):
            return self
        idx = stratified_subset(np.asarray(self.y), n, seed)
        return ModelArrays(self.x[idx], np.asarray(self.y)[idx], np.asarray(self.reference)[idx])


def arrays_for_subject(subject: Any, settings: Any) -> ModelArrays:
    """The evaluation inputs, labels and Keras reference outputs the host pipeline used for
    ``subject`` under ``settings`` (``tflbench.pipeline``). After a run they all come from the
    pipeline's content cache, so nothing is trained or predicted again."""
    from tflbench import pipeline

    split, reference = pipeline.evaluation_arrays(subject, settings)
    return ModelArrays(x=split.x, y=split.y, reference=reference)


def thresholds_table(doc: Mapping[str, Any], thresholds: Any = None) -> dict[str, Any]:
    """The resolved gate limits of every (model, mode) of ``doc`` as ``{model: {mode: limits}}``
    (``thresholds`` is a :class:`tflbench.gates.Thresholds`; default: the built-in limits)."""
    from tflbench import gates

    th = thresholds if thresholds is not None else gates.Thresholds()
    return {m["name"]: {r["mode"]: th.limits(m["name"], r["mode"]).to_dict()
                        for r in m.get("modes") or []}
            for m in doc["models"]}


def bundleable_modes(model: Mapping[str, Any], wanted: set[str] | None = None
                     ) -> list[dict[str, Any]]:
    """Mode records of ``model`` that a bundle carries: status ok, with a ``.tflite`` path, and
    named in ``wanted`` (when given)."""
    return [r for r in model.get("modes") or []
            if r.get("status") == "ok" and (r.get("file") or {}).get("path")
            and (wanted is None or r["mode"] in wanted)]


def _strip_samples(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a results document without per-run latency samples (kept small)."""
    import copy

    out = copy.deepcopy(dict(doc))
    for model in out.get("models") or []:
        for rec in model.get("modes") or []:
            for key in ("latency", "latency_e2e"):
                if isinstance(rec.get(key), dict):
                    rec[key].pop("samples", None)
            for row in rec.get("latency_sweep") or []:
                if isinstance(row, dict):
                    row.pop("samples", None)
    return out


def _host_summary(mode: Mapping[str, Any]) -> dict[str, Any]:
    lat = mode.get("latency") or {}
    agr = mode.get("agreement") or {}
    acc = mode.get("accuracy") or {}
    return {
        "status": mode.get("status"),
        "agreement_top1": agr.get("top1"),
        "accuracy": acc.get("accuracy"),
        "latency_median_us": lat.get("median"),
        "threads": lat.get("threads"),
        "xnnpack": lat.get("xnnpack"),
    }


def _not_a_bundle(out: Path, reason: str) -> BundleError:
    return BundleError(
        f"Bundle output {out} is not empty and is not a tflbench bundle ({reason}). Replacing "
        "(overwrite / --force) only removes a bundle written by 'tflbench bundle', and only its "
        "own files; nothing was deleted. Choose another --out (a new or empty directory)."
    )


def _old_bundle_files(out: Path) -> list[PurePosixPath]:
    """The files of the bundle in directory ``out`` (from its manifest); raise
    :class:`BundleError` when ``out`` does not hold a tflbench bundle manifest."""
    mpath = out / MANIFEST
    if mpath.is_symlink() or not mpath.is_file():
        raise _not_a_bundle(out, f"it has no {MANIFEST}")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise _not_a_bundle(out, f"its {MANIFEST} is not readable JSON") from None
    schema = manifest.get("schema") if isinstance(manifest, dict) else None
    if schema != SCHEMA:
        raise _not_a_bundle(out, f"its {MANIFEST} has schema {schema!r}, not {SCHEMA!r}")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise _not_a_bundle(out, f"its {MANIFEST} has no 'files' object")
    try:
        return [check_relative_path(rel, str(mpath)) for rel in files]
    except BundleError:
        raise _not_a_bundle(out, f"its {MANIFEST} lists a path outside the directory") from None


def _remove_files(root: Path, rels: Iterable[PurePosixPath]) -> None:
    """Delete the regular files ``rels`` under ``root`` (never through or at a symlink), then
    the directories among their parents that are left empty; ``root`` itself stays."""
    parents: set[PurePosixPath] = set()
    for rel in rels:
        parents.update(p for p in rel.parents if p.parts)
        if _through_symlink(root, rel):
            continue
        p = root.joinpath(*rel.parts)
        if p.is_file():
            p.unlink()
    for rel in sorted(parents, key=lambda r: len(r.parts), reverse=True):
        d = root.joinpath(*rel.parts)
        if not _through_symlink(root, rel) and d.is_dir() and not any(d.iterdir()):
            d.rmdir()


def _prepare_out_dir(out: Path, overwrite: bool) -> bool:
    """Make ``out`` ready for a new bundle; True when it did not exist before.

    A non-empty ``out`` is accepted only with ``overwrite`` and only when it holds a tflbench
    bundle: the files its manifest lists, its README and host results are removed (the
    manifest last), and any other file is left alone.
    """
    if out.exists() or out.is_symlink():
        if out.is_symlink() or not out.is_dir():
            raise BundleError(f"Bundle output {out} exists and is not a directory. "
                              "Choose another --out.")
        if any(out.iterdir()):
            if not overwrite:
                raise BundleError(
                    f"Bundle output directory {out} is not empty. Choose an empty or new "
                    "directory (an existing bundle is replaced only with overwrite/--force)."
                )
            old = _old_bundle_files(out)
            own = [PurePosixPath(README), PurePosixPath(HOST_RESULTS)]
            _remove_files(out, [*old, *own])
            _remove_files(out, [PurePosixPath(MANIFEST)])
        return False
    out.mkdir(parents=True)
    return True


def _check_replaceable_zip(zip_path: Path) -> None:
    """Raise :class:`BundleError` unless ``zip_path`` is a zip holding a tflbench bundle."""
    if zip_path.is_symlink() or not zip_path.is_file():
        raise BundleError(f"{zip_path} exists and is not a regular file. Choose another --out.")
    reason = f"it has no {MANIFEST} at its top level or in one top-level directory"
    try:
        with zipfile.ZipFile(zip_path) as zf:
            found = [i for i in zf.infolist()
                     if i.filename.rstrip("/").split("/")[-1] == MANIFEST
                     and i.filename.count("/") <= 1 and not i.is_dir()]
            if len(found) == 1 and found[0].file_size <= MAX_MANIFEST_BYTES:
                manifest = json.loads(zf.read(found[0]).decode("utf-8"))
                schema = manifest.get("schema") if isinstance(manifest, dict) else None
                if schema == SCHEMA:
                    return
                reason = f"its {MANIFEST} has schema {schema!r}, not {SCHEMA!r}"
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError,
            ValueError, zlib.error):
        reason = "it is not a readable zip with a JSON manifest"
    raise BundleError(
        f"{zip_path} exists and is not a tflbench bundle ({reason}). Replacing (overwrite / "
        "--force) only replaces a bundle written by 'tflbench bundle'; nothing was deleted. "
        "Choose another --out."
    )


def _readme(manifest: Mapping[str, Any]) -> str:
    models = ", ".join(m["name"] for m in manifest["models"])
    return (
        "tflbench bundle\n"
        f"models: {models}\n\n"
        "Measure it on the device (no TensorFlow needed):\n"
        "    pip install tflbench ai-edge-litert numpy\n"
        "    tflbench measure . --out results-device.json --device my-device\n\n"
        "Then merge with the host results:\n"
        f"    tflbench report {HOST_RESULTS} results-device.json\n"
    )


def write_bundle(
    results_doc: Mapping[str, Any],
    arrays: Mapping[str, ModelArrays],
    out_dir: str | os.PathLike[str],
    *,
    zip: bool = False,  # noqa: A002 - mirrors the --zip option
    max_samples: int | None = DEFAULT_MAX_SAMPLES,
    modes: Iterable[str] | None = None,
    thresholds: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
    seed: int | None = None,
) -> Path:
    """Write a bundle for every model of ``results_doc`` and return its path.

    ``arrays`` maps a model name to its :class:`ModelArrays`; a model of the document without
    arrays is an error. Only modes with status ``ok`` and a ``file.path`` are bundled (optionally
    only those named in ``modes``); a relative ``file.path`` is resolved against ``base_dir``
    (default: the current directory). At most ``max_samples`` samples are stored per model
    (None = all): a stratified subset drawn with ``seed`` (default: the run's ``settings.seed``,
    else 0), so every class keeps its share; the same seed gives the same subset.
    With ``zip=True`` the bundle is written as ``<out_dir>.zip`` (or ``out_dir`` itself when it
    ends in ``.zip``) holding one top-level directory.
    """
    from tflbench import results as _results

    _results.validate(dict(results_doc), source="results document")
    if max_samples is not None and max_samples < 1:
        raise BundleError(f"max_samples must be a positive integer or None. Received: "
                          f"{max_samples!r}.")
    if seed is None:
        seed = (results_doc.get("settings") or {}).get("seed")
        seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else 0
    wanted = None if modes is None else {str(m) for m in modes}
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    out = Path(out_dir)

    if zip:
        zip_path = out if out.suffix == ".zip" else out.with_name(out.name + ".zip")
        if zip_path.exists() or zip_path.is_symlink():
            if not overwrite:
                raise BundleError(f"{zip_path} already exists. Choose another --out or remove "
                                  "it (a bundle is replaced only with overwrite/--force).")
            _check_replaceable_zip(zip_path)
        with tempfile.TemporaryDirectory(prefix="tflbench-bundle-") as tmp:
            stage = Path(tmp) / _slug(zip_path.stem)
            _write_dir(results_doc, arrays, stage, max_samples, seed, wanted, thresholds, base,
                       [])
            zip_path.parent.mkdir(parents=True, exist_ok=True)
            part = zip_path.with_name(zip_path.name + ".part")
            with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(p for p in stage.rglob("*") if p.is_file()):
                    zf.write(f, f"{stage.name}/{f.relative_to(stage).as_posix()}")
            os.replace(part, zip_path)
        return zip_path

    created = _prepare_out_dir(out, overwrite)
    written: list[PurePosixPath] = []
    try:
        _write_dir(results_doc, arrays, out, max_samples, seed, wanted, thresholds, base,
                   written)
    except BaseException:
        # No partial bundle: remove what was written here, and nothing else.
        _remove_files(out, written)
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    return out


def _write_dir(
    doc: Mapping[str, Any],
    arrays: Mapping[str, ModelArrays],
    out: Path,
    max_samples: int | None,
    seed: int,
    wanted: set[str] | None,
    thresholds: Mapping[str, Any] | None,
    base: Path,
    written: list[PurePosixPath],
) -> None:
    """Write the bundle files into ``out``, appending each path written to ``written``; a file
    already present is never overwritten."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    by_digest: dict[str, str] = {}  # sha256 -> first relative path with that content
    taken = {MANIFEST.lower(), README.lower(), HOST_RESULTS.lower()}  # model directory names

    def new_file(rel: str) -> Path:
        """The path of a new bundle file ``rel``, its directory created; refuse to replace a
        file that is not part of this bundle."""
        target = out / rel
        if target.exists() or target.is_symlink():
            raise BundleError(
                f"Bundle output {out} already holds {rel}, which is not a file of the bundle "
                "being replaced; refusing to overwrite it. Choose another --out."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(PurePosixPath(rel))
        return target

    def add(rel: str, write: Any) -> str:
        """Write a file via ``write(path)``; identical content is stored once."""
        target = new_file(rel)
        write(target)
        digest = sha256_file(target)
        first = by_digest.get(digest)
        if first is not None and first != rel:
            target.unlink()
            return first
        by_digest[digest] = rel
        files[rel] = {"sha256": digest, "size_bytes": target.stat().st_size}
        return rel

    def add_npy(rel: str, arr: np.ndarray) -> str:
        return add(rel, lambda p: np.save(p, arr, allow_pickle=False))

    models_out: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for model in doc["models"]:
        name = model["name"]
        if not bundleable_modes(model, wanted):
            skipped.append({"model": name, "reason": "no mode converted and ran on the host"
                            + (f" among {sorted(wanted)}" if wanted else "")})
            continue
        if name not in arrays:
            raise BundleError(
                f"No evaluation arrays given for model {name!r}. Received arrays for: "
                f"{', '.join(arrays) or 'none'}."
            )
        mode_names = [r["mode"] for r in bundleable_modes(model, wanted)]
        twice = sorted({m for m in mode_names if mode_names.count(m) > 1})
        if twice:
            raise BundleError(
                f"Model {name!r} has more than one successful record of mode(s) "
                f"{', '.join(map(repr, twice))} in the results document; a bundle holds one "
                "file per mode. Keep one record per mode (e.g. bundle one run, not a merge of "
                "several) or choose --modes."
            )
        arr = arrays[name].subset(max_samples, seed)
        dataset = dict(model.get("dataset") or {})
        class_names = [str(c) for c in dataset.get("class_names") or []]
        reference = np.asarray(arr.reference, dtype=np.float32)
        if reference.ndim != 2:
            raise BundleError(f"Reference outputs of {name!r} must be 2-D (n, classes). "
                              f"Received shape {reference.shape}.")
        if not class_names:
            class_names = [str(i) for i in range(reference.shape[1])]
        if len(class_names) != reference.shape[1]:
            raise BundleError(
                f"Model {name!r}: {len(class_names)} class names but reference outputs have "
                f"{reference.shape[1]} classes. Give the Keras outputs of this model."
            )
        d = _unique(_slug(name), taken)
        entry: dict[str, Any] = {
            "name": name,
            "dir": d,
            "source": model.get("source"),
            "model_sha256": model.get("model_sha256"),
            "dataset": dataset,
            "class_names": class_names,
            "preprocessing": dataset.get("preprocessing") or {},
            "input_shape": [int(s) for s in arr.x.shape[1:]],
            "n_samples": len(arr.x),
            "n_test": dataset.get("n_test"),
            "keras_host": model.get("keras"),
            "inputs": add_npy(f"{d}/inputs.npy", np.ascontiguousarray(arr.x, dtype=np.float32)),
            "labels": add_npy(f"{d}/labels.npy", np.asarray(arr.y).astype(np.int64)),
            "reference": add_npy(f"{d}/reference.npy", reference),
            "modes": [],
        }
        mode_files: set[str] = set()  # .tflite names taken in this model directory
        for rec in bundleable_modes(model, wanted):
            src = Path(rec["file"]["path"])
            src = src if src.is_absolute() else base / src
            if not src.is_file():
                raise BundleError(
                    f"The .tflite of {name} / {rec['mode']} is missing: {src}. Re-run the host "
                    "pipeline (the conversion cache may have been cleared)."
                )
            expected = (rec.get("file") or {}).get("sha256")
            if expected and sha256_file(src) != expected:
                raise BundleError(
                    f"The .tflite of {name} / {rec['mode']} ({src}) changed since the results "
                    "were written (sha256 differs). Re-run the host pipeline, then bundle."
                )
            rel = add(f"{d}/{_unique(_slug(rec['mode']), mode_files)}.tflite",
                      lambda p, s=src: shutil.copyfile(s, p))
            entry["modes"].append({
                "mode": rec["mode"],
                "file": rel,
                "io": rec.get("io"),
                "size_ratio": (rec.get("file") or {}).get("size_ratio"),
                "host": _host_summary(rec),
            })
        models_out.append(entry)
    if not models_out:
        raise BundleError(
            "Nothing to bundle: no mode of any model converted and ran on the host"
            + (f" among {sorted(wanted)}" if wanted else "")
            + ". Check the host results (tflbench report) or choose other --modes."
        )
    host_doc = _strip_samples(doc)
    host_results = add(HOST_RESULTS, lambda p: p.write_text(to_json(host_doc) + "\n",
                                                            encoding="utf-8"))

    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "tflbench_version": __version__,
        "settings": dict(doc.get("settings") or {}),
        "bundle": {"max_samples": max_samples, "sampling": "stratified", "seed": seed,
                   "modes": sorted(wanted) if wanted else None},
        "thresholds": dict(thresholds) if thresholds else None,
        "host": {
            "device": doc.get("device"),
            "created": doc.get("created"),
            "tflbench_version": doc.get("tflbench_version"),
            "environment": doc.get("environment"),
        },
        "host_results": host_results,
        "models": models_out,
        "skipped": skipped,
        "files": files,
    }
    new_file(README).write_text(_readme(manifest), encoding="utf-8")
    new_file(MANIFEST).write_text(to_json(manifest) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------------- reading


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
    x: np.ndarray | None
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


def _safe_extract(
    zpath: Path, dest: Path, *, max_entries: int, max_entry_bytes: int, max_total_bytes: int
) -> None:
    """Extract ``zpath`` into ``dest`` after checking every entry; nothing is written when an
    entry is unsafe. Sizes are enforced on the bytes actually inflated, not the headers."""
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{zpath} is not a readable zip file ({exc}). Copy the bundle "
                          "again or give its directory.") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise BundleError(f"{zpath} has {len(infos)} entries (limit {max_entries}); "
                              "this is not a tflbench bundle.")
        seen: set[str] = set()
        files: set[str] = set()
        declared = 0
        for info in infos:
            where = f"{zpath}: entry {info.filename!r}"
            rel = check_relative_path(info.filename, where)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise BundleError(f"{where} is a symlink; bundles may not contain links. "
                                  "Re-create the bundle with 'tflbench bundle'.")
            if info.flag_bits & 0x1:
                raise BundleError(f"{where} is encrypted; tflbench bundles are not.")
            if info.compress_type not in _ZIP_METHODS:
                raise BundleError(f"{where} uses compression method {info.compress_type}, which "
                                  "this reader does not support; tflbench bundles use deflate. "
                                  "Re-create the bundle with 'tflbench bundle'.")
            key = rel.as_posix().lower()
            if key in seen:
                raise BundleError(f"{where} appears twice; the zip is not a tflbench bundle.")
            seen.add(key)
            if not info.is_dir():
                files.add(key)
            if info.file_size > max_entry_bytes:
                raise BundleError(f"{where} is {info.file_size} bytes uncompressed (limit "
                                  f"{max_entry_bytes}); refusing to extract it.")
            declared += info.file_size
            if declared > max_total_bytes:
                raise BundleError(f"{zpath} uncompresses to more than {max_total_bytes} bytes; "
                                  "refusing to extract it.")
        for info in infos:
            rel = PurePosixPath(info.filename.rstrip("/"))
            for parent in rel.parents:
                if parent.as_posix().lower() in files:
                    raise BundleError(
                        f"{zpath}: entry {info.filename!r} lies under {parent.as_posix()!r}, "
                        "which is a file entry of the same zip; the zip is not a tflbench "
                        "bundle. Re-create it with 'tflbench bundle'."
                    )
        root = dest.resolve()
        total = 0
        for info in infos:
            try:
                total = _extract_entry(zf, info, root, total, max_entry_bytes, max_total_bytes)
            except BundleError:
                raise
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError,
                    ValueError, zlib.error, lzma.LZMAError) as exc:
                raise BundleError(
                    f"{zpath}: entry {info.filename!r} cannot be extracted "
                    f"({type(exc).__name__}: {_one_line(exc)}). The zip is damaged or was not "
                    "written by 'tflbench bundle'; copy the bundle again."
                ) from None


def _extract_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, total: int,
                   max_entry_bytes: int, max_total_bytes: int) -> int:
    """Extract one checked entry under ``root``; return the running total of bytes written."""
    rel = PurePosixPath(info.filename.rstrip("/"))
    target = root.joinpath(*rel.parts)
    if not target.resolve().is_relative_to(root):  # pragma: no cover - checked before
        raise BundleError(f"{zf.filename}: entry {info.filename!r} escapes the bundle.")
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return total
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with zf.open(info) as src, open(target, "xb") as dst:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            total += len(chunk)
            if written > max_entry_bytes or total > max_total_bytes:
                raise BundleError(
                    f"{zf.filename}: entry {info.filename!r} inflates beyond its declared "
                    "size or the size limit; refusing to extract it."
                )
            dst.write(chunk)
    return total


def _find_root(dest: Path, source: Path) -> Path:
    if (dest / MANIFEST).is_file() or (dest / MANIFEST).is_symlink():
        return dest  # a symlinked manifest is refused by _load_manifest
    subdirs = [p for p in dest.iterdir() if p.is_dir()]
    if len(subdirs) == 1 and (subdirs[0] / MANIFEST).is_file():
        if subdirs[0].is_symlink():
            raise BundleError(f"{subdirs[0]} is a symlink; bundles may not contain links. Give "
                              "the bundle directory itself.")
        return subdirs[0]
    raise BundleError(f"{source} has no {MANIFEST} at its top level (or in a single top-level "
                      "directory). Give a bundle made by 'tflbench bundle'.")


def _load_manifest(root: Path, source: Path) -> dict[str, Any]:
    mpath = root / MANIFEST
    if mpath.is_symlink():
        raise BundleError(f"{mpath} is a symlink; refusing it. Re-create the bundle.")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{source} is not a tflbench bundle: {MANIFEST} is missing. Give "
                          "the directory or .zip written by 'tflbench bundle'.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{mpath} is not valid JSON ({exc}). Copy the bundle again.") from None
    validate_manifest(manifest, str(mpath))
    return manifest


def validate_manifest(manifest: Any, source: str = MANIFEST) -> None:
    """Check the manifest envelope and every path in it; raise :class:`BundleError`."""
    if not isinstance(manifest, dict):
        raise BundleError(f"{source}: expected a JSON object. Received: "
                          f"{type(manifest).__name__}.")
    if manifest.get("schema") != SCHEMA:
        raise BundleError(f"{source}: not a tflbench bundle manifest (schema="
                          f"{manifest.get('schema')!r}, expected {SCHEMA!r}).")
    ver = manifest.get("schema_version")
    if isinstance(ver, bool) or not isinstance(ver, int):
        raise BundleError(f"{source}: schema_version must be an integer. Received: {ver!r}.")
    if ver > SCHEMA_VERSION:
        raise BundleError(
            f"{source}: made by a newer tflbench (bundle schema_version={ver}, this tflbench "
            f"{__version__} reads up to {SCHEMA_VERSION}). Upgrade tflbench on this device: "
            "pip install -U tflbench."
        )
    if ver < 1:
        raise BundleError(f"{source}: schema_version must be >= 1. Received: {ver}.")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise BundleError(f"{source}: 'files' must be an object of path -> checksum.")
    for rel, meta in files.items():
        check_relative_path(rel, f"{source}: files")
        if (not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str)
                or not isinstance(meta.get("size_bytes"), int)):
            raise BundleError(f"{source}: files[{rel!r}] must have 'sha256' and 'size_bytes'.")
    host = manifest.get("host_results")
    if host is not None:
        check_relative_path(host, f"{source}: host_results")
        if host not in files:
            raise BundleError(f"{source}: host_results ({host!r}) is not listed in 'files'.")
    models = manifest.get("models")
    if not isinstance(models, list) or not models:
        raise BundleError(f"{source}: 'models' must be a non-empty list.")
    for i, m in enumerate(models):
        where = f"{source}: models[{i}]"
        if not isinstance(m, dict) or not isinstance(m.get("name"), str):
            raise BundleError(f"{where} must be an object with a string 'name'.")
        for key in ("inputs", "labels", "reference"):
            check_relative_path(m.get(key), f"{where}.{key}")
            if m[key] not in files:
                raise BundleError(f"{where}.{key} ({m[key]!r}) is not listed in 'files'.")
        if not isinstance(m.get("modes"), list):
            raise BundleError(f"{where}: 'modes' must be a list.")
        for j, md in enumerate(m["modes"]):
            if not isinstance(md, dict) or not isinstance(md.get("mode"), str):
                raise BundleError(f"{where}.modes[{j}] must be an object with a string 'mode'.")
            check_relative_path(md.get("file"), f"{where}.modes[{j}].file")
            if md["file"] not in files:
                raise BundleError(f"{where}.modes[{j}].file ({md['file']!r}) is not listed in "
                                  "'files'.")


def _verify_file(root: Path, rel: str, meta: Mapping[str, Any]) -> str | None:
    """None when ``rel`` is present, a regular file, and matches its size and checksum."""
    p = root.joinpath(*PurePosixPath(rel).parts)
    if _through_symlink(root, PurePosixPath(rel)):
        return f"{rel}: refused, it is (or lies under) a symlink"
    if not p.exists():
        return f"{rel}: missing"
    if not p.is_file():
        return f"{rel}: not a regular file"
    if not p.resolve().is_relative_to(root.resolve()):  # pragma: no cover - symlinks refused
        return f"{rel}: refused, it resolves outside the bundle"
    size = p.stat().st_size
    if size != meta["size_bytes"]:
        return f"{rel}: altered (size {size} bytes, manifest says {meta['size_bytes']})"
    if sha256_file(p) != meta["sha256"]:
        return f"{rel}: altered (sha256 does not match the manifest)"
    return None


def _load_npy(root: Path, rel: str) -> np.ndarray:
    try:
        arr = np.load(root.joinpath(*PurePosixPath(rel).parts), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BundleError(f"{rel}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise BundleError(f"{rel}: expected a numeric array")
    return arr


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
            _safe_extract(source, tmp, max_entries=max_entries,
                          max_entry_bytes=max_entry_bytes, max_total_bytes=max_total_bytes)
            root = _find_root(tmp, source)
        else:
            if source.is_symlink():
                raise BundleError(f"{source} is a symlink; give the bundle directory itself.")
            root = _find_root(source, source)
        manifest = _load_manifest(root, source)
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
    files: dict[str, Any] = manifest["files"]
    file_problem: dict[str, str | None] = {}

    def problem(rel: str) -> str | None:
        if rel not in file_problem:
            file_problem[rel] = _verify_file(root, rel, files[rel])
        return file_problem[rel]

    models: list[BundleModel] = []
    for m in manifest["models"]:
        model_error: str | None = None
        arrays: dict[str, np.ndarray] = {}
        for key in ("inputs", "labels", "reference"):
            p = problem(m[key])
            if p is None:
                try:
                    arrays[key] = _load_npy(root, m[key])
                except BundleError as exc:
                    p = file_problem[m[key]] = str(exc)
            if p is not None and model_error is None:
                model_error = p
        class_names = [str(c) for c in m.get("class_names") or []]
        if model_error is None:
            model_error = _check_arrays(m, arrays, class_names)
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
                path=None if p else root.joinpath(*PurePosixPath(md["file"]).parts),
                ok=err is None, error=err, io=md.get("io"), host=md.get("host"),
            ))
        models.append(bm)
    host_results = None
    if manifest.get("host_results"):
        rel = manifest["host_results"]
        if problem(rel) is None:
            host_results = root.joinpath(*PurePosixPath(rel).parts)
    problems = [p for p in file_problem.values() if p]
    return Bundle(source=source, root=root, manifest=manifest, models=models,
                  problems=problems, host_results=host_results, _tmp=tmp)


def _check_arrays(
    m: Mapping[str, Any], arrays: Mapping[str, np.ndarray], class_names: Sequence[str]
) -> str | None:
    x, y, ref = arrays["inputs"], arrays["labels"], arrays["reference"]
    if not (len(x) == len(y) == len(ref)) or len(x) == 0:
        return (f"{m['name']}: inputs, labels and reference have {len(x)}, {len(y)} and "
                f"{len(ref)} samples; they must be equal and non-zero")
    if y.ndim != 1 or y.dtype.kind not in "iu":
        return f"{m['labels']}: labels must be a 1-D integer array (got {y.dtype} {y.shape})"
    if ref.ndim != 2 or (class_names and ref.shape[1] != len(class_names)):
        return (f"{m['reference']}: reference outputs must be (n, {len(class_names)}); got "
                f"{ref.shape}")
    shape = m.get("input_shape")
    if shape is not None and list(x.shape[1:]) != list(shape):
        return f"{m['inputs']}: inputs have sample shape {list(x.shape[1:])}, manifest {shape}"
    return None
