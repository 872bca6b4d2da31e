"""Latency statistics from fixed samples, run counts of measure(), and the Mann-Whitney test.

No assertion here depends on how fast the machine is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from tflbench import timing
from tflbench.errors import ConfigError
from tflbench.timing import LatencySettings, LatencyStats, compare_samples, mann_whitney_u


def test_from_ns_known_values() -> None:
    s = LatencyStats.from_ns([k * 1000 for k in range(10, 0, -1)], warmup=3)  # 1..10 us
    assert (s.unit, s.n, s.warmup, s.min, s.max) == ("us", 10, 3, 1.0, 10.0)
    assert s.median == 5.5
    assert s.p90 == pytest.approx(9.1)  # linear: position 0.9 * 9 = 8.1
    assert s.iqr == pytest.approx(7.75 - 3.25)
    assert s.mean == 5.5
    assert s.stdev == pytest.approx(math.sqrt(82.5 / 9))  # sample stdev, ddof=1
    assert s.samples == tuple(float(k) for k in range(10, 0, -1))
    assert any(w.startswith("only 10 timed runs") for w in s.warnings)
    assert any(w.startswith("unstable: stdev is 55% of the median") for w in s.warnings)
    assert not any(w.startswith("outliers") for w in s.warnings)


def test_steady_samples_have_no_warnings() -> None:
    s = LatencyStats.from_ns([100_000] * 40, warmup=0)
    assert (s.median, s.p99, s.stdev, s.iqr) == (100.0, 100.0, 0.0, 0.0)
    assert s.warnings == ()


def test_outlier_warning() -> None:
    s = LatencyStats.from_ns([100_000] * 99 + [2_000_000], warmup=0)
    assert s.median == 100.0
    assert any(w.startswith("outliers: the slowest run (2000.0 us) is 20x") for w in s.warnings)


def test_single_sample_and_empty() -> None:
    s = LatencyStats.from_ns([1500], warmup=0)
    assert s.median == 1.5 and math.isnan(s.stdev)
    with pytest.raises(ValueError, match="at least one"):
        LatencyStats.from_ns([], warmup=0)


def test_to_dict_keys() -> None:
    s = LatencyStats.from_ns([1000, 2000, 3000], warmup=2)
    d = s.to_dict()
    assert list(d) == ["unit", "n", "warmup", "min", "max", "median", "p90", "p99", "mean",
                       "stdev", "iqr", "samples", "warnings"]
    assert d["samples"] == [1.0, 2.0, 3.0]
    assert "samples" not in s.to_dict(include_samples=False)
    assert LatencyStats.from_us(d["samples"], warmup=2) == s


def _counter() -> tuple[list[int], object]:
    calls = [0]

    def fn() -> None:
        calls[0] += 1

    return calls, fn


def test_measure_obeys_min_runs() -> None:
    calls, fn = _counter()
    settings = LatencySettings(warmup_runs=4, warmup_seconds=0, min_runs=7, min_seconds=0,
                               max_runs=100)
    s = timing.measure(fn, settings)  # type: ignore[arg-type]
    assert (s.warmup, s.n, len(s.samples)) == (4, 7, 7)
    assert calls[0] == 11


def test_measure_is_capped_by_max_runs() -> None:
    calls, fn = _counter()
    settings = LatencySettings(warmup_runs=0, warmup_seconds=0, min_runs=5, min_seconds=60,
                               max_runs=12, max_seconds=60)
    s = timing.measure(fn, settings)  # type: ignore[arg-type]
    assert (s.warmup, s.n, calls[0]) == (0, 12, 12)


def test_measure_is_capped_by_max_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_clock() -> Iterator[int]:
        t = 0
        while True:
            t += 300_000_000  # every reading is 0.3 s later
            yield t

    ticks = fake_clock()
    monkeypatch.setattr(timing.time, "perf_counter_ns", lambda: next(ticks))
    calls, fn = _counter()
    settings = LatencySettings(warmup_runs=0, warmup_seconds=0, min_runs=50, min_seconds=0.5,
                               max_runs=100, max_seconds=1.0)
    s = timing.measure(fn, settings)  # type: ignore[arg-type]
    assert s.n == 2 and calls[0] == 2
    assert s.samples == (300_000.0, 300_000.0)
    assert s.warnings[0] == "stopped at max_seconds=1 after 2 runs, before min_runs=50"


def test_measure_once_ns() -> None:
    elapsed, value = timing.measure_once_ns(lambda: 42)
    assert value == 42 and isinstance(elapsed, int) and elapsed >= 0


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"min_runs": 20, "max_runs": 10}, "min_runs must not exceed max_runs"),
        ({"min_seconds": 5.0, "max_seconds": 1.0}, "min_seconds must not exceed max_seconds"),
        ({"warmup_runs": -1}, "warmup_runs=-1"),
        ({"max_seconds": float("nan")}, "max_seconds=nan"),
        ({"max_runs": 0, "min_runs": 0}, "max_runs and max_seconds must be positive"),
    ],
)
def test_settings_validation(kwargs: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        LatencySettings(**kwargs)
    assert needle in str(exc.value)


def test_settings_to_dict() -> None:
    assert LatencySettings().to_dict() == {
        "warmup_runs": 10, "warmup_seconds": 0.1, "min_runs": 50, "min_seconds": 0.5,
        "max_runs": 10000, "max_seconds": 10.0,
    }


def test_identical_samples_are_not_significant() -> None:
    x = np.arange(1.0, 31.0)
    c = compare_samples(x, x.copy())
    assert c.ratio_of_medians == 1.0
    assert c.p_value == 1.0  # U equals its mean: |U - mu| - 0.5 < 0
    assert not c.significant
    assert c.describe() == ("median 15.5 us vs 15.5 us: 1.000x, about the same "
                            "(p=1, not significant at alpha=0.05)")


def test_all_tied_samples() -> None:
    c = compare_samples([5.0] * 10, [5.0] * 12)
    assert c.p_value == 1.0 and not c.significant


def test_clearly_separated_samples_are_significant() -> None:
    base = np.arange(10.0, 20.0)
    cand = base + 100.0
    c = compare_samples(base, cand)
    # U = 0, mu = 50, sigma^2 = 10*10/12 * 21 = 175
    expected = math.erfc((50 - 0.5) / math.sqrt(175) / math.sqrt(2))
    assert c.p_value == pytest.approx(expected)
    assert c.p_value < 1e-3 and c.significant
    assert c.ratio_of_medians == pytest.approx(114.5 / 14.5)
    assert c.describe().startswith("median 114.5 us vs 14.5 us: 7.90x slower (p=")
    assert compare_samples(cand, base).describe().startswith("median 14.5 us vs 114.5 us: 7.90x "
                                                              "faster")


def test_tie_correction_by_hand() -> None:
    # ranks of [1,1,2 | 2,3,3]: 1.5,1.5,3.5 | 3.5,5.5,5.5 -> U = 6.5 - 6 = 0.5, mu = 4.5
    # ties: three pairs -> sum(t^3 - t) = 18; sigma^2 = 9/12 * (7 - 18/30) = 4.8
    u, p = mann_whitney_u([1, 1, 2], [2, 3, 3])
    assert u == 0.5
    assert p == pytest.approx(math.erfc((4.0 - 0.5) / math.sqrt(4.8) / math.sqrt(2)))


def test_matches_scipy_when_available() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(100, 5, 40))
    y = np.round(rng.normal(103, 5, 35))
    ref = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
    u, p = mann_whitney_u(x, y)
    assert u == pytest.approx(ref.statistic)
    assert p == pytest.approx(ref.pvalue)


def test_compare_samples_errors() -> None:
    with pytest.raises(ValueError, match="baseline_us must hold at least one"):
        compare_samples([], [1.0])
    with pytest.raises(ValueError, match="candidate_us must hold finite"):
        compare_samples([1.0], [float("nan")])
    with pytest.raises(ValueError, match="alpha"):
        compare_samples([1.0], [1.0], alpha=0)


def test_comparison_to_dict() -> None:
    d = compare_samples([1.0, 2.0], [2.0, 4.0]).to_dict()
    assert d["test"] == "Mann-Whitney U (two-sided, normal approx.)"
    assert d["ratio_of_medians"] == 2.0 and d["n_baseline"] == 2
    assert set(d) >= {"ratio_of_medians", "p_value", "significant"}
