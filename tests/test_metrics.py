"""Metrics against hand-computed values on tiny arrays."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys

import numpy as np
import pytest

from tflbench import metrics
from tflbench.errors import ConfigError, DataError, ModelFileError, RuntimeBackendError

REF = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1]], dtype=np.float32)
FLIP = np.array([[0.3, 0.6, 0.1], [0.2, 0.7, 0.1]], dtype=np.float32)


def test_identical_outputs_agree_perfectly() -> None:
    a = metrics.agreement(REF, REF.copy(), k=2)
    assert (a.n, a.top1, a.top_k, a.k) == (2, 1.0, 1.0, 2)
    assert a.max_abs_diff == 0.0 and a.mean_abs_diff == 0.0
    assert a.sqnr_db == math.inf
    assert a.cosine == pytest.approx(1.0)
    assert a.kl_divergence == pytest.approx(0.0, abs=1e-12)
    assert a.flipped == ()


def test_known_flip() -> None:
    a = metrics.agreement(REF, FLIP, k=1)
    assert a.top1 == 0.5
    assert a.flipped == (0,) and a.n_flipped == 1
    assert a.top_k == 0.5  # k=1: same as top-1
    assert metrics.agreement(REF, FLIP, k=2).top_k == 1.0  # class 1 is the reference's 2nd
    assert a.max_abs_diff == pytest.approx(0.3)
    assert a.mean_abs_diff == pytest.approx(0.6 / 6)
    # signal = 0.36+0.09+0.01+0.04+0.49+0.01 = 1.0, noise = 0.09+0.09 = 0.18
    assert a.sqnr_db == pytest.approx(10 * math.log10(1.0 / 0.18), rel=1e-5)
    # row 0: dot 0.37 over |r||c| = 0.46; row 1: identical
    assert a.cosine == pytest.approx((0.37 / 0.46 + 1.0) / 2, rel=1e-5)
    # row 0: 0.6 ln(0.6/0.3) + 0.3 ln(0.3/0.6) = 0.3 ln 2; row 1: 0
    assert a.kl_divergence == pytest.approx(0.3 * math.log(2) / 2, rel=1e-4)


def test_known_sqnr() -> None:
    a = metrics.agreement(np.array([[1.0, 0.0]]), np.array([[0.9, 0.0]]))
    assert a.sqnr_db == pytest.approx(20.0)  # signal 1, noise 0.01
    assert metrics.sqnr_db(np.zeros((1, 2)), np.ones((1, 2))) == -math.inf


def test_kl_clips_zero_probabilities() -> None:
    a = metrics.agreement(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]), eps=1e-7)
    q = np.array([1.0, 1e-7]) / (1 + 1e-7)
    expected = 0.5 * math.log(0.5 / q[0]) + 0.5 * math.log(0.5 / q[1])
    assert a.kl_divergence == pytest.approx(expected)
    assert math.isfinite(a.kl_divergence)


def test_cosine_of_zero_rows() -> None:
    assert metrics.agreement(np.zeros((1, 3)), np.zeros((1, 3))).cosine == 1.0
    assert metrics.agreement(np.zeros((1, 3)), np.array([[0.0, 1.0, 0.0]])).cosine == 0.0


def test_ties_break_as_argmax_on_both_sides_and_k_is_capped() -> None:
    ref = np.array([[0.4, 0.3, 0.3]])
    cand = np.array([[0.1, 0.1, 0.8]])
    # class 2 ties class 1 for the 2nd-best reference score; argmax order puts class 1 first,
    # so class 2 ranks 3rd: outside the top 2, inside the top 3.
    assert metrics.agreement(ref, cand, k=2).top_k == 0.0
    assert metrics.agreement(ref, cand, k=3).top_k == 1.0
    assert metrics.agreement(ref, cand, k=10).k == 3
    # class 1 ties for 2nd and comes first: inside the top 2.
    assert metrics.agreement(ref, np.array([[0.1, 0.8, 0.1]]), k=2).top_k == 1.0


def test_top1_equals_top_k_with_k_1_under_exact_ties() -> None:
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 4, size=(500, 5)).astype(np.float64)  # many exact ties
    cand = rng.integers(0, 4, size=(500, 5)).astype(np.float64)
    a = metrics.agreement(ref, cand, k=1)
    assert a.top_k == a.top1


def test_agreement_to_dict_matches_schema() -> None:
    d = metrics.agreement(REF, FLIP, k=2).to_dict()
    assert list(d) == ["n", "top1", "top_k", "k", "max_abs_diff", "mean_abs_diff", "sqnr_db",
                       "cosine", "kl_divergence", "flipped"]
    assert d["flipped"] == [0]


@pytest.mark.parametrize(
    ("ref", "cand", "needle"),
    [
        (np.zeros((2, 3)), np.zeros((2, 4)), "(2, 3) and candidate (2, 4)"),
        (np.zeros((2, 3)), np.zeros((3, 3)), "(2, 3) and candidate (3, 3)"),
        (np.zeros(3), np.zeros(3), "Received shape (3,)"),
        (np.zeros((0, 3)), np.zeros((0, 3)), "Received shape (0, 3)"),
    ],
)
def test_agreement_shape_errors(ref: np.ndarray, cand: np.ndarray, needle: str) -> None:
    with pytest.raises(DataError) as exc:
        metrics.agreement(ref, cand)
    assert needle in str(exc.value)


def test_agreement_rejects_bad_k() -> None:
    with pytest.raises(ConfigError, match="k=0"):
        metrics.agreement(REF, REF, k=0)


def test_nan_outputs_raise_runtime_error() -> None:
    bad = FLIP.copy()
    bad[1, 2] = np.nan
    with pytest.raises(RuntimeBackendError, match="the candidate model produced 1 NaN/inf values "
                                                  "out of 6"):
        metrics.agreement(REF, bad)


def test_check_finite() -> None:
    metrics.check_finite(np.array([1, 2, 3]), "ints")  # integer arrays are always finite
    metrics.check_finite(np.ones(3), "ones")
    with pytest.raises(RuntimeBackendError, match=r"^int8 model produced 2 NaN/inf values out "
                                                  r"of 4; .*try another mode"):
        metrics.check_finite(np.array([np.inf, 1.0, -np.inf, 0.0]), "int8 model")


Y_TRUE = np.array([0, 0, 1, 1, 1])
PRED = np.array([0, 1, 1, 1, 0])


def test_classification_with_an_empty_class() -> None:
    c = metrics.classification(Y_TRUE, PRED, num_classes=3)
    assert c.accuracy == pytest.approx(3 / 5)
    assert c.support == (2, 3, 0)
    assert c.confusion == ((1, 1, 0), (1, 2, 0), (0, 0, 0))
    assert c.per_class_accuracy[:2] == pytest.approx((0.5, 2 / 3))
    assert math.isnan(c.per_class_accuracy[2])
    assert c.n == 5 and c.num_classes == 3
    assert set(c.to_dict()) == {"accuracy", "per_class_accuracy", "support", "confusion"}


def test_classification_from_probabilities_equals_from_labels() -> None:
    probs = np.eye(3, dtype=np.float32)[PRED] * 0.8 + 0.05
    a = metrics.classification(Y_TRUE, probs, num_classes=3)
    b = metrics.classification(Y_TRUE, PRED, num_classes=3)
    assert a.confusion == b.confusion and a.accuracy == b.accuracy


@pytest.mark.parametrize(
    ("y", "p", "needle"),
    [
        (np.array([0, 3]), np.array([0, 1]), "y_true must be class indices in [0, 2]"),
        (np.array([0, 1]), np.array([0, 1, 1]), "same number of samples"),
        (np.array([0, 1]), np.zeros((2, 4)), "4 classes but num_classes=3"),
        (np.array([[1, 0, 0]]), np.array([0]), "argmax(axis=1)"),
        (np.array([0.5, 1.0]), np.array([0, 1]), "non-integer"),
    ],
)
def test_classification_input_errors(y: np.ndarray, p: np.ndarray, needle: str) -> None:
    with pytest.raises(DataError) as exc:
        metrics.classification(y, p, num_classes=3)
    assert needle in str(exc.value)


def test_class_delta_and_accuracy_record() -> None:
    ref = metrics.classification(Y_TRUE, Y_TRUE, num_classes=3)  # perfect
    cand = metrics.classification(Y_TRUE, PRED, num_classes=3)
    names = ["zero", "one", "two"]
    d = metrics.class_delta(cand, ref, names)
    assert d.accuracy_delta == pytest.approx(-0.4)
    assert d.per_class_delta[:2] == pytest.approx((-0.5, -1 / 3))
    assert math.isnan(d.per_class_delta[2])
    assert (d.worst_index, d.worst_name, d.worst_delta) == (0, "zero", -0.5)

    rec = metrics.accuracy_record(cand, ref, names)
    assert set(rec) == {"accuracy", "accuracy_delta", "per_class_accuracy", "per_class_delta",
                        "support", "worst_class", "confusion"}
    assert rec["worst_class"] == {"index": 0, "name": "zero", "delta": -0.5}
    assert rec["support"] == [2, 3, 0]


def test_worst_class_ignores_classes_without_support() -> None:
    # class 0 improves, class 1 unchanged, class 2 has no samples (NaN delta)
    ref = metrics.classification(np.array([0, 0, 1]), np.array([1, 1, 1]), num_classes=3)
    cand = metrics.classification(np.array([0, 0, 1]), np.array([0, 1, 1]), num_classes=3)
    d = metrics.class_delta(cand, ref, None)
    assert (d.worst_index, d.worst_name, d.worst_delta) == (1, "1", 0.0)


def test_class_delta_errors() -> None:
    a = metrics.classification(np.array([0, 1]), np.array([0, 1]), num_classes=2)
    b = metrics.classification(np.array([0, 0]), np.array([0, 1]), num_classes=2)
    with pytest.raises(DataError, match="different labels"):
        metrics.class_delta(a, b, None)
    with pytest.raises(DataError, match="class_names has 3 entries"):
        metrics.class_delta(a, a, ["a", "b", "c"])


def test_size_record(tmp_path) -> None:
    rec = metrics.size_record(b"abc", 6)
    assert rec == {"size_bytes": 3, "sha256": hashlib.sha256(b"abc").hexdigest(),
                   "size_ratio": 0.5}
    f = tmp_path / "m.tflite"
    f.write_bytes(b"abcd")
    rec = metrics.size_record(f, None)
    assert rec["path"] == str(f) and rec["size_bytes"] == 4 and rec["size_ratio"] is None
    with pytest.raises(ModelFileError, match="missing.tflite"):
        metrics.size_record(tmp_path / "missing.tflite", 10)


def test_metrics_and_timing_do_not_import_tensorflow() -> None:
    code = ("import sys, tflbench.metrics, tflbench.timing; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
