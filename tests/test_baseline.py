"""Baseline regressions on synthetic results documents (fast, no TensorFlow)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tflbench import baseline, results
from tflbench.baseline import Policy
from tflbench.errors import ConfigError, GateError


def latency(median: float, spread: float, seed: int, n: int = 200) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    samples = (median + rng.normal(0.0, spread, n)).round(3).tolist()
    return {"unit": "us", "n": n, "median": float(np.median(samples)),
            "p90": float(np.percentile(samples, 90)), "samples": samples, "warnings": []}


def make_doc(*, accuracy: float = 0.97, top1: float = 0.99, lat: dict[str, Any] | None = None,
             status: str = "ok", host: str = "ci-1", runtime: str = "2.3.0") -> dict[str, Any]:
    env = {"hostname": host, "cpu_model": "Xeon", "runtime": {"name": "ai_edge_litert",
                                                               "version": runtime}}
    rec = {"mode": "int8", "status": status, "error": None if status == "ok" else "boom",
           "stage": None if status == "ok" else "convert",
           "agreement": {"top1": top1} if status == "ok" else None,
           "accuracy": {"accuracy": accuracy} if status == "ok" else None,
           "latency": (lat or latency(100.0, 2.0, 0)) if status == "ok" else None}
    doc = results.new_document(env, {"num_threads": 1, "xnnpack": True})
    doc["models"] = [{"name": "digits-cnn", "source": "recipe:digits-cnn",
                      "dataset": {"fingerprint": "abc"}, "modes": [rec]}]
    return doc


def by_metric(b: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["metric"]: c for c in b["changes"]}


def test_identical_runs_pass_without_warnings() -> None:
    doc = make_doc()
    b = baseline.compare(doc, copy.deepcopy(doc))
    assert b["passed"] and b["warnings"] == []
    assert set(by_metric(b)) == {"accuracy", "top1_agreement", "latency_p50_us"}
    baseline.enforce(b)


def test_accuracy_regression_fails_with_one_line() -> None:
    b = baseline.compare(make_doc(accuracy=0.94), make_doc(accuracy=0.97))
    assert not b["passed"]
    assert baseline.failure_lines(b) == [
        "digits-cnn/int8: accuracy 0.970 -> 0.940 (-0.030), drop 0.030 > 0.010 "
        "(max_accuracy_drop)"]
    with pytest.raises(GateError) as info:
        baseline.enforce(b)
    assert len(info.value.lines) == 1


def test_significant_latency_regression_fails() -> None:
    before = make_doc(lat=latency(100.0, 2.0, 1))
    after = make_doc(lat=latency(130.0, 2.0, 2))
    b = baseline.compare(after, before)
    lat = by_metric(b)["latency_p50_us"]
    assert lat["significant"] is True and lat["passed"] is False
    assert lat["p_value"] < 0.05
    assert lat["line"].startswith("digits-cnn/int8: latency p50 100.0 us -> 129.9 us (+29.9%, p=")
    assert lat["line"].endswith(" significant) > +10% (max_latency_increase)")


def test_latency_change_within_noise_passes() -> None:
    # +12% median but the spread is huge: the test cannot tell the runs apart.
    before = make_doc(lat=latency(100.0, 60.0, 3, n=8))
    after = copy.deepcopy(before)
    after["models"][0]["modes"][0]["latency"] = {
        **before["models"][0]["modes"][0]["latency"],
        "samples": [s * 1.12 for s in before["models"][0]["modes"][0]["latency"]["samples"]],
        "median": before["models"][0]["modes"][0]["latency"]["median"] * 1.12}
    b = baseline.compare(after, before)
    lat = by_metric(b)["latency_p50_us"]
    assert lat["after"] > lat["before"] * 1.1
    assert lat["significant"] is False and lat["passed"] is True
    assert "not significant" in lat["line"]


def test_significant_but_small_latency_change_passes() -> None:
    b = baseline.compare(make_doc(lat=latency(104.0, 0.5, 5)), make_doc(lat=latency(100.0, 0.5, 6)))
    lat = by_metric(b)["latency_p50_us"]
    assert lat["significant"] is True and lat["passed"] is True


def test_latency_without_samples_is_not_tested() -> None:
    after = make_doc(lat={"median": 500.0, "p90": 600.0, "samples": []})
    b = baseline.compare(after, make_doc())
    lat = by_metric(b)["latency_p50_us"]
    assert lat["passed"] and lat["significant"] is None and "not tested" in lat["line"]


def test_mode_that_now_fails_is_a_regression() -> None:
    b = baseline.compare(make_doc(status="failed"), make_doc())
    assert baseline.failure_lines(b) == [
        "digits-cnn/int8: ran in the baseline but now failed at stage convert: boom"]


def test_different_machine_and_runtime_warn_but_do_not_fail() -> None:
    b = baseline.compare(make_doc(host="laptop", runtime="2.4.0"), make_doc())
    assert b["passed"]
    text = " ".join(b["warnings"])
    assert "different machine" in text and "runtime" in text


def test_missing_modes_warn() -> None:
    before = make_doc()
    after = make_doc()
    after["models"][0]["modes"] = []
    b = baseline.compare(after, before)
    assert b["missing"] == ["digits-cnn/int8"] and any("not in this run" in w
                                                       for w in b["warnings"])


def test_policy_thresholds_apply() -> None:
    b = baseline.compare(make_doc(accuracy=0.94), make_doc(accuracy=0.97),
                         Policy(max_accuracy_drop=0.05))
    assert b["passed"]
    with pytest.raises(ConfigError, match="alpha"):
        Policy(alpha=1.5)


def test_apply_loads_the_file_and_stores_the_result(tmp_path: Path) -> None:
    path = results.save(make_doc(accuracy=0.99), tmp_path / "base.json")
    doc = make_doc(accuracy=0.90)
    out = baseline.apply(doc, path)
    assert doc["baseline"] is out and out["path"] == str(path)
    assert not out["passed"]
    results.validate(doc)


def test_failure_lines_can_be_filtered_by_model_and_mode() -> None:
    b = baseline.compare(make_doc(accuracy=0.90), make_doc())
    assert baseline.failure_lines(b, only=[("digits-cnn", "fp32")]) == []
    assert len(baseline.failure_lines(b, only=[("digits-cnn", "int8")])) == 1
