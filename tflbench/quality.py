"""Quality figures of a candidate against the Keras reference on the same rows, as typed
records with their uncertainty: the ``agreement`` and ``accuracy`` objects of a mode record and
the ``keras`` object of a model record.

Built from the pure functions in :mod:`tflbench.metrics` (the point figures) and
:mod:`tflbench.stats` (intervals and tests). Definitions and formulas are in
docs/metrics-and-timing.md. No TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tflbench import metrics, stats
from tflbench.records import (
    AccuracyRecord,
    AgreementRecord,
    ClassChange,
    KerasRecord,
    WorstClass,
)

#: Rows are a probability distribution when every value is >= -PROB_TOL and every row sums to
#: 1 within PROB_TOL (float16/int8 outputs are dequantized, so exact sums are not expected).
PROB_TOL = 2e-2
PROBABILITIES = "probabilities"
LOGITS = "logits"
#: Confidence level of every interval in the results.
CONFIDENCE = 0.95


def output_kind(outputs: np.ndarray) -> str:
    """``"probabilities"`` when every row of ``outputs`` is non-negative and sums to 1 (within
    :data:`PROB_TOL`), else ``"logits"``."""
    a = np.asarray(outputs, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        return LOGITS
    if a.min() < -PROB_TOL:
        return LOGITS
    return PROBABILITIES if bool(np.all(np.abs(a.sum(axis=1) - 1.0) <= PROB_TOL)) else LOGITS


def softmax(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def _ci(interval: tuple[float, float]) -> list[float]:
    return [float(interval[0]), float(interval[1])]


def agreement_record(reference: np.ndarray, candidate: np.ndarray, k: int = 5,
                     kind: str | None = None) -> AgreementRecord:
    """Agreement of ``candidate`` with ``reference`` outputs. For logits (``kind`` detected from
    the reference when not given) the probability metrics (mean/max abs diff, KL, cosine, SQNR)
    compare softmax probabilities, so a logits model and its softmax twin get the same figures
    and gates; the SQNR of the raw logits is ``logit_sqnr_db``."""
    kind = kind or output_kind(reference)
    ref, cand = np.asarray(reference), np.asarray(candidate)
    logit_sqnr = None
    if kind == LOGITS:
        metrics.check_finite(cand, "the candidate model")
        logit_sqnr = metrics.sqnr_db(ref.astype(np.float64), cand.astype(np.float64))
        ref, cand = softmax(ref), softmax(cand)
    a = metrics.agreement(ref, cand, k=k)
    agree = a.n - a.n_flipped
    c = np.asarray(candidate, dtype=np.float64)
    ties = int(np.count_nonzero((c == c.max(axis=1, keepdims=True)).sum(axis=1) > 1))
    d = a.to_dict()
    d.update(top1_ci95=_ci(stats.wilson_interval(agree, a.n, CONFIDENCE)), output_kind=kind,
             ties=ties)
    if logit_sqnr is not None:
        d["logit_sqnr_db"] = logit_sqnr
    return AgreementRecord.from_dict(d, "agreement")


def keras_record(y: np.ndarray, outputs: np.ndarray) -> KerasRecord:
    """The ``keras`` object of a model record: the reference's accuracy with its interval."""
    cls = metrics.classification(y, outputs, int(np.asarray(outputs).shape[1]))
    correct = int(round(cls.accuracy * cls.n))
    d = cls.to_dict()
    d.update(ci95=_ci(stats.wilson_interval(correct, cls.n, CONFIDENCE)),
             output_kind=output_kind(outputs))
    return KerasRecord.from_dict(d, "keras")


def accuracy_record(y: np.ndarray, reference: np.ndarray, candidate: np.ndarray,
                    class_names: Sequence[str] | None) -> AccuracyRecord:
    """Candidate accuracy with its Wilson interval, and the paired change against the
    reference on the same rows: Newcombe interval, exact McNemar p, per class the same with a
    Holm correction across classes."""
    num_classes = int(np.asarray(reference).shape[1])
    ref_cls = metrics.classification(y, reference, num_classes)
    cand_cls = metrics.classification(y, candidate, num_classes)
    delta = metrics.class_delta(cand_cls, ref_cls, class_names)
    names = [str(c) for c in class_names] if class_names is not None else \
        [str(i) for i in range(num_classes)]
    labels = np.asarray(y).astype(np.int64)
    ref_pred = np.argmax(np.asarray(reference), axis=1)
    cand_pred = np.argmax(np.asarray(candidate), axis=1)
    paired = stats.paired_accuracy(ref_pred == labels, cand_pred == labels, CONFIDENCE)
    per_class = stats.per_class_paired(labels, ref_pred, cand_pred, num_classes)
    changes = [
        ClassChange(index=i, name=names[i], n=pc.n, delta=pc.delta,
                    delta_ci95=_ci(pc.delta_ci95) if pc.delta_ci95 is not None else None,
                    mcnemar_p=pc.mcnemar_p, holm_p=pc.p_adjusted, significant=pc.significant)
        for i, pc in enumerate(per_class)
    ]
    correct = int(np.count_nonzero(cand_pred == labels))
    return AccuracyRecord(
        accuracy=cand_cls.accuracy,
        accuracy_delta=delta.accuracy_delta,
        per_class_accuracy=list(cand_cls.per_class_accuracy),
        per_class_delta=list(delta.per_class_delta),
        support=list(cand_cls.support),
        worst_class=WorstClass(index=delta.worst_index, name=delta.worst_name,
                               delta=delta.worst_delta),
        confusion=[list(row) for row in cand_cls.confusion],
        ci95=_ci(stats.wilson_interval(correct, len(labels), CONFIDENCE)),
        delta_ci95=_ci(paired.delta_ci95),
        mcnemar_p=paired.mcnemar_p,
        lost=paired.table.b,
        gained=paired.table.c,
        per_class_change=changes,
    )
