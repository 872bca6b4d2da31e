"""The evaluation inputs of a bundle: stored compactly, read batch by batch.

A model's inputs are what the host evaluated: float32 NHWC, already preprocessed. Stored as
float32 they take 4 bytes a value (about 600 MB for 1,000 images of 224x224x3), too much for a
small board to hold. So :func:`write_inputs` stores them in one of two encodings, recorded in the
manifest entry of the model as ``inputs_encoding``:

``{"dtype": "uint8", "preprocessing": {...}}``
    The 8-bit pixels, 1 byte a value, and the numeric part of the recorded preprocessing
    (``scale``, ``offset``, ``mean``, ``std``, ``channel_order``; see
    :mod:`tflbench.data.preprocess`). Chosen only when it is exact: every stored batch, run
    through :func:`tflbench.data.preprocess.apply_preprocessing`, gives back the host's float32
    inputs bit for bit, so the device evaluates exactly what the host did.
``{"dtype": "float32"}``
    The inputs as they are, for data that is not 8-bit pixels under the recorded
    preprocessing (float features, a resize with float output, a preprocessing the numbers
    cannot express). Version-1 bundles read as this encoding.

Either way the file is a plain ``.npy`` (no pickle) and :func:`open_inputs` returns a
:class:`BundleInputs`: a :class:`~tflbench.data.base.LazyArray` that reads only the rows asked
for, with ordinary file reads (so they go through the page cache, not into the process's
resident memory), and decodes them to float32. The runtime slices it one evaluation batch at a
time (:meth:`tflbench.runtime.Runner.predict`). Nothing here needs TensorFlow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.data.base import LazyArray
from tflbench.data.preprocess import apply_preprocessing, resolve
from tflbench.errors import BundleError, TflbenchError

#: Encodings of ``inputs_encoding.dtype``.
UINT8, FLOAT32 = "uint8", "float32"
ENCODINGS = (UINT8, FLOAT32)
#: The preprocessing keys a stored uint8 encoding may carry (numbers only: no resize).
NUMERIC_KEYS = ("scale", "offset", "mean", "std", "channel_order")
#: Rows encoded and written per step.
WRITE_ROWS = 64


def numeric_spec(preprocessing: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The numeric part of a recorded preprocessing spec (resolved: ``named`` expanded)."""
    try:
        spec = resolve(preprocessing or {}, strict=False)
    except TflbenchError:
        return {"scale": 1.0, "offset": 0.0}
    return {k: spec[k] for k in NUMERIC_KEYS if k in spec}


def encoding_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The ``inputs_encoding`` of a manifest model entry; version-1 entries have none and
    store float32. Raises :class:`BundleError` for an encoding this tflbench cannot read."""
    enc = entry.get("inputs_encoding")
    if enc is None:
        return {"dtype": FLOAT32}
    if not isinstance(enc, Mapping) or enc.get("dtype") not in ENCODINGS:
        raise BundleError(f"{entry.get('inputs')}: unknown inputs_encoding {enc!r}; expected "
                          f"dtype one of {', '.join(ENCODINGS)}. Re-create the bundle with "
                          "'tflbench bundle' or upgrade tflbench.")
    out: dict[str, Any] = {"dtype": str(enc["dtype"])}
    if out["dtype"] == UINT8:
        pre = enc.get("preprocessing")
        if not isinstance(pre, Mapping) or set(pre) - set(NUMERIC_KEYS):
            raise BundleError(f"{entry.get('inputs')}: inputs_encoding.preprocessing must be "
                              f"an object with only {', '.join(NUMERIC_KEYS)}. Received: "
                              f"{pre!r}.")
        try:
            out["preprocessing"] = resolve(dict(pre))
        except TflbenchError as exc:
            raise BundleError(f"{entry.get('inputs')}: inputs_encoding.preprocessing is not "
                              f"usable: {exc}") from None
    return out


def _to_uint8(x: np.ndarray, spec: Mapping[str, Any]) -> np.ndarray | None:
    """The 8-bit pixels that ``spec`` turns into exactly ``x``, or None when there are none."""
    if x.ndim not in (3, 4):  # not a batch of images
        return None
    y = np.asarray(x, dtype=np.float64)
    if "std" in spec:
        y = y * np.asarray(spec["std"], dtype=np.float64)
    if "mean" in spec:
        y = y + np.asarray(spec["mean"], dtype=np.float64)
    y = (y - spec.get("offset", 0.0)) / spec.get("scale", 1.0)
    if spec.get("channel_order") == "bgr":
        y = y[..., ::-1]
    if not np.all(np.isfinite(y)):
        return None
    raw = np.rint(y)
    if raw.size and (raw.min() < 0 or raw.max() > 255):
        return None
    pixels = raw.astype(np.uint8)
    try:
        back = apply_preprocessing(pixels, spec).reshape(np.shape(x))
    except TflbenchError:  # e.g. a per-channel mean that does not fit the channels
        return None
    return pixels if np.array_equal(back, x) else None


def _write_header(fh: Any, dtype: np.dtype, shape: tuple[int, ...]) -> None:
    np.lib.format.write_array_header_1_0(
        fh, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
             "shape": shape})


def write_inputs(path: str | os.PathLike[str], x: Any,
                 preprocessing: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Write the float32 inputs ``x`` (an array or a :class:`LazyArray`, read ``WRITE_ROWS``
    rows at a time) to the ``.npy`` at ``path``, as 8-bit pixels when the numeric part of
    ``preprocessing`` reproduces them exactly, else as float32. Returns the
    ``inputs_encoding`` for the manifest."""
    p = Path(path)
    n = len(x)
    sample = tuple(int(d) for d in x.shape[1:])
    spec = numeric_spec(preprocessing)
    with p.open("wb") as fh:
        _write_header(fh, np.dtype(np.uint8), (n, *sample))
        for start in range(0, n, WRITE_ROWS):
            rows = np.asarray(x[start:start + WRITE_ROWS], dtype=np.float32)
            pixels = _to_uint8(rows, spec)
            if pixels is None:
                break
            fh.write(np.ascontiguousarray(pixels).tobytes())
        else:
            return {"dtype": UINT8, "preprocessing": spec}
    with p.open("wb") as fh:  # not 8-bit pixels: float32 as evaluated
        _write_header(fh, np.dtype("<f4"), (n, *sample))
        for start in range(0, n, WRITE_ROWS):
            rows = np.asarray(x[start:start + WRITE_ROWS], dtype="<f4")
            fh.write(np.ascontiguousarray(rows).tobytes())
    return {"dtype": FLOAT32}


class BundleInputs(LazyArray):
    """The inputs of a bundled model, read from their ``.npy`` only when indexed and decoded
    to float32 (see the module docstring). Picklable: it holds the path, not an open file."""

    def __init__(self, path: Path, offset: int, stored: np.dtype, shape: tuple[int, ...],
                 encoding: Mapping[str, Any]) -> None:
        super().__init__(np.arange(shape[0]), shape[1:], np.float32)
        self.path = path
        self.offset = offset
        self.stored = stored
        self.encoding = dict(encoding)
        self._row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * stored.itemsize

    def _read(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), *self.sample_shape), dtype=self.stored)
        flat = out.reshape(len(rows), -1).view(np.uint8)
        with self.path.open("rb") as fh:
            i = 0
            while i < len(rows):  # one read per run of consecutive rows
                j = i + 1
                while j < len(rows) and rows[j] == rows[j - 1] + 1:
                    j += 1
                fh.seek(self.offset + int(rows[i]) * self._row_bytes)
                want = (j - i) * self._row_bytes
                got = fh.readinto(flat[i:j].data.cast("B"))
                if got != want:
                    raise BundleError(f"{self.path}: ended early (read {got} of {want} bytes "
                                      "of rows); copy the bundle again.")
                i = j
        if self.encoding["dtype"] == UINT8:
            return apply_preprocessing(out, self.encoding["preprocessing"]).reshape(
                len(rows), *self.sample_shape)
        return out.astype(np.float32, copy=False)

    @property
    def stored_bytes(self) -> int:
        return len(self) * self._row_bytes


def open_inputs(path: Path, rel: str, entry: Mapping[str, Any]) -> BundleInputs:
    """The inputs ``.npy`` at ``path`` (``rel`` names it in errors) under the encoding of the
    manifest ``entry``; reads only the header. Raises :class:`BundleError` for a file that is
    not a plain numeric C-order ``.npy`` of the encoding's dtype."""
    encoding = encoding_of(entry)
    try:
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = fh.tell()
        size = path.stat().st_size
    except (ValueError, OSError, EOFError) as exc:
        raise BundleError(f"{rel}: not a readable .npy array ({exc})") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise BundleError(f"{rel}: expected a numeric array")
    if fortran:
        raise BundleError(f"{rel}: a Fortran-order array; re-create the bundle")
    want = np.dtype(np.uint8) if encoding["dtype"] == UINT8 else None
    if want is not None and dtype != want:
        raise BundleError(f"{rel}: inputs_encoding says {encoding['dtype']} but the file "
                          f"holds {dtype}")
    if len(shape) < 1:
        raise BundleError(f"{rel}: expected an array of samples. Received shape {shape}")
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size != expected:
        raise BundleError(f"{rel}: not a readable .npy array (file size {size} bytes, "
                          f"header says {expected})")
    return BundleInputs(path, offset, dtype, tuple(int(d) for d in shape), encoding)


__all__ = ["ENCODINGS", "FLOAT32", "UINT8", "BundleInputs", "encoding_of", "numeric_spec",
           "open_inputs", "write_inputs"]
