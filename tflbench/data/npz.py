"""NumPy ``.npz`` files as a :class:`Dataset`, built by :func:`tflbench.data.arrays.from_arrays`.

An ``.npz`` holds either

* ``x`` (images, ``(N, H, W)`` or ``(N, H, W, C)``) and ``y`` (integer labels ``(N,)``), split
  with a seeded stratified split by ``fractions`` (default 0.8/0.1/0.1), or
* its own splits: ``x_train``/``y_train`` and ``x_test``/``y_test``, optionally
  ``x_val``/``y_val`` (when absent, 10% of the training part, stratified, becomes validation),

plus an optional ``class_names`` (1-D string array). Files are read with
``allow_pickle=False``: object arrays are refused. uint8 images default to ``x / 255``; float
images default to no change (``named: raw``); any preprocessing spec may be given instead.
Write one with e.g. ``np.savez(path, x=x.astype(np.uint8), y=y, class_names=np.array(names))``.

With ``lazy=True`` the image arrays are not read: each split's ``x`` is a
:class:`~tflbench.data.base.LazyArray` that reads and preprocesses only the rows asked for
(members written by ``np.savez`` are read in place; compressed members are first inflated once
into a temporary file, removed when the arrays are garbage-collected). Labels and class names
are read as usual. NaN or infinite float pixels are then reported when the rows are read, not
at load time. ``lazy="auto"`` is lazy when the preprocessed float32 images would exceed
:data:`~tflbench.data.base.LAZY_AUTO_BYTES`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
import zipfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.data import preprocess as pp
from tflbench.data.arrays import from_arrays, object_array_error
from tflbench.data.base import (
    LAZY_AUTO_BYTES,
    Dataset,
    LazyArray,
    check_lazy,
)
from tflbench.data.npzio import open_member, read_member_header
from tflbench.errors import ConfigError, DataError

SEED = 1234
SPLIT_NAMES = ("train", "val", "test")
#: The members holding images (read lazily when asked).
IMAGE_KEYS = ("x", "x_train", "x_val", "x_test")


def load(
    path: str | os.PathLike[str],
    *,
    seed: int = SEED,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    input_size: Any = None,
    name: str | None = None,
    lazy: bool | str = False,
) -> Dataset:
    """Load an ``.npz`` file (see the module docstring)."""
    p = Path(path).expanduser()
    choice = check_lazy(lazy)
    on_demand = (_estimated_bytes(p, input_size) > LAZY_AUTO_BYTES if choice == "auto"
                 else bool(choice))
    arrays: dict[str, np.ndarray | LazyArray] = {}
    arrays.update(read_npz(p, skip=IMAGE_KEYS if on_demand else ()))
    if on_demand:
        arrays.update(_lazy_members(p, [k for k in IMAGE_KEYS if k in _members(p)]))
    keys = set(arrays)
    what = f"'{p}'"
    class_names = arrays.pop("class_names", None)
    parts: dict[str, tuple[Any, Any]]
    if has_own_splits(keys, what, fractions):
        parts = {s: (arrays[f"x_{s}"], arrays[f"y_{s}"]) for s in SPLIT_NAMES
                 if f"x_{s}" in arrays and f"y_{s}" in arrays}
        if ("x_val" in keys) != ("y_val" in keys):
            raise DataError(f"{what} has only one of x_val and y_val. Save both or neither.")
    else:
        parts = {"all": (arrays["x"], arrays["y"])}
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


def read_npz(path: Path, skip: Collection[str] = ()) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` (but those named in ``skip``) with
    ``allow_pickle=False`` and clear errors."""
    if not path.is_file():
        raise DataError(f"NumPy file not found. Received: '{path}'. Give an existing .npz file.")
    check_npz_magic(path)
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
            if key in skip:
                continue
            try:
                out[key] = loaded[key]
            except ValueError:
                raise object_array_error(f"Array '{key}' in '{path}'") from None
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                raise unreadable_member_error(key, path, exc) from None
    return out


#: How the files np.load can read begin: a zip archive (.npz), an .npy array, a pickle.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
NPY_MAGIC = b"\x93NUMPY"
PICKLE_MAGIC = b"\x80"


def check_npz_magic(path: Path) -> None:
    """Refuse a file that is neither a zip archive, an ``.npy`` array nor a pickle (those three
    get their own messages from the loader), saying what it looks like instead."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise DataError(f"'{path}' cannot be read ({exc.strerror or exc}). Check the path and "
                        "its permissions.") from None
    if head.startswith((*ZIP_MAGIC, NPY_MAGIC, PICKLE_MAGIC)):
        return
    text = head.decode("utf-8", "replace").rstrip("\ufffd")
    if not head:
        looks = "the file is empty"
    elif text.strip() and all(c.isprintable() or c.isspace() for c in text):
        looks = f"it looks like text, starting {text.strip().splitlines()[0][:32]!r}"
    else:
        looks = f"it starts with the bytes {head[:8]!r}"
    raise DataError(f"'{path}' is not an .npz archive ({looks}). Save the images and labels "
                    "with numpy.savez(path, x=x, y=y) or numpy.savez_compressed.")


def has_own_splits(keys: Collection[str], what: str,
                   fractions: Sequence[float] | str | None) -> bool:
    """Which layout an archive with members ``keys`` has: ``True`` for its own splits
    (``x_train``...), ``False`` for ``x`` and ``y``; :class:`DataError` for neither."""
    if {"x", "y"} <= set(keys):
        return False
    if {"x_train", "y_train", "x_test", "y_test"} <= set(keys):
        if fractions is not None and not (isinstance(fractions, str)
                                          and fractions.strip().lower() == "all"):
            raise ConfigError(
                f"{what} already holds train/test splits, so split fractions do not apply. "
                f"Received: fractions={fractions!r}. Drop the fractions, or save x and y only."
            )
        return True
    raise DataError(
        f"{what} lacks the arrays it needs. Received keys: {sorted(keys) or 'none'}. "
        "Expected 'x' and 'y' (optionally 'class_names'), or 'x_train', 'y_train', "
        "'x_test', 'y_test' (optionally 'x_val', 'y_val')."
    )


def unreadable_member_error(key: str, path: Path, exc: BaseException) -> DataError:
    return DataError(
        f"Array '{key}' in '{path}' cannot be read ({exc}). The file may be truncated; write it "
        "again."
    )


def _members(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return {n[:-4] for n in zf.namelist() if n.endswith(".npy")}


def _estimated_bytes(path: Path, input_size: Any) -> int:
    """Float32 bytes of the images after resizing, from the array headers only (0 when the
    file cannot be inspected: loading it then reports the problem)."""
    try:
        size = pp.image_size(input_size) if input_size is not None else None
        total = 0
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            for key in IMAGE_KEYS:
                if f"{key}.npy" not in names:
                    continue
                with zf.open(f"{key}.npy") as src:
                    shape, _, _ = read_member_header(src, key)
                if len(shape) in (3, 4):
                    h, w = size or shape[1:3]
                    total += shape[0] * h * w * (shape[3] if len(shape) == 4 else 1) * 4
        return total
    except (OSError, zipfile.BadZipFile, EOFError, ValueError, DataError, ConfigError):
        return 0


class NpzMember(LazyArray):
    """The raw rows of one image member of an ``.npz``, read on demand (``(N, H, W)`` members
    get a channel axis, as :func:`check_images` gives them)."""

    def __init__(self, reader: Any, keep: object) -> None:
        self.raw_shape = tuple(reader.shape)
        sample = self.raw_shape[1:] + ((1,) if len(self.raw_shape) == 3 else ())
        super().__init__(np.arange(self.raw_shape[0]), sample, reader.dtype)
        self._reader = reader
        self._keep = keep  # the temporary folder of an inflated member lives as long as this

    def _read(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self._reader.take(rows)).reshape(len(rows), *self.sample_shape)


class _TempFolder:
    """A temporary folder removed when the last array using it is garbage-collected."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="tflbench-npz-"))
        weakref.finalize(self, shutil.rmtree, self.path, True)


def _lazy_members(path: Path, keys: Sequence[str]) -> dict[str, LazyArray]:
    tmp = _TempFolder()
    out: dict[str, LazyArray] = {}
    for key in keys:
        try:
            out[key] = NpzMember(open_member(path, key, tmp.path, "read"), tmp)
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            raise unreadable_member_error(key, path, exc) from None
    return out
