"""Pure metric functions over numpy arrays.

Every function takes arrays, validates them, and returns a frozen result whose ``to_dict()`` is the
matching object of the results document (``docs/results-schema.md``). Thresholds live in the
gates, not here: a result only carries the numbers that explain a pass or a failure.

Definitions are in ``docs/metrics-and-timing.md``. This module never imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.errors import ConfigError, DataError, ModelFileError, RuntimeBackendError

#: Probabilities are clipped to this before the KL divergence, so a class the candidate gives
#: exactly 0 (common after int8 dequantization) costs a large but finite penalty.
KL_EPSILON = 1e-7


def check_finite(arr: np.ndarray, what: str) -> None:
    """Raise :class:`RuntimeBackendError` naming ``what`` if ``arr`` holds any NaN or inf."""
    a = np.asarray(arr)
    if a.dtype.kind not in "fc":
        return
    bad = int(a.size - np.count_nonzero(np.isfinite(a)))
    if bad:
        raise RuntimeBackendError(
            f"{what} produced {bad} NaN/inf values out of {a.size}; the model or its quantization "
            "is broken — try another mode or check the input preprocessing."
        )


def _as_scores(arr: Any, name: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype.kind not in "fciub":
        raise DataError(f"{name} must be a numeric array. Received dtype {a.dtype}.")
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise DataError(
            f"{name} must be a non-empty 2-D array (n_samples, n_classes). Received shape "
            f"{a.shape}; reshape model outputs to (n_samples, n_classes)."
        )
    return a.astype(np.float64, copy=False)


# --------------------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class Agreement:
    """How closely a candidate's outputs follow the reference's on the same inputs."""

    n: int
    top1: float
    top_k: float
    k: int
    max_abs_diff: float
    mean_abs_diff: float
    sqnr_db: float
    cosine: float
    kl_divergence: float
    flipped: tuple[int, ...]

    @property
    def n_flipped(self) -> int:
        return len(self.flipped)

    def to_dict(self) -> dict[str, Any]:
        """The ``agreement`` object of a ModeRecord (non-finite floats are kept as floats)."""
        return {
            "n": self.n,
            "top1": self.top1,
            "top_k": self.top_k,
            "k": self.k,
            "max_abs_diff": self.max_abs_diff,
            "mean_abs_diff": self.mean_abs_diff,
            "sqnr_db": self.sqnr_db,
            "cosine": self.cosine,
            "kl_divergence": self.kl_divergence,
            "flipped": list(self.flipped),
        }


def sqnr_db(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio in dB: ``10 log10(sum(ref^2) / sum((ref-cand)^2))``.

    ``+inf`` when the arrays are identical; ``-inf`` when the reference is all zeros but the
    candidate is not.
    """
    ref = np.asarray(reference, dtype=np.float64)
    noise = float(np.sum((ref - np.asarray(candidate, dtype=np.float64)) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def _mean_cosine(ref: np.ndarray, cand: np.ndarray) -> float:
    ref_norm = np.linalg.norm(ref, axis=1)
    cand_norm = np.linalg.norm(cand, axis=1)
    denom = ref_norm * cand_norm
    dots = np.sum(ref * cand, axis=1)
    cos = np.divide(dots, denom, out=np.zeros_like(dots), where=denom > 0)
    cos[(ref_norm == 0) & (cand_norm == 0)] = 1.0  # two all-zero rows agree perfectly
    return float(np.mean(np.clip(cos, -1.0, 1.0)))


def _mean_kl(ref: np.ndarray, cand: np.ndarray, eps: float) -> float:
    p = np.clip(ref, eps, None)
    q = np.clip(cand, eps, None)
    p = p / p.sum(axis=1, keepdims=True)
    q = q / q.sum(axis=1, keepdims=True)
    kl = np.sum(p * (np.log(p) - np.log(q)), axis=1)
    return float(np.mean(np.maximum(kl, 0.0)))


def _rank_in_reference(ref: np.ndarray, cls: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Rank (0 = first) of class ``cls[i]`` in row ``i`` of ``ref`` ordered by descending score
    with ties broken by the lower class index, as ``argmax`` breaks them: rank 0 is exactly
    ``argmax``, so top-k with k=1 equals top-1 agreement."""
    n, num_classes = ref.shape
    ranks = np.empty(n, dtype=np.int64)
    idx = np.arange(num_classes)[None, :]
    for s in range(0, n, chunk):
        r, c = ref[s : s + chunk], cls[s : s + chunk]
        score = r[np.arange(len(r)), c][:, None]
        ahead = (r > score) | ((r == score) & (idx < c[:, None]))
        ranks[s : s + chunk] = ahead.sum(axis=1)
    return ranks


def agreement(
    reference: np.ndarray, candidate: np.ndarray, k: int = 5, *, eps: float = KL_EPSILON
) -> Agreement:
    """Compare candidate outputs with reference outputs, both ``(n_samples, n_classes)``.

    ``top_k`` is the fraction of samples whose candidate top-1 class is among the reference's
    top ``k`` classes. Ties are broken as ``argmax`` breaks them (the lower class index first),
    on both sides, so top-k with k=1 equals top-1 agreement and an exact tie counts the same in
    both figures.
    ``k`` is capped at the number of classes and the capped value is reported.
    Outputs are expected to be probabilities (softmax); the KL divergence clips them to ``eps``
    and renormalizes each row.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"top_k must be a positive integer. Received: k={k!r}.")
    ref = _as_scores(reference, "reference outputs")
    cand = _as_scores(candidate, "candidate outputs")
    if ref.shape != cand.shape:
        raise DataError(
            f"reference and candidate outputs must have the same shape. Received "
            f"reference {ref.shape} and candidate {cand.shape}; evaluate both on the same inputs."
        )
    check_finite(ref, "the reference model")
    check_finite(cand, "the candidate model")

    n, num_classes = ref.shape
    k_eff = min(int(k), num_classes)
    ref_top = np.argmax(ref, axis=1)
    cand_top = np.argmax(cand, axis=1)
    same = ref_top == cand_top
    in_top_k = _rank_in_reference(ref, cand_top) < k_eff
    diff = np.abs(ref - cand)
    return Agreement(
        n=int(n),
        top1=float(np.mean(same)),
        top_k=float(np.mean(in_top_k)),
        k=k_eff,
        max_abs_diff=float(diff.max()),
        mean_abs_diff=float(diff.mean()),
        sqnr_db=sqnr_db(ref, cand),
        cosine=_mean_cosine(ref, cand),
        kl_divergence=_mean_kl(ref, cand, eps),
        flipped=tuple(int(i) for i in np.flatnonzero(~same)),
    )


# ---------------------------------------------------------------------------------- classification


@dataclass(frozen=True)
class Classification:
    """Accuracy of predictions against true labels."""

    accuracy: float
    per_class_accuracy: tuple[float, ...]
    support: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]

    @property
    def n(self) -> int:
        return sum(self.support)

    @property
    def num_classes(self) -> int:
        return len(self.support)

    def to_dict(self) -> dict[str, Any]:
        """The ``keras`` object of a ModelRecord (per-class NaN kept; results.py writes null)."""
        return {
            "accuracy": self.accuracy,
            "per_class_accuracy": list(self.per_class_accuracy),
            "support": list(self.support),
            "confusion": [list(row) for row in self.confusion],
        }


def _as_labels(arr: Any, name: str, num_classes: int) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise DataError(f"{name} must hold integer class indices. Received non-integer floats.")
    elif a.dtype.kind not in "iub":
        raise DataError(f"{name} must hold integer class indices. Received dtype {a.dtype}.")
    labels = a.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(
            f"{name} must be class indices in [0, {num_classes - 1}]. Received values from "
            f"{labels.min()} to {labels.max()}; check num_classes and the label encoding."
        )
    return labels


def classification(
    y_true: np.ndarray, probs_or_pred: np.ndarray, num_classes: int
) -> Classification:
    """Accuracy, per-class accuracy, support and confusion matrix (rows = true class).

    ``probs_or_pred`` is either scores ``(n, num_classes)`` (argmax is taken) or predicted class
    indices ``(n,)``. Per-class accuracy is NaN for a class with no test samples.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or (
        num_classes < 1
    ):
        raise ConfigError(f"num_classes must be a positive integer. Received: {num_classes!r}.")
    yt = np.asarray(y_true)
    if yt.ndim != 1 or yt.size == 0:
        raise DataError(
            f"y_true must be a non-empty 1-D array of class indices. Received shape {yt.shape}; "
            "convert one-hot labels with argmax(axis=1)."
        )
    labels = _as_labels(yt, "y_true", num_classes)
    p = np.asarray(probs_or_pred)
    if p.ndim == 2:
        if p.shape[1] != num_classes:
            raise DataError(
                f"predictions have {p.shape[1]} classes but num_classes={num_classes}. Received "
                f"shape {p.shape}; the model's output must match the dataset's class list."
            )
        check_finite(p, "the model")
        pred = np.argmax(p, axis=1).astype(np.int64)
    elif p.ndim == 1:
        pred = _as_labels(p, "predicted labels", num_classes)
    else:
        raise DataError(
            f"predictions must be scores (n, {num_classes}) or labels (n,). Received shape "
            f"{p.shape}."
        )
    if pred.shape[0] != labels.shape[0]:
        raise DataError(
            f"y_true and predictions must have the same number of samples. Received "
            f"y_true {yt.shape} and predictions {p.shape}."
        )
    conf = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(conf, (labels, pred), 1)
    support = conf.sum(axis=1)
    correct = np.diag(conf)
    per_class = np.divide(
        correct, support, out=np.full(num_classes, np.nan), where=support > 0
    )
    return Classification(
        accuracy=float(correct.sum() / labels.size),
        per_class_accuracy=tuple(float(v) for v in per_class),
        support=tuple(int(v) for v in support),
        confusion=tuple(tuple(int(v) for v in row) for row in conf),
    )


@dataclass(frozen=True)
class ClassDelta:
    """Candidate minus reference accuracy, overall and per class, with the worst class."""

    accuracy_delta: float
    per_class_delta: tuple[float, ...]
    worst_index: int
    worst_name: str
    worst_delta: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy_delta": self.accuracy_delta,
            "per_class_delta": list(self.per_class_delta),
            "worst_class": {
                "index": self.worst_index,
                "name": self.worst_name,
                "delta": self.worst_delta,
            },
        }


def _class_names(class_names: Sequence[str] | None, num_classes: int) -> list[str]:
    if class_names is None:
        return [str(i) for i in range(num_classes)]
    names = [str(c) for c in class_names]
    if len(names) != num_classes:
        raise DataError(
            f"class_names has {len(names)} entries but the results have {num_classes} classes. "
            "Pass the dataset's class list."
        )
    return names


def class_delta(
    candidate: Classification, reference: Classification, class_names: Sequence[str] | None
) -> ClassDelta:
    """Per-class accuracy change; the worst class is the most negative delta among classes
    with support (ties go to the lowest index)."""
    if candidate.support != reference.support:
        raise DataError(
            "candidate and reference were evaluated on different labels (supports "
            f"{list(candidate.support)} vs {list(reference.support)}); evaluate both on the "
            "same test split."
        )
    names = _class_names(class_names, candidate.num_classes)
    cand = np.asarray(candidate.per_class_accuracy, dtype=np.float64)
    ref = np.asarray(reference.per_class_accuracy, dtype=np.float64)
    delta = cand - ref
    has_support = np.asarray(candidate.support) > 0
    masked = np.where(has_support, delta, np.inf)
    worst = int(np.argmin(masked))
    return ClassDelta(
        accuracy_delta=float(candidate.accuracy - reference.accuracy),
        per_class_delta=tuple(float(v) for v in delta),
        worst_index=worst,
        worst_name=names[worst],
        worst_delta=float(delta[worst]),
    )


def accuracy_record(
    candidate: Classification, reference: Classification, class_names: Sequence[str] | None
) -> dict[str, Any]:
    """The ``accuracy`` object of a ModeRecord."""
    d = class_delta(candidate, reference, class_names)
    return {
        "accuracy": candidate.accuracy,
        "accuracy_delta": d.accuracy_delta,
        "per_class_accuracy": list(candidate.per_class_accuracy),
        "per_class_delta": list(d.per_class_delta),
        "support": list(candidate.support),
        "worst_class": d.to_dict()["worst_class"],
        "confusion": [list(row) for row in candidate.confusion],
    }


# -------------------------------------------------------------------------------------------- size


def size_record(
    path_or_bytes: str | os.PathLike[str] | bytes, reference_size: int | None
) -> dict[str, Any]:
    """``{"path"?, "size_bytes", "sha256", "size_ratio"}`` for a model file or its bytes.

    ``size_ratio`` is ``size_bytes / reference_size`` (``None`` without a reference). ``path`` is
    included only when a path was given.
    """
    if reference_size is not None and reference_size <= 0:
        raise ValueError(f"reference_size must be a positive byte count. Received: "
                         f"{reference_size!r}.")
    record: dict[str, Any] = {}
    digest = hashlib.sha256()
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data = bytes(path_or_bytes)
        digest.update(data)
        size = len(data)
    else:
        path = Path(path_or_bytes)
        record["path"] = str(path)
        size = 0
        try:
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise ModelFileError(f"Cannot read model file {path}: {exc.strerror or exc}. "
                                 "Check the path.") from None
    record["size_bytes"] = size
    record["sha256"] = digest.hexdigest()
    record["size_ratio"] = None if reference_size is None else size / reference_size
    return record
