"""Checking bundle files against the manifest: presence, no symlinks, size and SHA-256, and
that the evaluation arrays are numeric ``.npy`` files (read with ``allow_pickle=False``) of
consistent shapes. Each check returns one problem line instead of raising, so that a damaged
file marks only the modes (or the model) it belongs to.

The checksums detect corruption and accidental edits; they do not prove who made the bundle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from tflbench.bundle.paths import bundle_path, through_symlink
from tflbench.errors import BundleError
from tflbench.fileio import sha256_file


def verify_file(root: Path, rel: str, meta: Mapping[str, Any]) -> str | None:
    """None when ``rel`` is present, a regular file, and matches its size and checksum; else
    one line saying what is wrong."""
    p = bundle_path(root, rel)
    if through_symlink(root, PurePosixPath(rel)):
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


def load_npy(root: Path, rel: str) -> np.ndarray:
    """The numeric array stored at ``rel``; raise :class:`BundleError` for anything else."""
    try:
        arr = np.load(bundle_path(root, rel), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BundleError(f"{rel}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise BundleError(f"{rel}: expected a numeric array")
    return arr


def check_arrays(
    m: Mapping[str, Any], arrays: Mapping[str, Any], class_names: Sequence[str]
) -> str | None:
    """None when the ``inputs``, ``labels`` and ``reference`` arrays of the manifest entry
    ``m`` agree with each other and with the entry; else one line saying what is wrong."""
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
