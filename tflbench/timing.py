"""Honest latency measurement and comparison (no TensorFlow, numpy only).

``measure(fn, settings)`` times ``fn`` with :func:`time.perf_counter_ns` around the call only,
after a warm-up that lasts at least ``warmup_runs`` calls *and* ``warmup_seconds``. Timed runs
continue until both ``min_runs`` and ``min_seconds`` are reached, and stop early at ``max_runs``
or ``max_seconds``. :class:`LatencyStats` summarizes the samples in microseconds and warns when
they are not trustworthy. :func:`compare_samples` says whether a change is real (Mann-Whitney U).

Method details are in ``docs/metrics-and-timing.md``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal, TypeVar

import numpy as np

from tflbench.errors import ConfigError

T = TypeVar("T")

#: Percentiles use numpy's default linear interpolation between closest ranks
#: (``method="linear"``, type 7 of Hyndman & Fan).
PERCENTILE_METHOD: Final[Literal["linear"]] = "linear"

#: Warning thresholds.
MIN_RELIABLE_RUNS = 30
MAX_RELATIVE_STDEV = 0.10
OUTLIER_FACTOR = 10.0


@dataclass(frozen=True)
class LatencySettings:
    """How long to warm up and how many timed runs to take."""

    warmup_runs: int = 10
    warmup_seconds: float = 0.1
    min_runs: int = 50
    min_seconds: float = 0.5
    max_runs: int = 10000
    max_seconds: float = 10.0

    def __post_init__(self) -> None:
        for name in ("warmup_runs", "min_runs", "max_runs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"latency {name} must be a non-negative integer. "
                                  f"Received: {name}={value!r}.")
        for name in ("warmup_seconds", "min_seconds", "max_seconds"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not math.isfinite(value) or value < 0):
                raise ConfigError(f"latency {name} must be a non-negative number of seconds. "
                                  f"Received: {name}={value!r}.")
        if self.max_runs < 1 or self.max_seconds <= 0:
            raise ConfigError("latency max_runs and max_seconds must be positive. Received: "
                              f"max_runs={self.max_runs}, max_seconds={self.max_seconds}.")
        if self.min_runs > self.max_runs:
            raise ConfigError(f"latency min_runs must not exceed max_runs. Received: "
                              f"min_runs={self.min_runs}, max_runs={self.max_runs}.")
        if self.min_seconds > self.max_seconds:
            raise ConfigError(f"latency min_seconds must not exceed max_seconds. Received: "
                              f"min_seconds={self.min_seconds}, max_seconds={self.max_seconds}.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class LatencyStats:
    """Summary of timed runs, in microseconds."""

    n: int
    warmup: int
    min: float
    max: float
    median: float
    p90: float
    p99: float
    mean: float
    stdev: float
    iqr: float
    samples: tuple[float, ...]
    warnings: tuple[str, ...] = ()
    unit: str = "us"

    @classmethod
    def from_ns(
        cls, samples_ns: Sequence[int] | np.ndarray, warmup: int, *,
        extra_warnings: Sequence[str] = (),
    ) -> LatencyStats:
        """Statistics of per-call durations given in nanoseconds."""
        ns = np.asarray(samples_ns, dtype=np.float64).ravel()
        if ns.size == 0:
            raise ValueError("samples_ns must hold at least one duration. Received none.")
        if not np.all(np.isfinite(ns)) or np.any(ns < 0):
            raise ValueError("samples_ns must be non-negative finite durations in nanoseconds.")
        return cls.from_us(np.round(ns / 1000.0, 3), warmup, extra_warnings=extra_warnings)

    @classmethod
    def from_us(
        cls, samples_us: Sequence[float] | np.ndarray, warmup: int, *,
        extra_warnings: Sequence[str] = (),
    ) -> LatencyStats:
        """Statistics of per-call durations given in microseconds (e.g. read back from JSON)."""
        us = np.asarray(samples_us, dtype=np.float64).ravel()
        if us.size == 0:
            raise ValueError("samples_us must hold at least one duration. Received none.")
        p25, median, p75, p90, p99 = (
            float(v) for v in np.percentile(us, [25, 50, 75, 90, 99], method=PERCENTILE_METHOD)
        )
        n = int(us.size)
        stdev = float(np.std(us, ddof=1)) if n > 1 else math.nan
        vmax = float(us.max())
        return cls(
            n=n,
            warmup=int(warmup),
            min=float(us.min()),
            max=vmax,
            median=median,
            p90=p90,
            p99=p99,
            mean=float(us.mean()),
            stdev=stdev,
            iqr=p75 - p25,
            samples=tuple(float(v) for v in us),
            warnings=tuple(extra_warnings) + _stability_warnings(n, median, stdev, vmax),
        )

    def to_dict(self, include_samples: bool = True) -> dict[str, Any]:
        """The ``latency`` object of a ModeRecord, without the keys the pipeline adds
        (threads, xnnpack, init_us, first_invoke_us)."""
        d: dict[str, Any] = {
            "unit": self.unit,
            "n": self.n,
            "warmup": self.warmup,
            "min": self.min,
            "max": self.max,
            "median": self.median,
            "p90": self.p90,
            "p99": self.p99,
            "mean": self.mean,
            "stdev": self.stdev,
            "iqr": self.iqr,
        }
        if include_samples:
            d["samples"] = list(self.samples)
        d["warnings"] = list(self.warnings)
        return d


def _stability_warnings(n: int, median: float, stdev: float, vmax: float) -> tuple[str, ...]:
    out = []
    if n < MIN_RELIABLE_RUNS:
        out.append(f"only {n} timed runs (fewer than {MIN_RELIABLE_RUNS}): percentiles are "
                   "unreliable; raise min_runs or min_seconds")
    if median > 0 and math.isfinite(stdev) and stdev > MAX_RELATIVE_STDEV * median:
        out.append(f"unstable: stdev is {stdev / median:.0%} of the median (over "
                   f"{MAX_RELATIVE_STDEV:.0%}); close other programs, pin the CPU or fix its "
                   "frequency, and run longer")
    if median > 0 and vmax > OUTLIER_FACTOR * median:
        out.append(f"outliers: the slowest run ({vmax:.1f} us) is {vmax / median:.0f}x the "
                   "median; the machine was probably busy")
    return tuple(out)


def measure(fn: Callable[[], object], settings: LatencySettings | None = None) -> LatencyStats:
    """Time ``fn()`` repeatedly; only the call itself is inside the clock.

    Warm-up runs until both ``warmup_runs`` calls and ``warmup_seconds`` have passed (but never
    longer than ``max_seconds``). Timed runs stop when both ``min_runs`` and ``min_seconds`` are
    reached, or at ``max_runs`` or ``max_seconds``, whichever comes first; at least one run is
    always timed. Exceptions raised by ``fn`` propagate.
    """
    s = settings or LatencySettings()
    clock = time.perf_counter_ns
    max_ns = int(s.max_seconds * 1e9)

    warm = 0
    start = clock()
    warmup_ns = int(s.warmup_seconds * 1e9)
    while warm < s.warmup_runs or clock() - start < warmup_ns:
        fn()
        warm += 1
        if clock() - start >= max_ns:
            break

    min_ns = int(s.min_seconds * 1e9)
    samples: list[int] = []
    start = clock()
    while True:
        t0 = clock()
        fn()
        t1 = clock()
        samples.append(t1 - t0)
        n = len(samples)
        elapsed = t1 - start
        if n >= s.max_runs or elapsed >= max_ns:
            break
        if n >= s.min_runs and elapsed >= min_ns:
            break

    extra = []
    if len(samples) < s.min_runs:
        extra.append(f"stopped at max_seconds={s.max_seconds:g} after {len(samples)} runs, "
                     f"before min_runs={s.min_runs}")
    return LatencyStats.from_ns(samples, warm, extra_warnings=extra)


def measure_once_ns(fn: Callable[[], T]) -> tuple[int, T]:
    """``(elapsed_ns, fn())`` for one call, e.g. interpreter creation or the first invoke."""
    t0 = time.perf_counter_ns()
    result = fn()
    return time.perf_counter_ns() - t0, result


# ------------------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class SampleComparison:
    """Candidate vs baseline latency: ratio of medians and a two-sided Mann-Whitney U test."""

    ratio_of_medians: float
    p_value: float
    significant: bool
    baseline_median: float
    candidate_median: float
    n_baseline: int
    n_candidate: int
    alpha: float
    test: str = "Mann-Whitney U (two-sided, normal approx.)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line, e.g. ``median 61.0 us vs 55.0 us: 1.11x slower (p=0.003, significant)``."""
        r = self.ratio_of_medians
        if abs(r - 1) < 0.005:
            change = f"{r:.3f}x, about the same"
        elif r > 1:
            change = f"{r:.2f}x slower"
        else:
            change = f"{1 / r:.2f}x faster" if r > 0 else "infinitely faster"
        verdict = "significant" if self.significant else "not significant"
        return (f"median {self.candidate_median:.1f} us vs {self.baseline_median:.1f} us: "
                f"{change} (p={self.p_value:.3g}, {verdict} at alpha={self.alpha:g})")


def _average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1-based ranks with ties sharing their average rank, and the size of each tie group."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    is_start = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(is_start)
    counts = np.diff(np.r_[starts, values.size])
    group_rank = starts + (counts + 1) / 2.0
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = group_rank[np.cumsum(is_start) - 1]
    return ranks, counts


def mann_whitney_u(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
                   ) -> tuple[float, float]:
    """``(U of x, two-sided p-value)``: normal approximation with tie and continuity corrections.

    The approximation is good from about 20 samples per side; with all values tied p is 1.
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    n1, n2 = a.size, b.size
    ranks, ties = _average_ranks(np.concatenate([a, b]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2.0)
    n = n1 + n2
    tie_term = float(np.sum(ties.astype(np.float64) ** 3 - ties)) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term)
    if variance <= 0:
        return u1, 1.0
    z = (abs(u1 - n1 * n2 / 2.0) - 0.5) / math.sqrt(variance)
    return u1, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0)))


def compare_samples(
    baseline_us: Sequence[float] | np.ndarray,
    candidate_us: Sequence[float] | np.ndarray,
    alpha: float = 0.05,
) -> SampleComparison:
    """Is the candidate's latency different from the baseline's? ``significant`` is p < alpha."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1). Received: alpha={alpha!r}.")
    base = np.asarray(baseline_us, dtype=np.float64).ravel()
    cand = np.asarray(candidate_us, dtype=np.float64).ravel()
    for name, arr in (("baseline_us", base), ("candidate_us", cand)):
        if arr.size == 0:
            raise ValueError(f"{name} must hold at least one sample. Received none.")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must hold finite latencies. Received NaN or inf.")
    base_med = float(np.median(base))
    cand_med = float(np.median(cand))
    if base_med > 0:
        ratio = cand_med / base_med
    else:
        ratio = 1.0 if cand_med == base_med else math.inf
    _, p = mann_whitney_u(base, cand)
    return SampleComparison(
        ratio_of_medians=ratio,
        p_value=p,
        significant=p < alpha,
        baseline_median=base_med,
        candidate_median=cand_med,
        n_baseline=int(base.size),
        n_candidate=int(cand.size),
        alpha=float(alpha),
    )
