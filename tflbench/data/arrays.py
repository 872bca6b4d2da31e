"""Raw image arrays into a :class:`~tflbench.data.base.Dataset`: the validation and
preprocessing every array source (``npz``, ``tfds``, ``keras``) shares.

:func:`from_arrays` checks images (numeric, ``(N, H, W)`` or ``(N, H, W, C)``, 1 to 4
channels, finite), labels (integer, one per image, non-negative) and class names, splits with
a seeded stratified split when given one array, and preprocesses (uint8 images default to
``x / 255``, float images to no change). A :class:`~tflbench.data.base.LazyArray` of raw rows
gives lazy splits whose rows are preprocessed as they are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tflbench.data import preprocess as pp
from tflbench.data.base import (
    VAL_FROM_TRAIN,
    Dataset,
    LazyArray,
    Split,
    check_splits_not_empty,
    resolve_fractions,
    stratified_split,
)
from tflbench.errors import DataError

SEED = 1234
_CHUNK = 1024


def from_arrays(
    parts: Mapping[str, tuple[np.ndarray | LazyArray, np.ndarray]],
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
    (+ optional ``"val"``; without it 10% of train becomes validation) to ``(x, y)``. An ``x``
    given as a :class:`~tflbench.data.base.LazyArray` of raw rows gives lazy splits.
    """
    checked = {
        k: (_check_x(x, f"x_{k}" if k != "all" else "x", what), y) for k, (x, y) in parts.items()
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
    if all_y.size == 0:
        raise DataError(f"{what} holds no samples (its label arrays are empty). Save the "
                        "images and labels to evaluate.")
    names = resolve_class_names(class_names, all_y, what)
    if len(names) < 2:
        raise DataError(
            f"{what} has a single class ({names[0]!r}). A classifier needs at least two "
            "classes: add samples of other classes."
        )

    default = "unit" if dtypes == {np.dtype(np.uint8)} else "raw"
    spec = pp.with_defaults(preprocessing, input_size=input_size, default_named=default)

    raw: list[tuple[np.ndarray | LazyArray, np.ndarray, np.ndarray | None]]
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

    splits = [_preprocess_split(x, y, idx, spec, f"x in {what}") for x, y, idx in raw]
    if len(splits[2]) == 0 or ("all" not in checked and any(len(s) == 0 for s in splits)):
        raise DataError(f"A split of {what} is empty. Give at least one sample per split.")
    spec.update({
        "input_shape": [int(d) for d in splits[2].x.shape[1:]],
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
    x: np.ndarray | LazyArray, y: np.ndarray, idx: np.ndarray | None, spec: Mapping[str, Any],
    where: str = "x",
) -> Split:
    rows = np.arange(len(y)) if idx is None else idx
    if isinstance(x, LazyArray):
        return Split(PreprocessedArray(x, rows, spec, where), y[rows])
    first = pp.apply_preprocessing(x[rows[:1]], spec) if len(rows) else None
    shape = first.shape[1:] if first is not None else x.shape[1:]
    out = np.empty((len(rows), *shape), dtype=np.float32)
    for start in range(0, len(rows), _CHUNK):
        sel = rows[start : start + _CHUNK]
        out[start : start + len(sel)] = pp.apply_preprocessing(x[sel], spec)
    return Split(out, y[rows])


class PreprocessedArray(LazyArray):
    """Rows of a raw image array, preprocessed as they are read."""

    def __init__(self, raw: LazyArray, rows: np.ndarray, spec: Mapping[str, Any],
                 where: str) -> None:
        self._raw, self._spec, self._where = raw, dict(spec), where
        self._floating = bool(np.issubdtype(raw.dtype, np.floating))
        first = self._read(rows[:1]) if len(rows) else np.empty((0, *raw.sample_shape))
        super().__init__(rows, first.shape[1:], np.float32)

    def _read(self, rows: np.ndarray) -> np.ndarray:
        x = self._raw[rows]
        if self._floating and not np.isfinite(x).all():
            raise DataError(f"{self._where} contains NaN or infinite values. Clean the data.")
        return pp.apply_preprocessing(x, self._spec)


def _check_x(x: np.ndarray | LazyArray, key: str, what: str) -> np.ndarray | LazyArray:
    if not isinstance(x, LazyArray):
        return check_images(np.asarray(x), key, what)
    # A zero-stride view with the full shape: the checks and messages of check_images, no data.
    shape = getattr(x, "raw_shape", x.shape)
    check_images(np.broadcast_to(np.zeros((), x.dtype), shape), key, what, check_finite=False)
    return x


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


def object_array_error(where: str) -> DataError:
    """The error for an array of Python objects; ``where`` names it ("Array 'x' in '...'")."""
    return DataError(
        f"{where} holds Python objects (dtype=object), which are refused for safety "
        "(allow_pickle=False). Save it as a numeric or string array, e.g. x.astype(np.uint8) "
        "or np.array(names, dtype=str)."
    )
