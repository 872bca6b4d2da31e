"""The dataset record every source produces and every later step consumes (no TensorFlow)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tflbench.errors import ConfigError, DataError

#: Bytes of samples read per step when a :class:`LazyArray` is walked whole (hashing, copying).
LAZY_CHUNK_BYTES = 16 << 20
#: ``lazy="auto"`` loads lazily when the preprocessed float32 inputs would exceed this.
LAZY_AUTO_BYTES = 64 << 20
LAZY_CHOICES = (False, True, "auto")


def check_lazy(lazy: Any) -> bool | str:
    """Validate a ``lazy`` argument: ``False``, ``True`` or ``"auto"``."""
    if isinstance(lazy, str) and lazy.lower() == "auto":
        return "auto"
    if isinstance(lazy, (bool, np.bool_)):
        return bool(lazy)
    raise ConfigError(f"lazy must be True, False or 'auto'. Received: lazy={lazy!r}.")


class LazyArray(ABC):
    """A read-only array whose rows are read or decoded only when indexed.

    Sources return one for ``x`` when loaded with ``lazy=True`` (see :mod:`tflbench.data.sources`).
    It has ``shape``, ``dtype``, ``ndim`` and ``len()`` like an array. Indexing the first axis
    with an integer, a slice, an integer array or a boolean mask returns a NumPy array holding
    only those rows; :meth:`subset` returns a lazy view instead, and ``np.asarray(x)`` reads
    every row. Subclasses implement :meth:`_read` over the rows of their source.
    """

    def __init__(self, rows: np.ndarray, sample_shape: Sequence[int],
                 dtype: Any = np.float32) -> None:
        self._rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        self.sample_shape = tuple(int(d) for d in sample_shape)
        self.dtype = np.dtype(dtype)

    @abstractmethod
    def _read(self, rows: np.ndarray) -> np.ndarray:
        """The samples at source rows ``rows`` (non-empty, in that order), shaped
        ``(len(rows), *sample_shape)``."""

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self._rows), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple) or key is Ellipsis:
            raise TypeError(
                f"A LazyArray is indexed on its first axis only. Received: {key!r}. Read the rows "
                "first, e.g. x[a:b], then index the NumPy array it returns."
            )
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            return self._fetch(self._rows[[int(key)]])[0]  # IndexError when out of range
        return self._fetch(self._rows[key])

    def subset(self, key: slice | np.ndarray | Sequence[int]) -> LazyArray:
        """A lazy view of some rows (nothing is read)."""
        view = copy.copy(self)
        view._rows = np.asarray(self._rows[key], dtype=np.int64).reshape(-1)
        return view

    @property
    def chunk_rows(self) -> int:
        """Rows in about :data:`LAZY_CHUNK_BYTES` of samples (1 to 4096)."""
        row_bytes = max(1, int(np.prod(self.sample_shape, dtype=np.int64)) * self.dtype.itemsize)
        return max(1, min(4096, LAZY_CHUNK_BYTES // row_bytes))

    def chunks(self, size: int | None = None) -> Iterator[np.ndarray]:
        """Every row in order, ``size`` rows (default :attr:`chunk_rows`) at a time."""
        step = size or self.chunk_rows
        for start in range(0, len(self), step):
            yield self[start : start + step]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("A LazyArray cannot be viewed without reading it (copy=False).")
        out = np.empty(self.shape, dtype=self.dtype)
        start = 0
        for chunk in self.chunks():
            out[start : start + len(chunk)] = chunk
            start += len(chunk)
        return out if dtype is None else out.astype(dtype, copy=False)

    def _fetch(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.empty((0, *self.sample_shape), dtype=self.dtype)
        out = self._read(rows)
        if out.shape != (len(rows), *self.sample_shape):
            raise DataError(
                f"{self!r} read {out.shape[0]} samples of shape {tuple(out.shape[1:])} where "
                f"{len(rows)} of shape {self.sample_shape} were expected: the data changed on "
                "disk since it was loaded. Load it again."
            )
        return out.astype(self.dtype, copy=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype})"


@dataclass(frozen=True)
class Split:
    """Inputs already preprocessed as the model expects (float32, NHWC) and integer labels.

    ``x`` is a NumPy array, or a :class:`LazyArray` when the source was loaded lazily; ``y`` is
    always a NumPy array.
    """

    x: np.ndarray | LazyArray
    y: np.ndarray

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise DataError(
                f"Inputs and labels differ in length. Received: {len(self.x)} inputs and "
                f"{len(self.y)} labels. Give one label per input."
            )

    def __len__(self) -> int:
        return len(self.y)

    @property
    def lazy(self) -> bool:
        return isinstance(self.x, LazyArray)

    def batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(x, y)`` batches without copying (or, when lazy, reading) the whole split."""
        for start in range(0, len(self), batch_size):
            yield self.x[start : start + batch_size], self.y[start : start + batch_size]

    def head(self, n: int) -> Split:
        """The first ``n`` samples (a lazy view when ``x`` is lazy)."""
        x = self.x.subset(slice(0, n)) if isinstance(self.x, LazyArray) else self.x[:n]
        return Split(x, self.y[:n])

    def take(self, idx: np.ndarray) -> Split:
        """The samples at ``idx`` (a lazy view when ``x`` is lazy)."""
        x = self.x.subset(idx) if isinstance(self.x, LazyArray) else self.x[idx]
        return Split(x, self.y[idx])

    def in_memory(self) -> Split:
        """This split with ``x`` as a NumPy array (reads every row of a lazy ``x``)."""
        return Split(np.asarray(self.x), self.y) if self.lazy else self


@dataclass(frozen=True)
class Dataset:
    """A classification dataset with fixed train/validation/test splits.

    ``preprocessing`` is a JSON-able spec of what was applied to raw inputs, stored in results and
    bundles so a device applies exactly what the host did.
    """

    name: str
    class_names: tuple[str, ...]
    train: Split
    val: Split
    test: Split
    preprocessing: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    #: Remarks from loading, e.g. how many files were skipped and why. Reported, not hashed.
    notes: tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.test.x.shape[1:])

    @property
    def lazy(self) -> bool:
        """True when any split reads its inputs on demand (see :class:`LazyArray`)."""
        return any(s.lazy for s in (self.train, self.val, self.test))

    def in_memory(self) -> Dataset:
        """This dataset with every split's inputs read into NumPy arrays."""
        if not self.lazy:
            return self
        return dataclasses.replace(self, train=self.train.in_memory(),
                                   val=self.val.in_memory(), test=self.test.in_memory())

    def fingerprint(self) -> str:
        """Content hash of every split, the class names and the preprocessing spec.

        Lazy inputs are hashed chunk by chunk and give the same hash as the same data in
        memory; the hash of a lazy dataset is computed once and kept (its inputs cannot change
        through this object), an in-memory one is hashed on every call.
        """
        cached = self.__dict__.get("_fingerprint")
        if cached is not None:
            return str(cached)
        h = hashlib.sha256()
        h.update(json.dumps([self.name, list(self.class_names), self.preprocessing],
                            sort_keys=True).encode())
        for split in (self.train, self.val, self.test):
            for arr in (split.x, split.y):
                if isinstance(arr, LazyArray):
                    h.update(str((arr.dtype.str, arr.shape)).encode())
                    for chunk in arr.chunks():
                        h.update(np.ascontiguousarray(chunk).reshape(-1).view(np.uint8).data)
                    continue
                a = np.ascontiguousarray(arr)
                h.update(str((a.dtype.str, a.shape)).encode())
                h.update(a.reshape(-1).view(np.uint8).data)  # no copy; same bytes as tobytes()
        digest = h.hexdigest()
        if self.lazy:
            object.__setattr__(self, "_fingerprint", digest)
        return digest

    def describe(self) -> dict[str, Any]:
        """The JSON record of this dataset used in results files."""
        return {
            "name": self.name,
            "source": self.source,
            "class_names": list(self.class_names),
            "input_shape": list(self.input_shape),
            "n_train": len(self.train),
            "n_val": len(self.val),
            "n_test": len(self.test),
            "preprocessing": self.preprocessing,
            "fingerprint": self.fingerprint(),
            **({"notes": list(self.notes)} if self.notes else {}),
        }


def stratified_split(
    y: np.ndarray, fractions: Sequence[float], seed: int
) -> list[np.ndarray]:
    """Seeded stratified split of indices into ``len(fractions)`` parts.

    Each class is shuffled with ``seed`` and cut by the cumulative fractions, so every part keeps
    the class proportions. Fractions must be positive and sum to 1 (within 1e-6).
    """
    fr = [float(f) for f in fractions]
    if not fr or any(f < 0 for f in fr) or not any(f > 0 for f in fr) or \
            abs(sum(fr) - 1.0) > 1e-6:
        raise DataError(
            f"Split fractions must be positive and sum to 1. Received: {list(fractions)}."
        )
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in fr]
    cuts = np.cumsum(fr)[:-1]
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        bounds = np.round(cuts * len(idx)).astype(int)
        for i, chunk in enumerate(np.split(idx, bounds)):
            parts[i].append(chunk)
    out = []
    for p in parts:
        merged = np.concatenate(p) if p else np.empty(0, dtype=int)
        rng.shuffle(merged)
        out.append(merged)
    return out


def stratified_subset(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded, stratified subset of ``n`` of the labels ``y``.

    Each class gets a share of ``n`` proportional to its frequency (largest remainders first,
    at least one sample per class when ``n`` allows), the samples of a class are drawn with
    ``seed``, and the indices come back in increasing order so that reading them stays
    sequential. The same ``y``, ``n`` and ``seed`` always give the same subset; with
    ``n >= len(y)`` every index is returned.
    """
    labels = np.asarray(y).reshape(-1)
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DataError(f"Subset size must be a positive integer. Received: n={n!r}.")
    total = len(labels)
    if n >= total:
        return np.arange(total, dtype=np.int64)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = counts * (n / total)
    take = np.minimum(np.floor(quota).astype(np.int64), counts)
    if n >= len(classes):
        take = np.maximum(take, 1)
    # Hand out (or take back) the rest one sample at a time, by remainder, in class order on ties.
    while (rest := n - int(take.sum())) != 0:
        if rest > 0:
            order = np.argsort(-(quota - take), kind="stable")
            order = order[take[order] < counts[order]]
        else:
            order = np.argsort(-(take - quota), kind="stable")
            order = order[take[order] > 1]
        for c in order[: abs(rest)]:
            take[c] += 1 if rest > 0 else -1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(inverse == c), size=int(k), replace=False)
              for c, k in enumerate(take) if k > 0]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


#: Train/validation/test fractions used when a source has no splits of its own.
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
#: Share of the training part held out for validation when only train/test are given.
VAL_FROM_TRAIN = 0.1
#: ``fractions=all``: every row is evaluated (no train or validation part). The default for a
#: model that is already trained (``--model``) on data without its own splits.
EVAL_ALL = "all"
EVAL_ALL_FRACTIONS: tuple[float, float, float] = (0.0, 0.0, 1.0)


def resolve_fractions(
    fractions: Sequence[float] | str | None,
    default: Sequence[float] = DEFAULT_FRACTIONS,
) -> tuple[float, float, float]:
    """Turn a user's split fractions into ``(train, val, test)``.

    Accepts three numbers (train, val, test), two numbers (train, test: the validation part is
    :data:`VAL_FROM_TRAIN` of the training part, so ``0.9/0.1`` gives ``0.81/0.09/0.1``), a string
    such as ``"0.8/0.1/0.1"`` or ``"0.9,0.1"``, or ``None`` for ``default``.
    """
    raw: Any = default if fractions is None else fractions
    if isinstance(raw, str) and raw.strip().lower() == EVAL_ALL:
        return EVAL_ALL_FRACTIONS
    if isinstance(raw, str):
        parts = [p for p in raw.replace(",", "/").split("/") if p.strip()]
        try:
            raw = [float(p) for p in parts]
        except ValueError:
            raise DataError(
                f"Split fractions must be numbers such as '0.8/0.1/0.1'. Received: {fractions!r}."
            ) from None
    try:
        fr = [float(f) for f in raw]
    except (TypeError, ValueError, OverflowError):
        raise DataError(
            f"Split fractions must be a list of numbers. Received: {fractions!r}."
        ) from None
    if len(fr) not in (2, 3) or any(not f > 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise DataError(
            "Split fractions must be 3 positive numbers (train, val, test) or 2 (train, test) "
            f"that sum to 1, e.g. 0.8/0.1/0.1 or 0.9/0.1. Received: {fractions!r}."
        )
    if len(fr) == 2:
        return (fr[0] * (1.0 - VAL_FROM_TRAIN), fr[0] * VAL_FROM_TRAIN, fr[1])
    return (fr[0], fr[1], fr[2])


def check_splits_not_empty(sizes: Sequence[int], what: str, fractions: Sequence[float]) -> None:
    """Raise a :class:`DataError` naming ``what`` when a train/val/test part came out empty."""
    names = ("train", "validation", "test")
    empty = [names[i] for i, n in enumerate(sizes)
             if n == 0 and not (i < len(fractions) and fractions[i] == 0)]
    if empty:
        raise DataError(
            f"{what}: too few samples ({sum(sizes)}) to fill every split; the "
            f"{' and '.join(empty)} part(s) came out empty with fractions "
            f"{[round(f, 4) for f in fractions]}. Add samples or change the fractions."
        )
