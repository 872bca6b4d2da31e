"""Wilson, Newcombe method 10, exact McNemar, Holm and the samples-needed figures.

Hand-worked values carry their arithmetic in comments (z = 1.959964, z^2 = 3.841459 at 95%).
scipy and statsmodels are only used as cross-checks and skip the test when missing.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from tflbench.stats import (
    ClassPaired,
    PairedAccuracy,
    PairedTable,
    holm,
    mcnemar_exact_p,
    paired_accuracy,
    paired_difference_interval,
    paired_samples_needed,
    paired_table,
    per_class_paired,
    samples_needed,
    wilson_interval,
    z_value,
)

Z = 1.959963984540054
Z2 = Z * Z


# ------------------------------------------------------------------------------------------- z


def test_z_value() -> None:
    assert z_value() == pytest.approx(Z, abs=1e-15)
    assert z_value(0.90) == pytest.approx(1.6448536269514722, abs=1e-14)
    assert z_value(0.99) == pytest.approx(2.5758293035489004, abs=1e-14)


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5, -0.1, 95, math.nan, True, "0.95"])
def test_z_value_rejects_bad_confidence(bad: object) -> None:
    with pytest.raises(ValueError, match="confidence"):
        z_value(bad)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------- Wilson


def test_wilson_8_of_10_by_hand() -> None:
    # centre = (8 + z^2/2) / (10 + z^2) = 9.920729 / 13.841459 = 0.716740
    # half   = z / 13.841459 * sqrt(8 * 2 / 10 + z^2 / 4) = z * sqrt(2.560365) / 13.841459
    #        = 1.959964 * 1.600114 / 13.841459 = 0.226578
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.716740 - 0.226578, abs=2e-6)
    assert hi == pytest.approx(0.716740 + 0.226578, abs=2e-6)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)


def test_wilson_extremes_by_hand() -> None:
    # 0 successes: centre = half = (z^2 / 2) / (n + z^2), so (0, z^2 / (n + z^2)).
    assert wilson_interval(0, 10) == (0.0, pytest.approx(Z2 / (10 + Z2), rel=1e-12))
    assert wilson_interval(0, 10)[1] == pytest.approx(0.277533, abs=1e-6)
    # all successes mirror it: (1 - z^2 / (n + z^2), 1).
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0
    assert lo == pytest.approx(1 - Z2 / (10 + Z2), rel=1e-12)


def test_wilson_empty_is_uninformative() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 0, confidence=0.5) == (0.0, 1.0)


@pytest.mark.parametrize("n", [1, 2, 7, 30, 1000, 123_457])
def test_wilson_contains_point_estimate_and_stays_in_unit_interval(n: int) -> None:
    for x in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        lo, hi = wilson_interval(x, n)
        assert 0.0 <= lo <= x / n <= hi <= 1.0
        assert lo < hi


def test_wilson_narrows_with_n_and_widens_with_confidence() -> None:
    widths = [np.subtract(*wilson_interval(8 * k, 10 * k)[::-1]) for k in (1, 10, 100, 1000)]
    assert all(a > b for a, b in zip(widths, widths[1:], strict=False))
    w90, w95, w99 = (
        np.subtract(*wilson_interval(80, 100, c)[::-1]) for c in (0.90, 0.95, 0.99)
    )
    assert w90 < w95 < w99


def test_wilson_symmetry() -> None:
    lo, hi = wilson_interval(3, 17)
    lo2, hi2 = wilson_interval(14, 17)
    assert (lo, hi) == pytest.approx((1 - hi2, 1 - lo2), abs=1e-15)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 10), "Received: successes=-1"),
        ((1, -1), "Received: n=-1"),
        ((11, 10), "Received: successes=11, n=10"),
        ((8.0, 10), "Received: successes=8.0"),
        ((True, 10), "Received: successes=True"),
        ((8, "10"), "Received: n='10'"),
    ],
)
def test_wilson_errors_say_what_was_received(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wilson_interval(*args)


def test_wilson_accepts_numpy_integers() -> None:
    assert wilson_interval(np.int64(8), np.int32(10)) == wilson_interval(8, 10)


def test_wilson_matches_statsmodels() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    for x, n in [(8, 10), (0, 5), (5, 5), (1, 3), (970, 1000), (9_999, 10_000), (12_345, 67_890)]:
        for confidence in (0.9, 0.95, 0.99):
            lo, hi = proportion.proportion_confint(x, n, alpha=1 - confidence, method="wilson")
            assert wilson_interval(x, n, confidence) == pytest.approx((lo, hi), abs=1e-12)


# -------------------------------------------------------------------------------- paired table


def test_paired_table_counts() -> None:
    ref = np.array([True, True, True, False, False, True])
    cand = np.array([True, False, True, True, False, False])
    t = paired_table(ref, cand)
    assert t == PairedTable(a=2, b=2, c=1, d=1)
    assert (t.n, t.discordant, t.reference_correct, t.candidate_correct) == (6, 3, 4, 3)
    assert t.delta == pytest.approx(-1 / 6)  # (c - b) / n
    assert t.candidate_accuracy - t.reference_accuracy == pytest.approx(t.delta)
    assert paired_table([], []) == PairedTable(0, 0, 0, 0)
    assert math.isnan(PairedTable(0, 0, 0, 0).delta)


def test_paired_table_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="dtype int64"):
        paired_table(np.array([1, 0]), np.array([True, False]))
    with pytest.raises(ValueError, match="Received: 3 and 2"):
        paired_table(np.ones(3, bool), np.ones(2, bool))
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        paired_table(np.ones((2, 2), bool), np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="Received: b=-1"):
        PairedTable(1, -1, 0, 0)
    with pytest.raises(ValueError, match="Received: c=1.5"):
        PairedTable(1, 0, 1.5, 0)  # type: ignore[arg-type]


def test_paired_table_dict_round_trip() -> None:
    t = PairedTable(962, 8, 3, 27)
    assert PairedTable.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    with pytest.raises(ValueError, match=r"Received: \['a', 'b', 'c'\]"):
        PairedTable.from_dict({"a": 1, "b": 2, "c": 3})


def test_phi_by_hand() -> None:
    # a d - b c = 962 * 27 - 8 * 3 = 25950 > 0, corrected to 25950 - 1000 / 2 = 25450;
    # margins 970 * 30 * 965 * 35 = 982,852,500, sqrt = 31350.48; phi = 0.811790.
    assert PairedTable(962, 8, 3, 27).phi == pytest.approx(25450 / math.sqrt(982_852_500))
    # A negative numerator is not corrected: a=36, b=2, c=12, d=0 gives -24 / sqrt(43776).
    assert PairedTable(36, 2, 12, 0).phi == pytest.approx(-24 / math.sqrt(43_776))
    # A small positive numerator is corrected to 0: 5 * 5 - 4 * 4 = 9 <= n / 2 = 9.
    assert PairedTable(5, 4, 4, 5).phi == 0.0
    # Any zero margin gives 0 (nobody wrong, or nobody right, under either model).
    assert PairedTable(10, 0, 0, 0).phi == 0.0
    assert PairedTable(0, 0, 0, 10).phi == 0.0
    assert PairedTable(5, 3, 0, 0).phi == 0.0


# ------------------------------------------------------------------------- Newcombe method 10

# Newcombe (1998), Statistics in Medicine 17:2635-2650, Table III, method 10, as published to
# four decimals. His cells (e, f, g, h) and difference (f - g) / n map to ours as a = e,
# c = f (candidate only right), b = g (reference only right), d = h.
NEWCOMBE_TABLE_III = [
    ((36, 12, 2, 0), (0.0569, 0.3404)),
    ((20, 12, 2, 16), (0.0562, 0.3292)),
    ((18, 12, 2, 18), (0.0562, 0.3290)),
    ((36, 14, 0, 0), (0.1528, 0.4167)),
    ((35, 14, 0, 1), (0.1461, 0.4175)),
    ((18, 14, 0, 18), (0.1441, 0.3963)),
    ((2, 97, 1, 0), (0.8721, 0.9854)),
    ((1, 97, 1, 1), (0.8736, 0.9850)),  # ours 0.873672: the published value looks truncated
    ((0, 29, 1, 0), (0.6666, 0.9882)),
    ((2, 98, 0, 0), (0.9178, 0.9945)),
    ((1, 98, 0, 1), (0.9171, 0.9916)),
    ((0, 30, 0, 0), (0.8395, 1.0000)),
    ((54, 0, 0, 0), (-0.0664, 0.0664)),
]


@pytest.mark.parametrize(("cells", "published"), NEWCOMBE_TABLE_III)
def test_newcombe_reproduces_published_method_10(cells: tuple, published: tuple) -> None:
    e, f, g, h = cells
    lo, hi = paired_difference_interval(PairedTable(a=e, b=g, c=f, d=h))
    assert lo == pytest.approx(published[0], abs=1e-4)
    assert hi == pytest.approx(published[1], abs=1e-4)


def test_newcombe_by_hand() -> None:
    # a=36, b=2, c=12, d=0, n=50: candidate p1 = 48/50 = 0.96, reference p2 = 38/50 = 0.76,
    # delta = (12 - 2) / 50 = 0.2. Wilson: 48/50 -> (0.865399, 0.988961),
    # 38/50 -> (0.625873, 0.857026). phi = -24 / sqrt(48 * 2 * 38 * 12) = -0.114708.
    # lower = 0.2 - sqrt(0.094601^2 + 2 * 0.114708 * 0.094601 * 0.097026 + 0.097026^2)
    #       = 0.2 - sqrt(0.0089494 + 0.0021058 + 0.0094140) = 0.2 - 0.143070 = 0.056930
    # upper = 0.2 + sqrt(0.028961^2 + 2 * 0.114708 * 0.028961 * 0.134127 + 0.134127^2)
    #       = 0.2 + sqrt(0.0008387 + 0.0008912 + 0.0179900) = 0.2 + 0.140428 = 0.340428
    lo, hi = paired_difference_interval(PairedTable(36, 2, 12, 0))
    assert lo == pytest.approx(0.056930, abs=2e-6)
    assert hi == pytest.approx(0.340428, abs=2e-6)


def test_newcombe_worked_example_of_the_docs() -> None:
    # 1000 samples, reference 970 right, b=8 broken, c=3 fixed: a=962, d=27, delta=-0.005.
    # p1 = 0.965, Wilson (0.951713, 0.974728); p2 = 0.970, Wilson (0.957497, 0.978906);
    # phi = 0.811790 (test_phi_by_hand).
    # lower = -0.005 - sqrt(0.013287^2 - 2 * 0.811790 * 0.013287 * 0.008906 + 0.008906^2)
    #       = -0.005 - sqrt(0.00017654 - 0.00019213 + 0.00007932) = -0.005 - 0.007983
    # upper = -0.005 + sqrt(0.009728^2 - 2 * 0.811790 * 0.009728 * 0.012503 + 0.012503^2)
    #       = -0.005 + sqrt(0.00009463 - 0.00019748 + 0.00015633) = -0.005 + 0.007313
    lo, hi = paired_difference_interval(PairedTable(962, 8, 3, 27))
    assert lo == pytest.approx(-0.012983, abs=3e-6)
    assert hi == pytest.approx(0.002313, abs=3e-6)


def test_newcombe_edges() -> None:
    assert paired_difference_interval(PairedTable(0, 0, 0, 0)) == (-1.0, 1.0)
    # All correct or all wrong: phi = 0 and both margins have the Wilson half z^2 / (n + z^2).
    for t in (PairedTable(54, 0, 0, 0), PairedTable(0, 0, 0, 54)):
        lo, hi = paired_difference_interval(t)
        assert (lo, hi) == pytest.approx((-Z2 / (54 + Z2), Z2 / (54 + Z2)), rel=1e-12)
    # The candidate gets everything the reference missed and vice versa: clipped to [-1, 1].
    lo, hi = paired_difference_interval(PairedTable(0, 0, 30, 0))
    assert hi == 1.0 and lo == pytest.approx(0.8395, abs=1e-4)
    lo, hi = paired_difference_interval(PairedTable(0, 30, 0, 0))
    assert lo == -1.0 and hi == pytest.approx(-0.8395, abs=1e-4)


def test_newcombe_no_discordant_pairs_is_narrow_and_centred() -> None:
    lo, hi = paired_difference_interval(PairedTable(500, 0, 0, 500))
    assert lo == pytest.approx(-hi, abs=1e-15)
    assert 0 < hi < 0.01


def test_newcombe_swapping_models_mirrors_the_interval() -> None:
    for a, b, c, d in [(962, 8, 3, 27), (36, 2, 12, 0), (5, 4, 4, 5), (0, 3, 1, 0)]:
        lo, hi = paired_difference_interval(PairedTable(a, b, c, d))
        lo2, hi2 = paired_difference_interval(PairedTable(a, c, b, d))
        assert (lo2, hi2) == pytest.approx((-hi, -lo), abs=1e-15)


def test_newcombe_contains_delta_and_narrows_with_n() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        a, b, c, d = (int(x) for x in rng.integers(0, 40, 4))
        t = PairedTable(a, b, c, d)
        if t.n == 0:
            continue
        lo, hi = paired_difference_interval(t)
        assert -1.0 <= lo <= t.delta <= hi <= 1.0
    widths = []
    for k in (1, 10, 100, 1000):
        lo, hi = paired_difference_interval(PairedTable(90 * k, 4 * k, 2 * k, 4 * k))
        widths.append(hi - lo)
    assert all(w1 > w2 for w1, w2 in zip(widths, widths[1:], strict=False))


def test_newcombe_is_close_to_wald_for_large_tables() -> None:
    # Wald: delta +- z * sqrt((b + c) / n - delta^2) / sqrt(n).
    t = PairedTable(900_000, 6_000, 5_000, 89_000)
    lo, hi = paired_difference_interval(t)
    half = Z * math.sqrt((11_000 / 1e6 - t.delta**2) / 1e6)
    assert (lo, hi) == pytest.approx((t.delta - half, t.delta + half), abs=2e-5)


def test_newcombe_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="Received: tuple"):
        paired_difference_interval((1, 2, 3, 4))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Received: confidence=2"):
        paired_difference_interval(PairedTable(0, 0, 0, 0), confidence=2)


# ------------------------------------------------------------------------------------- McNemar


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (1, 9, 22 / 1024),  # 2 * (C(10,0) + C(10,1)) / 2^10 = 2 * 11 / 1024 = 0.021484375
        (9, 1, 22 / 1024),  # symmetric
        (0, 5, 2 / 32),  # 2 * 1 / 2^5 = 0.0625: five discordant pairs cannot reach p < 0.05
        (0, 6, 2 / 64),  # 0.03125
        (8, 3, 464 / 2048),  # 2 * (1 + 11 + 55 + 165) / 2^11 = 0.2265625 (the docs' example)
        (2, 10, 2 * 79 / 4096),  # 2 * (1 + 12 + 66) / 2^12 = 0.03857421875
        (0, 0, 1.0),
        (3, 3, 1.0),
        (4, 5, 1.0),  # P(X <= 4 | 9) = 1/2 exactly, doubled = 1
        (0, 1, 1.0),
    ],
)
def test_mcnemar_by_hand(b: int, c: int, expected: float) -> None:
    assert mcnemar_exact_p(b, c) == expected


def test_mcnemar_matches_scipy_binomtest() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    cases = [(int(b), int(c)) for b, c in rng.integers(0, 60, (150, 2))]
    cases += [(470, 530), (480, 520), (499, 501), (500, 501), (0, 1001), (200, 850)]
    cases += [(4_800, 5_200), (9_500, 10_500), (99_000, 101_000), (499_000, 501_000)]
    cases += [(499_500, 500_500), (3, 999_997), (1_000, 1_200)]
    for b, c in cases:
        expected = stats.binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
        assert mcnemar_exact_p(b, c) == pytest.approx(expected, rel=1e-8, abs=1e-300), (b, c)


def test_mcnemar_log_space_path_agrees_with_exact_integers() -> None:
    # Up to 1000 discordant pairs the tail is an exact integer sum; above, it is summed in log
    # space. Run the log-space sum on small tables and compare it with the exact value.
    from tflbench.stats import _log_binomial_half_cdf

    for b, c in [(0, 10), (3, 8), (1, 9), (100, 900), (470, 530), (480, 519), (0, 1000)]:
        log_space = min(1.0, 2 * math.exp(_log_binomial_half_cdf(min(b, c), b + c)))
        assert log_space == pytest.approx(mcnemar_exact_p(b, c), rel=1e-10, abs=1e-300)


def test_mcnemar_large_n_is_stable() -> None:
    # 10^6 discordant pairs, exactly balanced: p = 1; one sigma (500 pairs) off: p ~ 0.317.
    assert mcnemar_exact_p(500_000, 500_000) == 1.0
    assert mcnemar_exact_p(499_500, 500_500) == pytest.approx(0.3178, abs=1e-3)
    # Far out in the tail the p value underflows to 0, never to NaN or a negative number.
    assert mcnemar_exact_p(400_000, 600_000) == 0.0


def test_mcnemar_matches_statsmodels() -> None:
    tables = pytest.importorskip("statsmodels.stats.contingency_tables")
    for a, b, c, d in [(962, 8, 3, 27), (10, 1, 9, 5), (50, 0, 0, 50), (3, 40, 25, 2)]:
        expected = tables.mcnemar([[a, b], [c, d]], exact=True).pvalue
        assert mcnemar_exact_p(b, c) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("args", "message"), [((-1, 3), "Received: b=-1"), ((1, 2.5), "Received: c=2.5")]
)
def test_mcnemar_rejects_bad_input(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mcnemar_exact_p(*args)


# ---------------------------------------------------------------------------------------- Holm


def test_holm_by_hand() -> None:
    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> max 0.06.
    # reject: 0.005 <= 0.05/4 yes, 0.01 <= 0.05/3 yes, 0.03 <= 0.05/2 no -> stop.
    r = holm([0.01, 0.04, 0.03, 0.005])
    assert r.adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert r.reject == (True, False, False, True)
    assert r.any_rejected
    assert r.pvalues == (0.01, 0.04, 0.03, 0.005)
    assert json.loads(json.dumps(r.to_dict()))["reject"] == [True, False, False, True]


def test_holm_is_capped_monotone_and_handles_ties() -> None:
    assert holm([0.5, 0.6]).adjusted == (1.0, 1.0)  # 2 * 0.5 = 1.0, then max(1.0, 0.6)
    r = holm([0.02, 0.02, 0.02])  # every one 3 * 0.02 = 0.06 after the running max
    assert r.adjusted == pytest.approx((0.06, 0.06, 0.06))
    assert r.reject == (False, False, False)
    p = np.random.default_rng(3).uniform(0, 0.2, 50)
    r = holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(np.array(r.adjusted)[order]) >= 0)
    assert all(q >= x for q, x in zip(r.adjusted, p, strict=True))


def test_holm_empty_and_single() -> None:
    assert holm([]).adjusted == ()
    assert holm([]).reject == ()
    r = holm([0.04])
    assert (r.adjusted, r.reject) == ((0.04,), (True,))


def test_holm_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"Received: \[1.5\] at positions \[1\]"):
        holm([0.1, 1.5])
    with pytest.raises(ValueError, match=r"Received: \[nan\]"):
        holm([math.nan])
    with pytest.raises(ValueError, match="alpha"):
        holm([0.1], alpha=0)
    with pytest.raises(ValueError, match=r"shape \(2, 1\)"):
        holm([[0.1], [0.2]])  # type: ignore[list-item]


def test_holm_matches_statsmodels() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(11)
    for m in (1, 3, 10, 40):
        for _ in range(3):
            p = rng.uniform(0, 0.08, m) ** rng.uniform(0.5, 2)
            p[rng.integers(0, m)] = p[0]  # a tie
            for alpha in (0.01, 0.05):
                reject, adjusted, _, _ = multitest.multipletests(p, alpha=alpha, method="holm")
                r = holm(p, alpha)
                assert r.reject == tuple(bool(x) for x in reject)
                assert r.adjusted == pytest.approx(tuple(adjusted), abs=1e-15)


# ------------------------------------------------------------------------------ samples needed


def _half_width(p: float, n: int) -> float:
    # the Wilson half-width at an observed proportion p, straight from the interval's formula
    return Z / (n + Z2) * math.sqrt(n * p * (1 - p) + Z2 / 4)


def test_samples_needed_by_hand() -> None:
    # p = 1/2: 1 - 4pq = 0, so n* = z^2 (1/4 - 2t^2 + 1/4) / (2t^2) = z^2 (1 / (4t^2) - 1)
    #        = 3.841459 * 9999 = 38410.7 -> 38411 (the normal approximation says 38415).
    assert samples_needed(0.005) == 38411
    # p = 0.97, t = 0.005: pq = 0.0291, sqrt(0.0291^2 + 0.005^2 * 0.8836) = 0.0294770,
    # n* = 3.841459 * (0.0291 - 0.00005 + 0.0294770) / 0.00005 = 4496.7 -> 4497.
    assert samples_needed(0.005, p=0.97) == 4497
    # p = 0: the half-width is z^2 / (2 (n + z^2)), so n* = z^2 (1 - 2t) / (2t) = 380.3 -> 381.
    assert samples_needed(0.005, p=0.0) == 381


@pytest.mark.parametrize("p", [0.0, 0.01, 0.5, 0.9, 0.97, 0.999, 1.0])
@pytest.mark.parametrize("threshold", [0.001, 0.005, 0.01, 0.02, 0.1, 0.3])
def test_samples_needed_is_the_smallest_resolving_n(p: float, threshold: float) -> None:
    n = samples_needed(threshold, p)
    assert _half_width(p, n) <= threshold
    if n > 1:
        assert _half_width(p, n - 1) > threshold


def test_samples_needed_agrees_with_wilson_interval() -> None:
    n = samples_needed(0.01, p=0.8)
    lo, hi = wilson_interval(round(0.8 * n), n)
    assert (hi - lo) / 2 == pytest.approx(0.01, abs=2e-4)


def test_samples_needed_grows_with_confidence_and_precision() -> None:
    assert samples_needed(0.01, 0.9, 0.9) < samples_needed(0.01, 0.9) < samples_needed(
        0.01, 0.9, 0.99
    )
    assert samples_needed(0.02, 0.9) < samples_needed(0.01, 0.9)
    assert samples_needed(0.5) == 1  # the Wilson half-width never exceeds 1/2


def test_paired_samples_needed_by_hand() -> None:
    # n = z^2 (pd - delta^2) / t^2 = 3.841459 * 0.011 / 0.000025 = 1690.2 -> 1691
    assert paired_samples_needed(0.005, discordance=0.011) == 1691
    # with a true change of -0.5 pp: 3.841459 * (0.011 - 0.000025) / 0.000025 = 1686.4 -> 1687
    assert paired_samples_needed(0.005, discordance=0.011, delta=-0.005) == 1687
    # no disagreement at all: nothing to resolve
    assert paired_samples_needed(0.005, discordance=0.0) == 1


def test_paired_samples_needed_matches_newcombe_for_many_discordant_pairs() -> None:
    # At the figure's n with 10% discordance (about 340 discordant pairs), Newcombe's interval
    # is within 2% of the threshold.
    n = paired_samples_needed(0.02, discordance=0.1)
    b = c = round(0.05 * n)
    a = round(0.85 * n) - b
    lo, hi = paired_difference_interval(PairedTable(a, b, c, n - a - b - c))
    assert (hi - lo) / 2 == pytest.approx(0.02, rel=0.02)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0}, "Received: threshold=0"),
        ({"threshold": 0.5, "p": 1.2}, "Received: p=1.2"),
        ({"threshold": -0.01}, "Received: threshold=-0.01"),
        ({"threshold": "0.5pp"}, "Received: threshold='0.5pp'"),
    ],
)
def test_samples_needed_rejects_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        samples_needed(**kwargs)


def test_paired_samples_needed_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="Received: delta=0.2, discordance=0.1"):
        paired_samples_needed(0.01, discordance=0.1, delta=0.2)
    with pytest.raises(ValueError, match="Received: discordance=-0.1"):
        paired_samples_needed(0.01, discordance=-0.1)


# ----------------------------------------------------------------------------------- records


def _worked_example() -> tuple[np.ndarray, np.ndarray]:
    # 962 both right, 8 broken by the candidate, 3 fixed by it, 27 both wrong.
    ref = np.array([True] * 962 + [True] * 8 + [False] * 3 + [False] * 27)
    cand = np.array([True] * 962 + [False] * 8 + [True] * 3 + [False] * 27)
    order = np.random.default_rng(5).permutation(ref.size)
    return ref[order], cand[order]


def test_paired_accuracy_worked_example() -> None:
    r = paired_accuracy(*_worked_example())
    assert r.n == 1000
    assert r.table == PairedTable(962, 8, 3, 27)
    assert r.delta == pytest.approx(-0.005)
    assert r.delta_ci95 == pytest.approx((-0.012983, 0.002313), abs=3e-6)
    assert r.mcnemar_p == 464 / 2048
    assert (r.reference_accuracy, r.candidate_accuracy) == (0.97, 0.965)
    assert not r.significant(0.05)
    assert r.describe() == (
        "accuracy 97.00% -> 96.50%: -0.50 pp (95% CI -1.30 to +0.23 pp), "
        "McNemar p=0.227 (b=8, c=3, n=1000)"
    )


def test_paired_accuracy_to_dict_is_json() -> None:
    d = paired_accuracy(*_worked_example()).to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert set(d) == {"n", "table", "delta", "delta_ci95", "mcnemar_p", "confidence"}
    assert type(d["n"]) is int and all(type(v) is int for v in d["table"].values())
    assert all(type(v) is float for v in (d["delta"], d["mcnemar_p"], *d["delta_ci95"]))


def test_paired_accuracy_from_dict_round_trip_and_tamper_check() -> None:
    r = paired_accuracy(*_worked_example(), confidence=0.9)
    assert PairedAccuracy.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    tampered = {**r.to_dict(), "mcnemar_p": 0.01}
    with pytest.raises(ValueError, match="'mcnemar_p' does not match"):
        PairedAccuracy.from_dict(tampered)
    with pytest.raises(ValueError, match="Received: list"):
        PairedAccuracy.from_dict([1, 2])


def test_paired_accuracy_edges() -> None:
    same = np.ones(50, bool)
    r = paired_accuracy(same, same)
    assert (r.delta, r.mcnemar_p) == (0.0, 1.0)
    assert r.delta_ci95 == pytest.approx((-Z2 / (50 + Z2), Z2 / (50 + Z2)))
    wrong = np.zeros(50, bool)
    assert paired_accuracy(wrong, wrong).delta_ci95 == pytest.approx(r.delta_ci95, abs=1e-15)
    broken = paired_accuracy(same, wrong)  # b = 50: the candidate gets everything wrong
    assert broken.delta == -1.0
    assert broken.delta_ci95[0] == -1.0
    assert broken.mcnemar_p == 2 / 2**50
    with pytest.raises(ValueError, match="at least one sample"):
        paired_accuracy(np.zeros(0, bool), np.zeros(0, bool))


def test_per_class_paired() -> None:
    # class 0: 20 samples, reference all right, candidate wrong on 8 -> b=8, c=0,
    #          p = 2 / 2^8 = 0.0078125; class 1: 10 samples, one broken and one fixed -> p = 1;
    # class 2: no samples. Holm over 2 tests: 2 * 0.0078125 = 0.015625, then max(., 1) = 1.
    y = np.array([0] * 20 + [1] * 10)
    ref = y.copy()
    ref[20] = 2  # reference wrong on the first class-1 sample
    cand = y.copy()
    cand[:8] = 1
    cand[21] = 0  # candidate wrong on the second class-1 sample, right on the first
    records = per_class_paired(y, ref, cand, num_classes=3)
    assert [r.class_index for r in records] == [0, 1, 2]
    c0, c1, c2 = records
    assert (c0.n, c0.table, c0.delta) == (20, PairedTable(12, 8, 0, 0), -0.4)
    assert (c0.mcnemar_p, c0.p_adjusted, c0.significant) == (2 / 256, 4 / 256, True)
    assert c0.delta_ci95 == paired_difference_interval(PairedTable(12, 8, 0, 0))
    assert (c1.n, c1.table, c1.delta) == (10, PairedTable(8, 1, 1, 0), 0.0)
    assert (c1.mcnemar_p, c1.p_adjusted, c1.significant) == (1.0, 1.0, False)
    assert c2 == ClassPaired(2, 0, PairedTable(0, 0, 0, 0), None, None, None, None, False)
    assert not c2.tested
    assert json.loads(json.dumps([r.to_dict() for r in records], allow_nan=False))[2] == {
        "class_index": 2, "n": 0, "table": {"a": 0, "b": 0, "c": 0, "d": 0}, "delta": None,
        "delta_ci95": None, "mcnemar_p": None, "p_adjusted": None, "significant": False,
    }
    # Holm at a stricter alpha keeps class 0: 0.015625 > 0.01.
    assert not per_class_paired(y, ref, cand, num_classes=3, alpha=0.01)[0].significant


def test_per_class_paired_accepts_scores() -> None:
    y = np.array([0, 1, 2, 2, 1, 0])
    ref = np.array([0, 1, 2, 1, 1, 0])
    cand = np.array([0, 2, 2, 2, 1, 1])
    by_labels = per_class_paired(y, ref, cand, 3)
    by_scores = per_class_paired(y, np.eye(3)[ref] * 0.9, np.eye(3)[cand], 3)
    assert by_labels == by_scores


def test_per_class_paired_rejects_bad_input() -> None:
    y = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="Received: num_classes=0"):
        per_class_paired(y, y, y, 0)
    with pytest.raises(ValueError, match="Received: values from 0 to 1"):
        per_class_paired(y, y, y, 1)
    with pytest.raises(ValueError, match="Received: 2 entries for 3 labels"):
        per_class_paired(y, y[:2], y, 2)
    with pytest.raises(ValueError, match=r"Received: shape \(3, 3\)"):
        per_class_paired(y, y, np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match="alpha"):
        per_class_paired(y, y, y, 2, alpha=1.0)


def test_stats_imports_neither_scipy_nor_tensorflow() -> None:
    code = (
        "import sys, tflbench.stats as s; s.mcnemar_exact_p(600, 700); "
        "print(sorted(m for m in ('scipy', 'tensorflow', 'statsmodels') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
