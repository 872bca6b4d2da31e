"""Uncertainty and significance for accuracy figures (numpy and the standard library only).

Every accuracy or agreement figure tflbench reports is a proportion measured on a finite
evaluation set, and every change is a paired comparison: the candidate (a ``.tflite``
conversion) and the reference (the Keras model) classify the *same* samples. This module gives
each figure its interval and each change its test:

* :func:`wilson_interval`: Wilson score interval for one proportion.
* :func:`paired_table` / :class:`PairedTable`: the paired 2x2 table of two classifiers.
* :func:`paired_difference_interval`: Newcombe's (1998) method 10 interval for the change in
  accuracy.
* :func:`mcnemar_exact_p`: exact two-sided McNemar test on the discordant pairs.
* :func:`holm`: Holm's step-down adjustment of several p values.
* :func:`samples_needed` / :func:`paired_samples_needed`: how many samples resolve a threshold.
* :func:`paired_accuracy` and :func:`per_class_paired`: the records the gates and reports read.

Formulas and a worked example are in ``docs/metrics-and-timing.md`` ("Uncertainty and
significance"). Functions are pure, validate their inputs with ``ValueError`` messages that say
what was received, and return plain floats or frozen records. No scipy at run time.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, TypeAlias

import numpy as np

__all__ = [
    "ClassPaired",
    "HolmResult",
    "PairedAccuracy",
    "PairedTable",
    "holm",
    "mcnemar_exact_p",
    "paired_accuracy",
    "paired_difference_interval",
    "paired_samples_needed",
    "paired_table",
    "per_class_paired",
    "samples_needed",
    "wilson_interval",
    "z_value",
]

#: A count: a Python int or a numpy integer (as ``np.count_nonzero`` and array sums return).
Count: TypeAlias = "int | np.integer[Any]"

#: Up to this many discordant pairs the McNemar tail is summed exactly with integers; above it,
#: in log space (``math.lgamma`` for the largest term, then term ratios).
_EXACT_BINOMIAL_MAX_N = 1000


# ------------------------------------------------------------------------------------ validation


def _count(value: Any, name: str) -> int:
    """``value`` as a non-negative Python int, or a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be a non-negative integer count. Received: {name}={value!r} "
            f"({type(value).__name__})."
        )
    count = int(value)
    if count < 0:
        raise ValueError(f"{name} must be a non-negative integer count. Received: {name}={count}.")
    return count


def _probability(value: Any, name: str, *, open_interval: bool) -> float:
    """``value`` as a float in (0, 1) (``open_interval``) or [0, 1], else a ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number. Received: {name}={value!r}.")
    x = float(value)
    if open_interval:
        if not 0.0 < x < 1.0:
            raise ValueError(f"{name} must be in (0, 1). Received: {name}={value!r}.")
    elif not 0.0 <= x <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]. Received: {name}={value!r}.")
    return x


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard-normal quantile: ``z`` with ``P(|Z| <= z) = confidence``.

    ``z_value(0.95) == 1.959963984540054``. Computed with :class:`statistics.NormalDist`
    (Wichura's AS241 algorithm, accurate to double precision).
    """
    c = _probability(confidence, "confidence", open_interval=True)
    return NormalDist().inv_cdf(0.5 + c / 2.0)


# ---------------------------------------------------------------------------------- one proportion


def wilson_interval(successes: Count, n: Count, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for the proportion ``successes / n``.

    With ``p = successes / n`` and ``z = z_value(confidence)``::

        centre = (successes + z^2 / 2) / (n + z^2)
        half   = z / (n + z^2) * sqrt(successes * (n - successes) / n + z^2 / 4)

    The interval is ``(centre - half, centre + half)``, clipped to [0, 1]. It is never empty or
    degenerate: 0 successes give a lower bound of exactly 0 and an upper bound above 0.
    ``n = 0`` gives ``(0.0, 1.0)``: nothing is known.
    """
    x = _count(successes, "successes")
    total = _count(n, "n")
    if x > total:
        raise ValueError(
            f"successes must not exceed n. Received: successes={x}, n={total}."
        )
    z = z_value(confidence)
    if total == 0:
        return 0.0, 1.0
    z2 = z * z
    denom = total + z2
    centre = (x + z2 / 2.0) / denom
    half = z / denom * math.sqrt(x * (total - x) / total + z2 / 4.0)
    lo = 0.0 if x == 0 else max(0.0, centre - half)
    hi = 1.0 if x == total else min(1.0, centre + half)
    return lo, hi


def _wilson_half_width(p: float, n: float, z: float) -> float:
    """Half the width of the Wilson interval at an observed proportion ``p`` with ``n`` samples."""
    return z / (n + z * z) * math.sqrt(n * p * (1.0 - p) + z * z / 4.0)


# ------------------------------------------------------------------------------------- paired table


@dataclass(frozen=True)
class PairedTable:
    """Candidate vs reference on the same ``n`` samples.

    * ``a``: both correct;
    * ``b``: reference correct, candidate wrong (a sample the conversion broke);
    * ``c``: reference wrong, candidate correct (a sample the conversion fixed);
    * ``d``: both wrong.

    The reference's accuracy is ``(a + b) / n``, the candidate's ``(a + c) / n`` and the change
    ``delta = (c - b) / n``.
    """

    a: int
    b: int
    c: int
    d: int

    def __post_init__(self) -> None:
        for name in ("a", "b", "c", "d"):
            object.__setattr__(self, name, _count(getattr(self, name), name))

    @property
    def n(self) -> int:
        return self.a + self.b + self.c + self.d

    @property
    def discordant(self) -> int:
        """Samples on which exactly one of the two models is right (``b + c``)."""
        return self.b + self.c

    @property
    def reference_correct(self) -> int:
        return self.a + self.b

    @property
    def candidate_correct(self) -> int:
        return self.a + self.c

    @property
    def reference_accuracy(self) -> float:
        """``(a + b) / n``; NaN for an empty table."""
        return self.reference_correct / self.n if self.n else math.nan

    @property
    def candidate_accuracy(self) -> float:
        """``(a + c) / n``; NaN for an empty table."""
        return self.candidate_correct / self.n if self.n else math.nan

    @property
    def delta(self) -> float:
        """Candidate minus reference accuracy, ``(c - b) / n``; NaN for an empty table."""
        return (self.c - self.b) / self.n if self.n else math.nan

    @property
    def phi(self) -> float:
        """Newcombe's continuity-corrected phi (used by method 10).

        ``(a d - b c) / sqrt((a+b)(c+d)(a+c)(b+d))``, where a positive numerator ``a d - b c``
        is first replaced by ``max(a d - b c - n / 2, 0)``. Zero when any margin is zero.
        """
        margins = self.reference_correct * (self.c + self.d) * self.candidate_correct * (
            self.b + self.d
        )
        if margins == 0:
            return 0.0
        numerator = float(self.a * self.d - self.b * self.c)
        if numerator > 0:
            numerator = max(numerator - self.n / 2.0, 0.0)
        return numerator / math.sqrt(margins)

    def to_dict(self) -> dict[str, int]:
        return {"a": self.a, "b": self.b, "c": self.c, "d": self.d}

    @classmethod
    def from_dict(cls, data: Any) -> PairedTable:
        if not isinstance(data, dict) or set(data) != {"a", "b", "c", "d"}:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(
                f"a paired table must be an object with exactly the keys a, b, c, d. "
                f"Received: {got}."
            )
        return cls(a=data["a"], b=data["b"], c=data["c"], d=data["d"])


def _as_correct(arr: Any, name: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype != np.bool_ and a.shape == (0,):
        a = a.astype(np.bool_)  # an empty list has no dtype of its own
    if a.dtype != np.bool_:
        raise ValueError(
            f"{name} must be a 1-D boolean array (True where the model is right). "
            f"Received: dtype {a.dtype}; compare predictions with labels, e.g. pred == y."
        )
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D boolean array. Received: shape {a.shape}.")
    return a


def paired_table(ref_correct: Any, cand_correct: Any) -> PairedTable:
    """Count the paired 2x2 table from per-sample correctness of reference and candidate.

    Both arguments are 1-D boolean arrays of the same length, ``True`` where that model's
    prediction is right. Empty arrays give an all-zero table.
    """
    ref = _as_correct(ref_correct, "ref_correct")
    cand = _as_correct(cand_correct, "cand_correct")
    if ref.shape != cand.shape:
        raise ValueError(
            "ref_correct and cand_correct must have the same length (one entry per sample). "
            f"Received: {ref.shape[0]} and {cand.shape[0]}."
        )
    both = int(np.count_nonzero(ref & cand))
    ref_only = int(np.count_nonzero(ref & ~cand))
    cand_only = int(np.count_nonzero(~ref & cand))
    return PairedTable(
        a=both, b=ref_only, c=cand_only, d=int(ref.size) - both - ref_only - cand_only
    )


def _as_table(table: Any) -> PairedTable:
    if not isinstance(table, PairedTable):
        raise ValueError(
            f"table must be a PairedTable (see paired_table()). Received: {type(table).__name__}."
        )
    return table


# ----------------------------------------------------------------------------- paired difference


def paired_difference_interval(
    table: PairedTable, confidence: float = 0.95
) -> tuple[float, float]:
    """Interval for ``delta = (c - b) / n``, candidate minus reference accuracy.

    Newcombe's method 10 for paired proportions (Newcombe 1998, Statistics in Medicine 17,
    2635-2650): with ``p1 = (a + c) / n`` (candidate) and ``p2 = (a + b) / n`` (reference),
    their Wilson intervals ``(l1, u1)`` and ``(l2, u2)`` and ``phi`` = :attr:`PairedTable.phi`::

        lower = delta - sqrt((p1 - l1)^2 - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)^2)
        upper = delta + sqrt((u1 - p1)^2 - 2 phi (u1 - p1)(p2 - l2) + (p2 - l2)^2)

    clipped to [-1, 1]. An empty table gives ``(-1.0, 1.0)``.
    """
    t = _as_table(table)
    z_value(confidence)  # validate even when the table is empty
    n = t.n
    if n == 0:
        return -1.0, 1.0
    p1 = t.candidate_correct / n
    p2 = t.reference_correct / n
    l1, u1 = wilson_interval(t.candidate_correct, n, confidence)
    l2, u2 = wilson_interval(t.reference_correct, n, confidence)
    phi = t.phi
    below1, above1 = p1 - l1, u1 - p1
    below2, above2 = p2 - l2, u2 - p2
    # Both radicands are >= (1 - |phi|)(x^2 + y^2) >= 0; max() only absorbs rounding.
    down = math.sqrt(max(below1 * below1 - 2.0 * phi * below1 * above2 + above2 * above2, 0.0))
    up = math.sqrt(max(above1 * above1 - 2.0 * phi * above1 * below2 + below2 * below2, 0.0))
    delta = (t.c - t.b) / n
    return max(-1.0, delta - down), min(1.0, delta + up)


# ------------------------------------------------------------------------------------------ McNemar


def _log_binomial_half_cdf(k: int, m: int) -> float:
    """``log P(X <= k)`` for ``X ~ Binomial(m, 1/2)`` and ``0 <= k <= m / 2``, in log space.

    The largest term, ``C(m, k) / 2^m``, comes from ``math.lgamma``; the others follow from the
    ratios ``C(m, i - 1) / C(m, i) = i / (m - i + 1) <= 1``, summed relative to the largest so
    nothing overflows or underflows before the final ``exp``.
    """
    log_top = (
        math.lgamma(m + 1) - math.lgamma(k + 1) - math.lgamma(m - k + 1) - m * math.log(2.0)
    )
    i = np.arange(k, 0, -1, dtype=np.float64)
    log_ratios = np.log(i) - np.log(m - i + 1.0)
    relative = np.exp(np.cumsum(log_ratios))
    return log_top + math.log1p(float(relative.sum()))


def mcnemar_exact_p(b: Count, c: Count) -> float:
    """Exact two-sided McNemar p value for ``b`` and ``c`` discordant pairs.

    Under "no change" each discordant pair is equally likely to go either way, so
    ``min(b, c)`` is a ``Binomial(b + c, 1/2)`` draw:
    ``p = min(1, 2 * P(X <= min(b, c)))``. ``b + c = 0`` gives 1.0. Up to 1000 discordant
    pairs the tail is summed exactly with integers; above, in log space (relative error about
    1e-9 at ``b + c = 10^6``). Matches ``scipy.stats.binomtest(min(b, c), b + c).pvalue`` and
    statsmodels' ``mcnemar(table, exact=True)``.
    """
    nb = _count(b, "b")
    nc = _count(c, "c")
    m = nb + nc
    k = min(nb, nc)
    if m == 0 or 2 * k >= m - 1:
        # k >= (m - 1) / 2 means P(X <= k) >= 1/2, so the doubled tail reaches 1.
        return 1.0
    if m <= _EXACT_BINOMIAL_MAX_N:
        tail = 0
        term = 1  # C(m, 0)
        for i in range(k + 1):
            tail += term
            term = term * (m - i) // (i + 1)
        return min(1.0, (2 * tail) / (1 << m))
    return min(1.0, math.exp(math.log(2.0) + _log_binomial_half_cdf(k, m)))


# --------------------------------------------------------------------------------------------- Holm


@dataclass(frozen=True)
class HolmResult:
    """Holm step-down adjustment of ``m`` p values, in the order they were given.

    ``adjusted[i]`` is the Holm-adjusted p value of hypothesis ``i``; ``reject[i]`` is True when
    hypothesis ``i`` is rejected at family-wise error rate ``alpha``.
    """

    pvalues: tuple[float, ...]
    adjusted: tuple[float, ...]
    reject: tuple[bool, ...]
    alpha: float

    @property
    def any_rejected(self) -> bool:
        return any(self.reject)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pvalues": list(self.pvalues),
            "adjusted": list(self.adjusted),
            "reject": list(self.reject),
            "alpha": self.alpha,
        }


def holm(pvalues: Sequence[float] | np.ndarray, alpha: float = 0.05) -> HolmResult:
    """Holm's step-down procedure (Holm 1979) for ``m`` p values.

    Sort the p values ascending, ``p_(1) <= ... <= p_(m)``. The adjusted values are
    ``q_(i) = min(1, max_{j <= i} (m - j + 1) p_(j))`` (monotone in the sorted order).
    ``H_(i)`` is rejected when ``p_(j) <= alpha / (m - j + 1)`` for every ``j <= i``, which is
    ``q_(i) <= alpha``. Matches statsmodels' ``multipletests(pvalues, alpha, method="holm")``.
    An empty sequence gives an empty result.
    """
    a = _probability(alpha, "alpha", open_interval=True)
    try:
        p = np.asarray(pvalues, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"pvalues must be a 1-D sequence of numbers. Received: {pvalues!r}."
        ) from None
    if p.ndim != 1:
        raise ValueError(f"pvalues must be a 1-D sequence. Received: shape {p.shape}.")
    bad = ~((p >= 0.0) & (p <= 1.0))  # also catches NaN
    if np.any(bad):
        raise ValueError(
            "pvalues must all be in [0, 1]. Received: "
            f"{p[bad][:5].tolist()} at positions {np.flatnonzero(bad)[:5].tolist()}."
        )
    m = p.size
    order = np.argsort(p, kind="mergesort")
    ordered = p[order]
    multipliers = np.arange(m, 0, -1, dtype=np.float64)
    adjusted_sorted = np.minimum(np.maximum.accumulate(multipliers * ordered), 1.0)
    passes = ordered <= a / multipliers
    # Step down: stop at the first hypothesis that fails; it and all later ones are kept.
    first_fail = int(np.argmin(passes)) if not np.all(passes) else m
    reject_sorted = np.zeros(m, dtype=bool)
    reject_sorted[:first_fail] = True
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    reject = np.empty(m, dtype=bool)
    reject[order] = reject_sorted
    return HolmResult(
        pvalues=tuple(float(x) for x in p),
        adjusted=tuple(float(x) for x in adjusted),
        reject=tuple(bool(x) for x in reject),
        alpha=a,
    )


# ---------------------------------------------------------------------------------- samples needed


def _positive_threshold(threshold: Any) -> float:
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
        raise ValueError(
            f"threshold must be a positive proportion, e.g. 0.005 for 0.5 percentage points. "
            f"Received: threshold={threshold!r}."
        )
    t = float(threshold)
    if not 0.0 < t <= 1.0:
        raise ValueError(
            "threshold must be in (0, 1], a proportion, e.g. 0.005 for 0.5 percentage points. "
            f"Received: threshold={threshold!r}."
        )
    return t


def samples_needed(threshold: float, p: float = 0.5, confidence: float = 0.95) -> int:
    """Smallest ``n`` whose **Wilson** interval around a proportion ``p`` has a half-width
    (half of upper minus lower) of at most ``threshold``.

    The Wilson half-width is ``h(n) = z / (n + z^2) * sqrt(n p (1 - p) + z^2 / 4)``; it
    decreases with ``n`` and ``h(n) = t`` solves to::

        n* = z^2 (p q - 2 t^2 + sqrt(p^2 q^2 + t^2 (1 - 4 p q))) / (2 t^2),   q = 1 - p

    The result is ``ceil(n*)`` (checked against ``h`` directly, at least 1). For ``p`` away
    from 0 and 1 this is close to the normal-approximation ``z^2 p q / t^2``. ``p = 0.5`` (the
    default) is the worst case; pass the expected accuracy for a tighter figure. Example: a
    0.5 pp half-width (``threshold=0.005``) around 97% accuracy needs 4,497 samples.
    """
    t = _positive_threshold(threshold)
    prop = _probability(p, "p", open_interval=False)
    z = z_value(confidence)
    pq = prop * (1.0 - prop)
    z2 = z * z
    root = math.sqrt(pq * pq + t * t * (1.0 - 4.0 * pq))
    n = max(1, math.ceil(z2 * (pq - 2.0 * t * t + root) / (2.0 * t * t)))
    # Guard the closed form against rounding at the boundary.
    while n > 1 and _wilson_half_width(prop, n - 1, z) <= t:
        n -= 1
    while _wilson_half_width(prop, n, z) > t:
        n += 1
    return n


def paired_samples_needed(
    threshold: float, discordance: float, delta: float = 0.0, confidence: float = 0.95
) -> int:
    """Smallest ``n`` for which the interval of a paired accuracy change has a half-width of at
    most ``threshold``, by the **normal approximation** for paired proportions.

    Per sample the change is +1 (candidate only right, probability ``pc``), -1 (reference only
    right, ``pb``) or 0, so ``delta = pc - pb``, the discordance rate is ``pd = pb + pc`` and
    ``Var(delta_hat) = (pd - delta^2) / n``. The half-width ``z sqrt((pd - delta^2) / n)`` is
    at most ``t`` from::

        n = ceil(z^2 (pd - delta^2) / t^2)        (at least 1)

    This depends on how often the two models disagree on correctness, not on the accuracy
    itself: 1.1% discordance (``discordance=0.011``) resolves 0.5 pp with 1,691 samples,
    against 4,497 for a single accuracy of 97%. The interval tflbench reports (Newcombe's
    method 10) is wider than this approximation when few discordant pairs are expected: about
    10% wider at 20 expected discordant pairs, 5% at 40 and 2% at 100. Treat the figure as a
    lower bound when ``n * discordance`` is below about 50.
    """
    t = _positive_threshold(threshold)
    pd = _probability(discordance, "discordance", open_interval=False)
    if isinstance(delta, (bool, np.bool_)) or not isinstance(delta, numbers.Real):
        raise ValueError(f"delta must be a number. Received: delta={delta!r}.")
    dl = float(delta)
    if not abs(dl) <= pd:
        raise ValueError(
            "delta must satisfy |delta| <= discordance (only discordant samples change the "
            f"accuracy). Received: delta={delta!r}, discordance={discordance!r}."
        )
    z = z_value(confidence)
    variance = max(pd - dl * dl, 0.0)
    n = max(1, math.ceil(z * z * variance / (t * t)))
    while n > 1 and z * math.sqrt(variance / (n - 1)) <= t:
        n -= 1
    while z * math.sqrt(variance / n) > t:
        n += 1
    return n


# ---------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class PairedAccuracy:
    """Candidate vs reference accuracy on the same samples, with its uncertainty.

    ``delta`` is candidate minus reference accuracy, ``delta_ci95`` its Newcombe interval at
    ``confidence`` (0.95 unless asked otherwise) and ``mcnemar_p`` the exact two-sided McNemar
    p value. Built by :func:`paired_accuracy` or :meth:`from_table`.
    """

    n: int
    table: PairedTable
    delta: float
    delta_ci95: tuple[float, float]
    mcnemar_p: float
    confidence: float = 0.95

    @classmethod
    def from_table(cls, table: PairedTable, confidence: float = 0.95) -> PairedAccuracy:
        t = _as_table(table)
        if t.n == 0:
            raise ValueError(
                "a paired accuracy needs at least one sample. Received: an empty table "
                "(a=b=c=d=0)."
            )
        return cls(
            n=t.n,
            table=t,
            delta=t.delta,
            delta_ci95=paired_difference_interval(t, confidence),
            mcnemar_p=mcnemar_exact_p(t.b, t.c),
            confidence=float(confidence),
        )

    @property
    def reference_accuracy(self) -> float:
        return self.table.reference_accuracy

    @property
    def candidate_accuracy(self) -> float:
        return self.table.candidate_accuracy

    def significant(self, alpha: float = 0.05) -> bool:
        """True when McNemar's ``p < alpha``: the accuracies differ beyond chance."""
        return self.mcnemar_p < _probability(alpha, "alpha", open_interval=True)

    def describe(self) -> str:
        """One line, e.g. ``accuracy 97.00% -> 96.50%: -0.50 pp (95% CI -1.30 to +0.23 pp),
        McNemar p=0.227 (b=8, c=3, n=1000)``."""
        lo, hi = self.delta_ci95
        return (
            f"accuracy {self.reference_accuracy:.2%} -> {self.candidate_accuracy:.2%}: "
            f"{100 * self.delta:+.2f} pp ({self.confidence:.0%} CI {100 * lo:+.2f} to "
            f"{100 * hi:+.2f} pp), McNemar p={self.mcnemar_p:.3g} "
            f"(b={self.table.b}, c={self.table.c}, n={self.n})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "table": self.table.to_dict(),
            "delta": self.delta,
            "delta_ci95": [self.delta_ci95[0], self.delta_ci95[1]],
            "mcnemar_p": self.mcnemar_p,
            "confidence": self.confidence,
        }

    @classmethod
    def from_dict(cls, data: Any) -> PairedAccuracy:
        """Rebuild from ``to_dict()`` output: the figures are recomputed from the table and
        checked against the stored ones, so a hand-edited or stale record is rejected."""
        if not isinstance(data, dict) or "table" not in data:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(
                f"a paired accuracy must be an object with a 'table' key. Received: {got}."
            )
        record = cls.from_table(
            PairedTable.from_dict(data["table"]), data.get("confidence", 0.95)
        )
        stored = {k: data[k] for k in ("n", "delta", "delta_ci95", "mcnemar_p") if k in data}
        fresh = record.to_dict()
        for key, value in stored.items():
            expected = fresh[key]
            ok = (
                np.allclose(value, expected, rtol=1e-9, atol=1e-12)
                if key != "n"
                else value == expected
            )
            if not ok:
                raise ValueError(
                    f"paired accuracy field {key!r} does not match its table. "
                    f"Received: {key}={value!r}, the table gives {expected!r}."
                )
        return record


def paired_accuracy(
    ref_correct: Any, cand_correct: Any, confidence: float = 0.95
) -> PairedAccuracy:
    """Change in accuracy from reference to candidate, with interval and McNemar test.

    ``ref_correct`` and ``cand_correct`` are 1-D boolean arrays, ``True`` where that model is
    right on that sample (same samples, same order). At least one sample is required.
    """
    return PairedAccuracy.from_table(paired_table(ref_correct, cand_correct), confidence)


@dataclass(frozen=True)
class ClassPaired:
    """Candidate vs reference accuracy on the samples of one true class.

    A class with no samples has ``n == 0`` and no figures (``None``) and is not tested.
    ``p_adjusted`` is McNemar's p after Holm's adjustment across all tested classes and
    ``significant`` is ``p_adjusted <= alpha``.
    """

    class_index: int
    n: int
    table: PairedTable
    delta: float | None
    delta_ci95: tuple[float, float] | None
    mcnemar_p: float | None
    p_adjusted: float | None
    significant: bool

    @property
    def tested(self) -> bool:
        return self.n > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "class_index": self.class_index,
            "n": self.n,
            "table": self.table.to_dict(),
            "delta": self.delta,
            "delta_ci95": None if self.delta_ci95 is None else list(self.delta_ci95),
            "mcnemar_p": self.mcnemar_p,
            "p_adjusted": self.p_adjusted,
            "significant": self.significant,
        }


def _as_predictions(arr: Any, name: str, num_classes: int, n: int | None) -> np.ndarray:
    """Integer labels from labels ``(n,)`` or scores ``(n, num_classes)`` (argmax)."""
    a = np.asarray(arr)
    if a.ndim == 2:
        if a.shape[1] != num_classes or a.dtype.kind not in "fiu":
            raise ValueError(
                f"{name} given as scores must be numeric with shape (n, {num_classes}). "
                f"Received: shape {a.shape}, dtype {a.dtype}."
            )
        a = np.argmax(a, axis=1)
    if a.ndim != 1:
        raise ValueError(
            f"{name} must be labels (n,) or scores (n, num_classes). Received: shape {a.shape}."
        )
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise ValueError(f"{name} must hold integer class indices. Received: non-integers.")
    elif a.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class indices. Received: dtype {a.dtype}.")
    labels = a.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{name} must be class indices in [0, {num_classes - 1}]. Received: values from "
            f"{labels.min()} to {labels.max()}."
        )
    if n is not None and labels.size != n:
        raise ValueError(
            f"{name} must have one entry per label. Received: {labels.size} entries for "
            f"{n} labels."
        )
    return labels


def per_class_paired(
    y: Any,
    ref_pred: Any,
    cand_pred: Any,
    num_classes: int,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> list[ClassPaired]:
    """Per-class change in accuracy (recall), with Holm's adjustment across classes.

    ``y`` holds the true labels ``(n,)``; ``ref_pred`` and ``cand_pred`` the reference's and
    candidate's predicted labels ``(n,)`` or scores ``(n, num_classes)`` (the argmax is used).
    For each class ``k`` the paired table is built on the samples with ``y == k``; the McNemar
    p values of the classes that have samples form one Holm family at ``alpha``. Returns one
    record per class, in class order.
    """
    if (
        isinstance(num_classes, (bool, np.bool_))
        or not isinstance(num_classes, numbers.Integral)
        or num_classes < 1
    ):
        raise ValueError(
            f"num_classes must be a positive integer. Received: num_classes={num_classes!r}."
        )
    k = int(num_classes)
    a = _probability(alpha, "alpha", open_interval=True)
    z_value(confidence)
    labels = _as_predictions(y, "y", k, None)
    ref = _as_predictions(ref_pred, "ref_pred", k, labels.size)
    cand = _as_predictions(cand_pred, "cand_pred", k, labels.size)
    ref_ok = ref == labels
    cand_ok = cand == labels

    tables = []
    for cls in range(k):
        mask = labels == cls
        tables.append(paired_table(ref_ok[mask], cand_ok[mask]))
    tested = [i for i, t in enumerate(tables) if t.n > 0]
    pvalues = [mcnemar_exact_p(tables[i].b, tables[i].c) for i in tested]
    adjustment = holm(pvalues, a)
    adjusted = dict(zip(tested, adjustment.adjusted, strict=True))
    rejected = dict(zip(tested, adjustment.reject, strict=True))
    raw = dict(zip(tested, pvalues, strict=True))

    records = []
    for cls, t in enumerate(tables):
        if t.n == 0:
            records.append(ClassPaired(cls, 0, t, None, None, None, None, False))
            continue
        records.append(
            ClassPaired(
                class_index=cls,
                n=t.n,
                table=t,
                delta=t.delta,
                delta_ci95=paired_difference_interval(t, confidence),
                mcnemar_p=raw[cls],
                p_adjusted=adjusted[cls],
                significant=rejected[cls],
            )
        )
    return records
