"""Release gates on synthetic results documents (fast, no TensorFlow)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tflbench import gates
from tflbench.errors import ConfigError, GateError
from tflbench.gates import Limits, Thresholds


def mode_record(mode: str, *, top1: float = 1.0, acc_delta: float = 0.0,
                worst: float = 0.0, size: int = 10_000, ratio: float | None = 0.3,
                p90: float = 50.0, mad: float = 1e-6, sqnr: float | None = 60.0,
                status: str = "ok") -> dict[str, Any]:
    return {
        "mode": mode, "status": status, "error": None, "stage": None,
        "conversion": {"path": "from_keras_model", "seconds": 1.0, "warnings": [],
                       "cached": False},
        "file": {"path": f"/tmp/{mode}.tflite", "size_bytes": size, "sha256": "0" * 64,
                 "size_ratio": ratio},
        "io": None,
        "agreement": {"n": 270, "top1": top1, "top_k": 1.0, "k": 5, "max_abs_diff": 0.01,
                      "mean_abs_diff": mad, "sqnr_db": sqnr, "cosine": 1.0,
                      "kl_divergence": 0.0, "flipped": []},
        "accuracy": {"accuracy": 0.97 + acc_delta, "accuracy_delta": acc_delta,
                     "per_class_accuracy": [], "per_class_delta": [], "support": [],
                     "worst_class": {"index": 3, "name": "3", "delta": worst},
                     "confusion": []},
        "latency": {"unit": "us", "n": 100, "median": 40.0, "p90": p90, "samples": []},
    }


def make_doc(*records: dict[str, Any], model: str = "digits-cnn") -> dict[str, Any]:
    return {"schema": "tflbench.results", "schema_version": 1, "created": "2026-01-01T00:00:00",
            "environment": {}, "settings": {},
            "models": [{"name": model, "source": "recipe:" + model, "modes": list(records)}],
            "recommendation": None, "baseline": None}


def test_passing_document_gives_truthy_results_and_no_error() -> None:
    doc = make_doc(mode_record("fp32"), mode_record("int8", top1=0.99, mad=0.005, sqnr=25.0))
    results = gates.apply(doc)
    assert results and all(results)
    gates.enforce(results)  # does not raise
    assert all(g["passed"] for g in doc["gates"])
    assert {g["mode"] for g in doc["gates"]} == {"fp32", "int8"}


def test_failing_agreement_gives_the_exact_line() -> None:
    doc = make_doc(mode_record("int8", top1=0.941, mad=0.005, sqnr=25.0))
    results = gates.evaluate(doc)
    failed = [r for r in results if not r]
    assert [r.line for r in failed] == [
        "digits-cnn/int8: top-1 agreement 0.941 (n=270) < 0.950 (min_top1_agreement)"]
    assert failed[0].measured == 0.941 and failed[0].limit == 0.95
    with pytest.raises(GateError) as info:
        gates.enforce(results)
    assert info.value.lines == [failed[0].line]


def test_all_failures_are_collected_into_one_error() -> None:
    doc = make_doc(
        mode_record("fp32", top1=0.99, acc_delta=-0.02),
        mode_record("int8", worst=-0.2, size=2_000_000, mad=0.005, sqnr=25.0),
    )
    thresholds = Thresholds(all_modes={"max_size_bytes": 1_000_000})
    with pytest.raises(GateError) as info:
        gates.enforce(gates.evaluate(doc, thresholds))
    assert info.value.lines == [
        "digits-cnn/fp32: top-1 agreement 0.990 (n=270) < 0.999 (min_top1_agreement)",
        "digits-cnn/fp32: accuracy drop 0.020 > 0.005 (max_accuracy_drop)",
        "digits-cnn/int8: worst class '3' accuracy drop 0.200 > 0.100 "
        "(max_class_accuracy_drop)",
        "digits-cnn/int8: file size 2,000,000 B > 1,000,000 B (max_size_bytes)",
    ]
    assert "4 gate(s) failed" in str(info.value)


def test_close_values_get_enough_digits_to_differ() -> None:
    doc = make_doc(mode_record("fp32", top1=0.9985))
    (line,) = gates.failure_lines(gates.evaluate(doc))
    assert line == "digits-cnn/fp32: top-1 agreement 0.9985 (n=270) < 0.9990 (min_top1_agreement)"


def test_failed_conversion_is_one_line_and_skips_unmeasured_checks() -> None:
    rec = {"mode": "int16x8", "status": "failed", "stage": "convert",
           "error": "op FOO is not supported", "conversion": None, "file": None, "io": None,
           "agreement": None, "accuracy": None, "latency": None}
    results = gates.evaluate(make_doc(rec))
    assert [r.line for r in results] == [
        "digits-cnn/int16x8: failed at stage convert: op FOO is not supported "
        "(require_conversion)"]
    assert not results[0]


def test_conversion_failure_can_be_allowed_per_mode() -> None:
    rec = {"mode": "int16x8", "status": "failed", "stage": "convert", "error": "nope",
           "file": None, "agreement": None, "accuracy": None, "latency": None}
    thr = Thresholds(per_mode={"int16x8": {"require_conversion": False}})
    (result,) = gates.evaluate(make_doc(rec), thr)
    assert result and "allowed" in result.line


def test_unmeasured_metric_of_an_ok_mode_fails() -> None:
    rec = mode_record("int8", mad=0.005, sqnr=25.0)
    rec["latency"] = None
    thr = Thresholds(per_mode={"int8": {"max_latency_p90_us": 100}})
    lines = gates.failure_lines(gates.evaluate(make_doc(rec), thr))
    assert lines == ["digits-cnn/int8: latency p90 not measured (needs max_latency_p90_us = "
                     "100.0 us)"]


def test_missing_size_ratio_is_not_applicable() -> None:
    rec = mode_record("int8", ratio=None, mad=0.005, sqnr=25.0)
    names = [r.name for r in gates.evaluate(make_doc(rec))]
    assert "max_size_ratio" not in names and "min_top1_agreement" in names


def test_identical_outputs_have_infinite_sqnr() -> None:
    rec = mode_record("fp32", sqnr=None)
    rec["agreement"]["max_abs_diff"] = 0.0
    sqnr = next(r for r in gates.evaluate(make_doc(rec)) if r.name == "min_sqnr_db")
    assert sqnr and "inf dB" in sqnr.line
    json.dumps(sqnr.to_dict(), allow_nan=False)  # strict JSON in doc["gates"]


def test_resolution_order_model_mode_wins() -> None:
    thr = Thresholds(all_modes={"min_top1_agreement": 0.5},
                     per_mode={"int8": {"min_top1_agreement": 0.6}},
                     per_model={"a": {"min_top1_agreement": 0.7}},
                     per_model_mode={("a", "int8"): {"min_top1_agreement": 0.8}})
    assert thr.limits("b", "fp32").min_top1_agreement == 0.5
    assert thr.limits("b", "int8").min_top1_agreement == 0.6
    assert thr.limits("a", "fp32").min_top1_agreement == 0.7
    assert thr.limits("a", "int8").min_top1_agreement == 0.8


def test_false_disables_a_default_limit() -> None:
    thr = Thresholds(per_mode={"fp32": {"min_sqnr_db": False}})
    assert thr.limits("m", "fp32").min_sqnr_db is None
    assert Thresholds().limits("m", "fp32").min_sqnr_db == 40.0


def test_every_registered_mode_has_default_limits() -> None:
    from tflbench.modes import MODES

    for mode in MODES:
        assert mode in gates.DEFAULT_LIMITS
        assert gates.Thresholds().limits("m", mode).min_top1_agreement is not None
    assert all(set(v) <= set(gates.THRESHOLD_NAMES) for v in gates.DEFAULT_LIMITS.values())


def test_defaults_are_monotonic_in_strictness() -> None:
    d = gates.DEFAULT_LIMITS
    assert (d["fp32"]["min_top1_agreement"] > d["fp16"]["min_top1_agreement"]
            > d["dynamic"]["min_top1_agreement"] > d["int8"]["min_top1_agreement"])


@pytest.mark.parametrize(("name", "value", "message"), [
    ("min_top1_agreement", 1.5, "between 0 and 1"),
    ("max_size_bytes", 1.5, "whole number of bytes"),
    ("max_latency_p90_us", "fast", "expected a number"),
    ("require_conversion", 1, "true or false"),
    ("max_accuracy_drp", 0.1, "unknown threshold"),
])
def test_bad_threshold_values_are_rejected(name: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gates.validate_threshold(name, value)
    with pytest.raises(ConfigError, match=name):
        Thresholds(all_modes={name: value})


def test_check_one_returns_none_when_limit_is_off() -> None:
    rec = mode_record("int8")
    assert gates.check_one("m", rec, Limits(), "max_size_bytes") is None
    r = gates.check_one("m", rec, Limits(max_size_bytes=20_000), "max_size_bytes")
    assert r and r.line == "m/int8: file size 10,000 B <= 20,000 B (max_size_bytes)"
    with pytest.raises(ConfigError, match="Unknown check"):
        gates.check_one("m", rec, Limits(), "speed")


def test_document_failures_include_baseline_lines() -> None:
    doc = make_doc(mode_record("int8", top1=0.9, mad=0.005, sqnr=25.0))
    gates.apply(doc)
    doc["baseline"] = {"changes": [{"model": "digits-cnn", "mode": "int8", "passed": False,
                                    "line": "slower"}]}
    lines = gates.document_failures(doc)
    assert lines[-1] == "slower" and len(lines) == 2


def test_evaluate_does_not_modify_the_document() -> None:
    doc = make_doc(mode_record("int8"))
    before = copy.deepcopy(doc)
    gates.evaluate(doc)
    assert doc == before


def test_gates_baseline_and_config_never_import_tensorflow() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tflbench import baseline, config, gates\n"
        "doc = {'models': [{'name': 'm', 'modes': [{'mode': 'int8', 'status': 'ok',"
        " 'agreement': {'top1': 0.9}}]}]}\n"
        "gates.evaluate(doc, config.default_config().thresholds)\n"
        "baseline.compare(doc, doc)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"
