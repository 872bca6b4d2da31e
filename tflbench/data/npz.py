"""NumPy ``.npz`` files, and the shared path that turns arrays into a :class:`Dataset`.

An ``.npz`` holds either

* ``x`` (images, ``(N, H, W)`` or ``(N, H, W, C)``) and ``y`` (integer labels ``(N,)``), split
  with a seeded stratified split by ``fractions`` (default 0.8/0.1/0.1), or
* its own splits: ``x_train``/``y_train`` and ``x_test``/``y_test``, optionally
  ``x_val``/``y_val`` (when absent, 10% of the training part, stratified, becomes validation),

plus an optional ``class_names`` (1-D string array). Files are read with
``allow_pickle=False``: object arrays are refused. uint8 images default to ``x / 255``; float
images default to no change (``named: raw``); any preprocessing spec may be given instead.
Write one with e.g. ``np.savez(path, x=x.astype(np.uint8), y=y, class_names=np.array(names))``.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.data import preprocess as pp
from tflbench.data.base import (
    VAL_FROM_TRAIN,
    Dataset,
    Split,
    check_splits_not_empty,
    resolve_fractions,
    stratified_split,
)
from tflbench.errors import ConfigError, DataError

SEED = 1234
SPLIT_NAMES = ("train", "val", "test")
_CHUNK = 1024


def load(
    path: str | os.PathLike[str],
    *,
    seed: int = SEED,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    input_size: Any = None,
    name: str | None = None,
) -> Dataset:
    """Load an ``.npz`` file (see the module docstring)."""
    p = Path(path).expanduser()
    arrays = read_npz(p)
    keys = set(arrays)
    what = f"'{p}'"
    class_names = arrays.pop("class_names", None)
    if {"x", "y"} <= keys:
        parts: dict[str, tuple[np.ndarray, np.ndarray]] = {"all": (arrays["x"], arrays["y"])}
    elif {"x_train", "y_train", "x_test", "y_test"} <= keys:
        if fractions is not None:
            raise ConfigError(
                f"{what} already holds train/test splits, so split fractions do not apply. "
                f"Received: fractions={fractions!r}. Drop the fractions, or save x and y only."
            )
        parts = {s: (arrays[f"x_{s}"], arrays[f"y_{s}"]) for s in SPLIT_NAMES
                 if f"x_{s}" in arrays and f"y_{s}" in arrays}
        if ("x_val" in keys) != ("y_val" in keys):
            raise DataError(f"{what} has only one of x_val and y_val. Save both or neither.")
    else:
        raise DataError(
            f"{what} lacks the arrays it needs. Received keys: {sorted(keys) or 'none'}. "
            "Expected 'x' and 'y' (optionally 'class_names'), or 'x_train', 'y_train', "
            "'x_test', 'y_test' (optionally 'x_val', 'y_val')."
        )
    return from_arrays(
        parts,
        name=name or p.stem,
        source=f"npz:{p.resolve()}",
        what=what,
        class_names=class_names,
        seed=seed,
        fractions=fractions,
        preprocessing=preprocessing,
        input_size=input_size,
    )


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` with ``allow_pickle=False`` and clear errors."""
    if not path.is_file():
        raise DataError(f"NumPy file not found. Received: '{path}'. Give an existing .npz file.")
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(
            f"'{path}' is neither an .npz archive nor an .npy array; reading it would need "
            "unpickling Python objects, which is refused for safety. Save plain numeric arrays "
            f"with np.savez(path, x=x, y=y). ({str(exc).splitlines()[0]})"
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(
            f"'{path}' is not a readable .npz file ({exc}). Write it with np.savez or "
            "np.savez_compressed."
        ) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataError(
            f"'{path}' holds a single array, not an .npz archive. Save images and labels "
            "together: np.savez(path, x=x, y=y)."
        )
    out: dict[str, np.ndarray] = {}
    with loaded:
        for key in loaded.files:
            try:
                out[key] = loaded[key]
            except ValueError:
                raise DataError(
                    f"Array '{key}' in '{path}' holds Python objects (dtype=object), which are "
                    "refused for safety (allow_pickle=False). Save it as a numeric or string "
                    "array, e.g. x.astype(np.uint8) or np.array(names, dtype=str)."
                ) from None
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                raise DataError(
                    f"Array '{key}' in '{path}' cannot be read ({exc}). The file may be "
                    "truncated; write it again."
                ) from None
    return out


def check_images(x: np.ndarray, key: str, what: str, check_finite: bool = True) -> np.ndarray:
    """Validate an image array: numeric, ``(N, H, W)`` or ``(N, H, W, C)`` with C in 1..4.

    ``check_finite`` scans float pixels for NaN/inf (streaming readers check per batch instead).
    """
    if x.dtype == object:
        raise DataError(f"{key} in {what} has dtype object. Save numeric pixels.")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise DataError(
            f"{key} in {what} must hold integer or float pixels. Received: dtype {x.dtype}."
        )
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 2, 3, 4) or 0 in x.shape[1:]:
        raise DataError(
            f"{key} in {what} must be shaped (N, H, W) or (N, H, W, C) with 1 to 4 channels. "
            f"Received: shape {tuple(x.shape)}."
        )
    if check_finite and np.issubdtype(x.dtype, np.floating) and len(x) and not np.isfinite(
            x).all():
        raise DataError(f"{key} in {what} contains NaN or infinite values. Clean the data.")
    return x


def check_labels(y: np.ndarray, n: int, key: str, what: str) -> np.ndarray:
    """Validate labels: integer, one per image, non-negative."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(
            f"{key} in {what} must be 1-D integer class indices. Received: shape "
            f"{tuple(y.shape)}. (One-hot labels? Save y.argmax(axis=1).)"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(
            f"{key} in {what} must hold integer class indices. Received: dtype {y.dtype}. "
            "Save y.astype(np.int64)."
        )
    if len(y) != n:
        raise DataError(
            f"{key} in {what} has {len(y)} labels for {n} images. Give one label per image."
        )
    if len(y) and int(y.min()) < 0:
        raise DataError(f"{key} in {what} has a negative label ({int(y.min())}). "
                        "Labels must be 0..num_classes-1.")
    return y.astype(np.int64)


def from_arrays(
    parts: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    name: str,
    source: str,
    what: str,
    class_names: Any = None,
    seed: int = SEED,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    input_size: Any = None,
    notes: Sequence[str] = (),
) -> Dataset:
    """Build a :class:`Dataset` from raw image arrays, shared by every array source.

    ``parts`` maps ``"all"`` (split here by ``fractions``) or ``"train"``/``"test"``
    (+ optional ``"val"``; without it 10% of train becomes validation) to ``(x, y)``.
    """
    checked = {
        k: (check_images(np.asarray(x), f"x_{k}" if k != "all" else "x", what), y)
        for k, (x, y) in parts.items()
    }
    checked = {
        k: (x, check_labels(np.asarray(y), len(x), f"y_{k}" if k != "all" else "y", what))
        for k, (x, y) in checked.items()
    }
    shapes = {x.shape[1:] for x, _ in checked.values()}
    if len(shapes) > 1:
        raise DataError(
            f"The splits in {what} have different image shapes: {sorted(shapes)}. "
            "Save every split with the same height, width and channels."
        )
    dtypes = {x.dtype for x, _ in checked.values()}
    all_y = np.concatenate([y for _, y in checked.values()])
    names = resolve_class_names(class_names, all_y, what)
    if len(names) < 2:
        raise DataError(
            f"{what} has a single class ({names[0]!r}). A classifier needs at least two "
            "classes: add samples of other classes."
        )

    default = "unit" if dtypes == {np.dtype(np.uint8)} else "raw"
    spec = pp.with_defaults(preprocessing, input_size=input_size, default_named=default)

    raw: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]
    if "all" in checked:
        x, y = checked["all"]
        fr = resolve_fractions(fractions)
        idx = stratified_split(y, fr, seed)
        check_splits_not_empty([len(i) for i in idx], what, fr)
        raw = [(x, y, i) for i in idx]
    else:
        x_tr, y_tr = checked["train"]
        if "val" in checked:
            raw = [(x_tr, y_tr, None), (*checked["val"], None), (*checked["test"], None)]
        else:
            fr2 = (1.0 - VAL_FROM_TRAIN, VAL_FROM_TRAIN)
            tr, va = stratified_split(y_tr, fr2, seed)
            check_splits_not_empty([len(tr), len(va), len(checked["test"][1])],
                                   f"{what} (validation = {VAL_FROM_TRAIN:.0%} of train)", fr2)
            raw = [(x_tr, y_tr, tr), (x_tr, y_tr, va), (*checked["test"], None)]

    splits = [_preprocess_split(x, y, idx, spec) for x, y, idx in raw]
    for s in splits:
        if len(s) == 0:
            raise DataError(f"A split of {what} is empty. Give at least one sample per split.")
    spec.update({
        "input_shape": [int(d) for d in splits[0].x.shape[1:]],
        "layout": "NHWC", "dtype": "float32",
        "raw_dtype": str(next(iter(dtypes))) if len(dtypes) == 1 else "mixed",
    })
    return Dataset(
        name=name,
        class_names=names,
        train=splits[0],
        val=splits[1],
        test=splits[2],
        preprocessing=spec,
        source=source,
        notes=tuple(notes),
    )


def _preprocess_split(
    x: np.ndarray, y: np.ndarray, idx: np.ndarray | None, spec: Mapping[str, Any]
) -> Split:
    rows = np.arange(len(y)) if idx is None else idx
    first = pp.apply_preprocessing(x[rows[:1]], spec) if len(rows) else None
    shape = first.shape[1:] if first is not None else x.shape[1:]
    out = np.empty((len(rows), *shape), dtype=np.float32)
    for start in range(0, len(rows), _CHUNK):
        sel = rows[start : start + _CHUNK]
        out[start : start + len(sel)] = pp.apply_preprocessing(x[sel], spec)
    return Split(out, y[rows])


def resolve_class_names(class_names: Any, y: np.ndarray, what: str) -> tuple[str, ...]:
    top = int(y.max()) + 1 if len(y) else 0
    if class_names is None:
        return tuple(str(i) for i in range(max(top, 1)))
    arr = np.asarray(class_names)
    if arr.ndim != 1 or arr.dtype.kind not in "US":
        raise DataError(
            f"class_names in {what} must be a 1-D array of strings. Received: dtype "
            f"{arr.dtype}, shape {tuple(arr.shape)}."
        )
    names = tuple(v.decode() if isinstance(v, bytes) else str(v) for v in arr.tolist())
    if len(set(names)) != len(names):
        raise DataError(f"class_names in {what} has duplicates: {list(names)}. Make them unique.")
    if top > len(names):
        raise DataError(
            f"Label {top - 1} in {what} is out of range for {len(names)} class names. Labels "
            f"must be 0..{len(names) - 1}; fix the labels or add class names."
        )
    return names
