"""Streaming evaluation data: batches decoded or read on demand, never the whole set in memory.

:func:`open_stream` takes the same specs as :func:`~tflbench.data.sources.load_dataset` plus a
``subset`` (``"train"``, ``"val"``, ``"test"`` or ``"all"``) and returns a :class:`Stream`::

    with open_stream("folder:/data/val_images?size=224&preprocess=mobilenet_v2",
                     subset="all") as stream:
        for x, y in stream.batches(256):   # float32 NHWC, int64
            ...

* ``folder:`` lists and splits file names only, then decodes one batch at a time.
* ``npz:`` reads rows straight from the file: members stored uncompressed (``np.savez``) are
  read in place; compressed members (``np.savez_compressed``) are first inflated once into a
  temporary file, chunk by chunk, and read from there (``access="mmap"`` maps the file
  instead of reading it; mapped pages count towards the process's resident memory).
* ``digits``, ``tfds:`` and ``keras:`` load the whole dataset first (those sets are small or
  come as one array) and stream from memory.

A stream of ``subset="train"|"val"|"test"`` yields exactly the samples, in the same order, as
the matching split of ``load_dataset(spec)`` with the same seed and fractions.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.data import npz
from tflbench.data import preprocess as pp
from tflbench.data.arrays import (
    check_images,
    check_labels,
    object_array_error,
    resolve_class_names,
)
from tflbench.data.base import VAL_FROM_TRAIN, Split, resolve_fractions, stratified_split
from tflbench.data.npzio import Rows, open_member
from tflbench.errors import ConfigError, DataError

SUBSETS = ("train", "val", "test", "all")
DEFAULT_BATCH = 256


class Stream(ABC):
    """Batches of preprocessed inputs and labels for one subset of a source."""

    name: str
    source: str
    subset: str
    class_names: tuple[str, ...]
    preprocessing: dict[str, Any]

    @abstractmethod
    def __len__(self) -> int:
        """Samples the stream will try to yield (folders may skip unreadable files)."""

    @abstractmethod
    def _batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...

    @property
    def skipped(self) -> tuple[Any, ...]:
        """Files left out so far (folders only), as :class:`tflbench.data.folder.Skipped`."""
        return ()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def batches(self, batch_size: int = DEFAULT_BATCH) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(x, y)``: float32 NHWC inputs as the model expects, int64 labels."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(
                f"batch_size must be a positive integer. Received: batch_size={batch_size!r}."
            )
        yield from self._batches(batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self.batches()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "subset": self.subset,
                "class_names": list(self.class_names), "n": len(self),
                "preprocessing": self.preprocessing}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release temporary files and open handles."""

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- in memory


class SplitStream(Stream):
    """A stream over an already preprocessed :class:`Split` (no further preprocessing)."""

    def __init__(self, split: Split, *, name: str, class_names: Sequence[str],
                 preprocessing: Mapping[str, Any], source: str = "", subset: str = "test"
                 ) -> None:
        self.split = split
        self.name, self.source, self.subset = name, source, subset
        self.class_names = tuple(class_names)
        self.preprocessing = dict(preprocessing)

    def __len__(self) -> int:
        return len(self.split)

    def _batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for x, y in self.split.batches(batch_size):
            yield np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)


# --------------------------------------------------------------------------- folders


class FolderStream(Stream):
    """Decode image files lazily, batch by batch (see :mod:`tflbench.data.folder`)."""

    def __init__(self, files: Sequence[Path], labels: np.ndarray, *, name: str, source: str,
                 subset: str, class_names: Sequence[str], spec: Mapping[str, Any],
                 root: Path | None = None) -> None:
        from tflbench.data.folder import BatchDecoder

        self.files = list(files)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.name, self.source, self.subset = name, source, subset
        self.class_names = tuple(class_names)
        self.preprocessing = dict(spec)
        self._decoder = BatchDecoder(spec, root)

    def __len__(self) -> int:
        return len(self.files)

    @property
    def skipped(self) -> tuple[Any, ...]:
        return tuple(self._decoder.skipped)

    def _batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self._decoder.skipped.clear()
        for start in range(0, len(self.files), batch_size):
            x, y = self._decoder.decode(self.files[start : start + batch_size],
                                        self.labels[start : start + batch_size])
            if len(y):
                yield x, y
        if self._decoder.size is not None:
            self.preprocessing["resize"] = list(self._decoder.size)


def stream_folder(
    path: str | os.PathLike[str],
    *,
    subset: str = "test",
    seed: int = 1234,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    input_size: Any = None,
    color: str | None = None,
) -> FolderStream:
    """Stream an image folder; ``subset="all"`` takes every file in folder order."""
    from tflbench.data import folder

    _check_subset(subset)
    found, spec, parts = folder.plan(path, seed=seed, fractions=fractions,
                                     preprocessing=preprocessing, input_size=input_size,
                                     color=color)
    idx = np.arange(len(found.files)) if subset == "all" else parts[SUBSETS.index(subset)]
    return FolderStream(
        [found.files[i] for i in idx], found.labels[idx], name=found.root.resolve().name,
        source=f"folder:{found.root.resolve()}", subset=subset,
        class_names=found.class_names, spec={**spec, "layout": "NHWC", "dtype": "float32",
                                             "raw_dtype": "uint8"},
        root=found.root,
    )


# --------------------------------------------------------------------------- npz


class NpzStream(Stream):
    """Rows of an ``.npz`` read on demand and preprocessed per batch."""

    def __init__(self, rows: Rows, labels: np.ndarray, index: np.ndarray, *, name: str,
                 source: str, subset: str, class_names: Sequence[str], spec: Mapping[str, Any],
                 tmp: tempfile.TemporaryDirectory[str] | None) -> None:
        self._rows, self.labels, self.index = rows, labels, index
        self.name, self.source, self.subset = name, source, subset
        self.class_names = tuple(class_names)
        self.preprocessing = dict(spec)
        self._tmp = tmp

    def __len__(self) -> int:
        return len(self.index)

    def _batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        floating = np.issubdtype(self._rows.dtype, np.floating)
        for start in range(0, len(self.index), batch_size):
            sel = self.index[start : start + batch_size]
            raw = self._rows.take(sel)
            if floating and not np.isfinite(raw).all():
                raise DataError(f"{self.source} contains NaN or infinite pixels. Clean the data.")
            yield pp.apply_preprocessing(raw, self.preprocessing), self.labels[sel]

    def close(self) -> None:
        self._rows.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def stream_npz(
    path: str | os.PathLike[str],
    *,
    subset: str = "test",
    seed: int = 1234,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    input_size: Any = None,
    access: str = "read",
) -> NpzStream:
    """Stream one subset of an ``.npz`` (layout as in :mod:`tflbench.data.npz`)."""
    _check_subset(subset)
    if access not in ("read", "mmap"):
        raise ConfigError(f"access must be 'read' or 'mmap'. Received: {access!r}.")
    p = Path(path).expanduser()
    what = f"'{p}'"
    if not p.is_file():
        raise DataError(f"NumPy file not found. Received: '{p}'. Give an existing .npz file.")
    if not zipfile.is_zipfile(p):
        raise DataError(f"{what} is not an .npz archive. Write it with np.savez(path, x=x, y=y).")
    with np.load(p, allow_pickle=False) as f:
        keys = set(f.files)

        def small(key: str) -> np.ndarray:
            try:
                return np.asarray(f[key])
            except ValueError:
                raise object_array_error(f"Array '{key}' in {what}") from None

        names_arr = small("class_names") if "class_names" in keys else None
        own_splits = npz.has_own_splits(keys, what, fractions)
        if own_splits:
            if subset == "all":
                raise ConfigError(
                    f"{what} holds separate splits; stream one of them: subset='train', "
                    "'val' or 'test'."
                )
            raw_labels = {s: small(f"y_{s}") for s in ("train", "val", "test")
                          if f"y_{s}" in keys and f"x_{s}" in keys}
        else:
            raw_labels = {"all": small("y")}
    # Without its own validation split, validation is a stratified part of the training split.
    val_from_train = own_splits and subset in ("train", "val") and "val" not in raw_labels
    x_key = "x_train" if val_from_train else f"x_{subset}" if own_splits else "x"
    tmp = tempfile.TemporaryDirectory(prefix="tflbench-npz-")
    try:
        rows = open_member(p, x_key, Path(tmp.name), access)
        dummy = np.empty((0, *rows.shape[1:]), dtype=rows.dtype)
        check_images(dummy, x_key, what, check_finite=False)
        if not own_splits:
            labels = {"all": check_labels(raw_labels["all"], rows.shape[0], "y", what)}
            y = labels["all"]
            index = (np.arange(len(y)) if subset == "all"
                     else stratified_split(y, resolve_fractions(fractions), seed)[
                         SUBSETS.index(subset)])
        else:
            labels = {s: check_labels(v, len(v), f"y_{s}", what)
                      for s, v in raw_labels.items()}
            y = labels["train" if val_from_train else subset]
            if len(y) != rows.shape[0]:
                raise DataError(
                    f"{what}: {x_key} has {rows.shape[0]} rows but its labels "
                    f"{len(y)}. Give one label per image."
                )
            index = (stratified_split(y, (1.0 - VAL_FROM_TRAIN, VAL_FROM_TRAIN), seed)[
                ("train", "val").index(subset)] if val_from_train else np.arange(len(y)))
        names = resolve_class_names(names_arr, np.concatenate(list(labels.values())), what)
        default = "unit" if rows.dtype == np.uint8 else "raw"
        spec = pp.with_defaults(preprocessing, input_size=input_size, default_named=default)
        spec.update({"layout": "NHWC", "dtype": "float32", "raw_dtype": str(rows.dtype)})
    except BaseException:
        tmp.cleanup()
        raise
    return NpzStream(rows, y, index, name=p.stem, source=f"npz:{p.resolve()}", subset=subset,
                     class_names=names, spec=spec, tmp=tmp)


# --------------------------------------------------------------------------- any spec


def open_stream(
    spec: str | Mapping[str, Any] = "digits",
    *,
    subset: str = "test",
    seed: int | None = None,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    input_size: Any = None,
    access: str = "read",
) -> Stream:
    """Open any data spec (grammar in :mod:`tflbench.data.sources`) as a :class:`Stream`."""
    from tflbench.data import sources

    _check_subset(subset)
    req = sources.resolve_request(spec, seed=seed, fractions=fractions,
                                  preprocessing=preprocessing, data_dir=data_dir,
                                  input_size=input_size)
    ds = req.spec
    if ds.kind == "folder":
        return stream_folder(ds.target, subset=subset, seed=req.seed, fractions=req.fractions,
                             preprocessing=req.preprocessing, input_size=req.size)
    if ds.kind == "npz":
        return stream_npz(ds.target, subset=subset, seed=req.seed, fractions=req.fractions,
                          preprocessing=req.preprocessing, input_size=req.size, access=access)
    dataset = sources.load_dataset(spec, seed=seed, fractions=fractions,
                                   preprocessing=preprocessing, data_dir=data_dir,
                                   input_size=input_size)
    if subset == "all":
        parts = (dataset.train, dataset.val, dataset.test)
        split = Split(np.concatenate([s.x for s in parts]), np.concatenate([s.y for s in parts]))
    else:
        split = {"train": dataset.train, "val": dataset.val, "test": dataset.test}[subset]
    return SplitStream(split, name=dataset.name, class_names=dataset.class_names,
                       preprocessing=dataset.preprocessing, source=dataset.source,
                       subset=subset)


def _check_subset(subset: str) -> None:
    if subset not in SUBSETS:
        raise ConfigError(
            f"subset must be one of {', '.join(SUBSETS)}. Received: subset={subset!r}."
        )
