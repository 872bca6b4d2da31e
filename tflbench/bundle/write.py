"""Writing a bundle from a host results document: the evaluation arrays, the ``.tflite`` of
every mode that ran, the host results without latency samples, a README and the manifest that
lists every file with its SHA-256 and size.

A directory bundle is written in place (replacing an earlier bundle only when told to, see
:mod:`tflbench.bundle.replace`) and removed again when writing fails; a zip bundle is staged in
a temporary directory and zipped (:mod:`tflbench.bundle.archive`).
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from tflbench import __version__
from tflbench.bundle.archive import check_replaceable_zip, write_zip
from tflbench.bundle.inputs import write_inputs
from tflbench.bundle.manifest import HOST_RESULTS, MANIFEST, README, SCHEMA, SCHEMA_VERSION
from tflbench.bundle.paths import slug, unique_name
from tflbench.bundle.replace import prepare_out_dir, remove_files
from tflbench.data.base import LazyArray, stratified_subset
from tflbench.errors import BundleError
from tflbench.fileio import atomic_write_text, sha256_and_size, sha256_file
from tflbench.results import to_json

#: Evaluation samples stored per model unless told otherwise.
DEFAULT_MAX_SAMPLES = 1000


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
    plan = _Plan(arrays, max_samples, seed, wanted, thresholds, base)

    if zip:
        zip_path = out if out.suffix == ".zip" else out.with_name(out.name + ".zip")
        if zip_path.exists() or zip_path.is_symlink():
            if not overwrite:
                raise BundleError(f"{zip_path} already exists. Choose another --out or remove "
                                  "it (a bundle is replaced only with overwrite/--force).")
            check_replaceable_zip(zip_path)
        with tempfile.TemporaryDirectory(prefix="tflbench-bundle-") as tmp:
            stage = Path(tmp) / slug(zip_path.stem)
            _write_dir(results_doc, plan, _Writer(stage))
            write_zip(stage, zip_path)
        return zip_path

    created = prepare_out_dir(out, overwrite)
    writer = _Writer(out)
    try:
        _write_dir(results_doc, plan, writer)
    except BaseException:
        # No partial bundle: remove what was written here, and nothing else.
        remove_files(out, writer.written)
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    return out


@dataclass(frozen=True)
class _Plan:
    """What :func:`write_bundle` was asked to store."""

    arrays: Mapping[str, ModelArrays]
    max_samples: int | None
    seed: int
    wanted: set[str] | None
    thresholds: Mapping[str, Any] | None
    base: Path


class _Writer:
    """Adds files to the bundle directory ``out``: records each path written (so a failed
    bundle can be removed), its checksum for the manifest, and stores identical content once.
    A file already present is never overwritten."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.written: list[PurePosixPath] = []
        self.files: dict[str, dict[str, Any]] = {}
        self._by_digest: dict[str, str] = {}  # sha256 -> first relative path with that content

    def new_file(self, rel: str) -> Path:
        """The path of a new bundle file ``rel``, its directory created; refuse to replace a
        file that is not part of this bundle."""
        target = self.out / rel
        if target.exists() or target.is_symlink():
            raise BundleError(
                f"Bundle output {self.out} already holds {rel}, which is not a file of the "
                "bundle being replaced; refusing to overwrite it. Choose another --out."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        self.written.append(PurePosixPath(rel))
        return target

    def add(self, rel: str, write: Callable[[Path], object]) -> str:
        """Write a listed file via ``write(path)`` and return its relative path; identical
        content is stored once (the path of the first copy is returned)."""
        target = self.new_file(rel)
        write(target)
        digest, size = sha256_and_size(target)
        first = self._by_digest.get(digest)
        if first is not None and first != rel:
            target.unlink()
            return first
        self._by_digest[digest] = rel
        self.files[rel] = {"sha256": digest, "size_bytes": size}
        return rel

    def add_npy(self, rel: str, arr: np.ndarray) -> str:
        return self.add(rel, lambda p: np.save(p, arr, allow_pickle=False))


def _write_dir(doc: Mapping[str, Any], plan: _Plan, w: _Writer) -> None:
    """Write the bundle files of ``doc`` through ``w``."""
    taken = {MANIFEST.lower(), README.lower(), HOST_RESULTS.lower()}  # model directory names
    models_out: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    among = f" among {sorted(plan.wanted)}" if plan.wanted else ""
    for model in doc["models"]:
        if not bundleable_modes(model, plan.wanted):
            skipped.append({"model": model["name"],
                            "reason": "no mode converted and ran on the host" + among})
            continue
        models_out.append(_write_model(model, plan, w, taken))
    if not models_out:
        raise BundleError(
            "Nothing to bundle: no mode of any model converted and ran on the host" + among
            + ". Check the host results (tflbench report) or choose other --modes."
        )
    host_doc = _strip_samples(doc)
    host_results = w.add(HOST_RESULTS, lambda p: atomic_write_text(p, to_json(host_doc) + "\n"))

    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "tflbench_version": __version__,
        "settings": dict(doc.get("settings") or {}),
        "bundle": {"max_samples": plan.max_samples, "sampling": "stratified", "seed": plan.seed,
                   "modes": sorted(plan.wanted) if plan.wanted else None},
        "thresholds": dict(plan.thresholds) if plan.thresholds else None,
        "host": {
            "device": doc.get("device"),
            "created": doc.get("created"),
            "tflbench_version": doc.get("tflbench_version"),
            "environment": doc.get("environment"),
        },
        "host_results": host_results,
        "models": models_out,
        "skipped": skipped,
        "files": w.files,
    }
    atomic_write_text(w.new_file(README), _readme(manifest))
    atomic_write_text(w.new_file(MANIFEST), to_json(manifest) + "\n")


def _write_model(model: Mapping[str, Any], plan: _Plan, w: _Writer, taken: set[str]
                 ) -> dict[str, Any]:
    """Write the arrays and ``.tflite`` files of one model; return its manifest entry."""
    name = model["name"]
    if name not in plan.arrays:
        raise BundleError(
            f"No evaluation arrays given for model {name!r}. Received arrays for: "
            f"{', '.join(plan.arrays) or 'none'}."
        )
    records = bundleable_modes(model, plan.wanted)
    mode_names = [r["mode"] for r in records]
    twice = sorted({m for m in mode_names if mode_names.count(m) > 1})
    if twice:
        raise BundleError(
            f"Model {name!r} has more than one successful record of mode(s) "
            f"{', '.join(map(repr, twice))} in the results document; a bundle holds one "
            "file per mode. Keep one record per mode (e.g. bundle one run, not a merge of "
            "several) or choose --modes."
        )
    arr = plan.arrays[name].subset(plan.max_samples, plan.seed)
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
    d = unique_name(slug(name), taken)
    encoding: dict[str, Any] = {}  # filled when the inputs are written
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
        "inputs": w.add(f"{d}/inputs.npy", lambda p: encoding.update(
            write_inputs(p, arr.x, dataset.get("preprocessing")))),
        "inputs_encoding": encoding,
        "labels": w.add_npy(f"{d}/labels.npy", np.asarray(arr.y).astype(np.int64)),
        "reference": w.add_npy(f"{d}/reference.npy", reference),
        "modes": [],
    }
    mode_files: set[str] = set()  # .tflite names taken in this model directory
    for rec in records:
        src = Path(rec["file"]["path"])
        src = src if src.is_absolute() else plan.base / src
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
        rel = w.add(f"{d}/{unique_name(slug(rec['mode']), mode_files)}.tflite",
                    functools.partial(shutil.copyfile, src))
        entry["modes"].append({
            "mode": rec["mode"],
            "file": rel,
            "io": rec.get("io"),
            "size_ratio": (rec.get("file") or {}).get("size_ratio"),
            "host": _host_summary(rec),
        })
    return entry


def _strip_samples(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a results document without per-run latency samples (kept small)."""
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
