"""The bundle manifest: its file names and schema identity, finding and loading it, and the
strict check :func:`read_bundle` applies before trusting any path in it.

The serialized form is described by a JSON Schema (draft 2020-12) shipped in the package; see
:func:`manifest_schema`. The checks here need no third-party package.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

from tflbench import __version__
from tflbench.bundle.paths import check_relative_path
from tflbench.errors import BundleError

SCHEMA = "tflbench.bundle"
#: Version 2 stores the inputs compactly (``models[].inputs_encoding``: 8-bit pixels plus the
#: numeric preprocessing, or float32) and reads them batch by batch; version-1 bundles (float32
#: inputs, no ``inputs_encoding``) are still read.
SCHEMA_VERSION = 2
MANIFEST = "manifest.json"
README = "README.txt"
#: The host's results document (without latency samples), for merging on the device.
HOST_RESULTS = "host-results.json"

_SCHEMA_FILE = "manifest.schema.json"


def manifest_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``manifest.json``, as shipped in ``tflbench/schemas``.

    A fresh dict on every call. Validating with it needs ``jsonschema``; :func:`validate_manifest`
    does not.
    """
    text = (importlib.resources.files("tflbench") / "schemas" / _SCHEMA_FILE).read_text(
        encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def find_root(dest: Path, source: Path) -> Path:
    """The bundle directory in ``dest``: ``dest`` itself when it holds the manifest, else its
    only subdirectory holding one (a zip of one top-level directory)."""
    if (dest / MANIFEST).is_file() or (dest / MANIFEST).is_symlink():
        return dest  # a symlinked manifest is refused by load_manifest
    subdirs = [p for p in dest.iterdir() if p.is_dir()]
    if len(subdirs) == 1 and (subdirs[0] / MANIFEST).is_file():
        if subdirs[0].is_symlink():
            raise BundleError(f"{subdirs[0]} is a symlink; bundles may not contain links. Give "
                              "the bundle directory itself.")
        return subdirs[0]
    raise BundleError(f"{source} has no {MANIFEST} at its top level (or in a single top-level "
                      "directory). Give a bundle made by 'tflbench bundle'.")


def load_manifest(root: Path, source: Path) -> dict[str, Any]:
    """Read ``root/manifest.json`` and :func:`validate_manifest` it; ``source`` is what the user
    gave (named in errors)."""
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
    except RecursionError:
        raise BundleError(f"{mpath} is not a usable manifest: values nested too deeply to read. "
                          "Copy the bundle again.") from None
    validate_manifest(manifest, str(mpath))
    return manifest


def validate_manifest(manifest: Any, source: str = MANIFEST) -> None:
    """Check the manifest envelope, every path in it and the types of the fields a reader
    uses; raise :class:`BundleError`."""
    try:
        _validate(manifest, source)
    except RecursionError:
        raise BundleError(f"{source}: values nested too deeply to read; this is not a manifest "
                          "written by 'tflbench bundle'. Copy the bundle again.") from None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_type(value: Any, expected: str, where: str) -> None:
    """``value`` is null or of the ``expected`` JSON shape: "object", "int>=1", "number",
    "strings" (a list of strings) or "ints" (a list of integers)."""
    if value is None:
        return
    ok = {
        "object": lambda v: isinstance(v, dict),
        "int>=1": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "ints": lambda v: isinstance(v, list) and all(
            isinstance(x, int) and not isinstance(x, bool) for x in v),
    }[expected](value)
    if not ok:
        shown = {"object": "an object", "int>=1": "a positive integer", "number": "a number",
                 "strings": "a list of strings", "ints": "a list of integers"}[expected]
        raise BundleError(f"{where} must be {shown} or null. Received: {_kind(value)}. The "
                          "manifest is damaged or was not written by 'tflbench bundle'.")


def _validate(manifest: Any, source: str) -> None:
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
    for key in ("settings", "host", "bundle", "thresholds"):
        _check_type(manifest.get(key), "object", f"{source}: {key}")
    for key in ("num_threads", "top_k"):
        _check_type((manifest.get("settings") or {}).get(key), "int>=1",
                    f"{source}: settings.{key}")
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
        for key, expected in (("class_names", "strings"), ("input_shape", "ints"),
                              ("dataset", "object")):
            _check_type(m.get(key), expected, f"{where}.{key}")
        if not isinstance(m.get("modes"), list):
            raise BundleError(f"{where}: 'modes' must be a list.")
        for j, md in enumerate(m["modes"]):
            if not isinstance(md, dict) or not isinstance(md.get("mode"), str):
                raise BundleError(f"{where}.modes[{j}] must be an object with a string 'mode'.")
            check_relative_path(md.get("file"), f"{where}.modes[{j}].file")
            for key, expected in (("io", "object"), ("host", "object"), ("size_ratio", "number")):
                _check_type(md.get(key), expected, f"{where}.modes[{j}].{key}")
            if md["file"] not in files:
                raise BundleError(f"{where}.modes[{j}].file ({md['file']!r}) is not listed in "
                                  "'files'.")
