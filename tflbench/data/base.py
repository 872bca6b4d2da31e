"""The dataset record every source produces and every later step consumes (no TensorFlow)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tflbench.errors import DataError


@dataclass(frozen=True)
class Split:
    """Inputs already preprocessed as the model expects (float32, NHWC) and integer labels."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise DataError(
                f"Inputs and labels differ in length. Received: {len(self.x)} inputs and "
                f"{len(self.y)} labels. Give one label per input."
            )

    def __len__(self) -> int:
        return len(self.y)

    def batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(x, y)`` batches without copying the whole split."""
        for start in range(0, len(self), batch_size):
            yield self.x[start : start + batch_size], self.y[start : start + batch_size]


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

    def fingerprint(self) -> str:
        """Content hash of every split, the class names and the preprocessing spec."""
        h = hashlib.sha256()
        h.update(json.dumps([self.name, list(self.class_names), self.preprocessing],
                            sort_keys=True).encode())
        for split in (self.train, self.val, self.test):
            for arr in (split.x, split.y):
                a = np.ascontiguousarray(arr)
                h.update(str((a.dtype.str, a.shape)).encode())
                h.update(a.reshape(-1).view(np.uint8).data)  # no copy; same bytes as tobytes()
        return h.hexdigest()

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
    if not fr or any(f <= 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
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


#: Train/validation/test fractions used when a source has no splits of its own.
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
#: Share of the training part held out for validation when only train/test are given.
VAL_FROM_TRAIN = 0.1


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
    except (TypeError, ValueError):
        raise DataError(
            f"Split fractions must be a list of numbers. Received: {fractions!r}."
        ) from None
    if len(fr) not in (2, 3) or any(f <= 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
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
    empty = [names[i] for i, n in enumerate(sizes) if n == 0]
    if empty:
        raise DataError(
            f"{what}: too few samples ({sum(sizes)}) to fill every split; the "
            f"{' and '.join(empty)} part(s) came out empty with fractions "
            f"{[round(f, 4) for f in fractions]}. Add samples or change the fractions."
        )
