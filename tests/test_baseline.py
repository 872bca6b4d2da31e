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
from tflbench.reports.merge import merge


def latency(median: float, spread: float, seed: int, n: int = 200) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    samples = (median + rng.normal(0.0, spread, n)).round(3).tolist()
    return {"unit": "us", "n": n, "median": float(np.median(samples)),
            "p90": float(np.percentile(samples, 90)), "samples": samples, "warnings": []}


def make_doc(*, accuracy: float = 0.97, top1: float = 0.99, lat: dict[str, Any] | None = None,
             status: str = "ok", host: str = "ci-1", runtime: str = "2.3.0",
             device: str | None = None) -> dict[str, Any]:
    env = {"hostname": host, "cpu_model": "Xeon", "runtime": {"name": "ai_edge_litert",
                                                               "version": runtime}}
    rec = {"mode": "int8", "status": status, "error": None if status == "ok" else "boom",
           "stage": None if status == "ok" else "convert",
           "agreement": {"n": 200, "top1": top1} if status == "ok" else None,
           "accuracy": {"accuracy": accuracy} if status == "ok" else None,
           "latency": (lat or latency(100.0, 2.0, 0)) if status == "ok" else None}
    doc = results.new_document(env, {"num_threads": 1, "xnnpack": True}, device)
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
    assert {c["device"] for c in b["changes"]} == {"ci-1"}
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
    assert lat["line"].endswith(" significant) > +10.0% (max_latency_increase)")


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


def test_a_failing_drop_shows_the_digits_that_decide_it() -> None:
    b = baseline.compare(make_doc(accuracy=0.9596), make_doc(accuracy=0.97))
    assert baseline.failure_lines(b) == [
        "digits-cnn/int8: accuracy 0.9700 -> 0.9596 (-0.0104), drop 0.0104 > 0.0100 "
        "(max_accuracy_drop)"]


def test_a_drop_equal_to_the_limit_passes() -> None:
    b = baseline.compare(make_doc(accuracy=0.96), make_doc(accuracy=0.97))
    assert b["passed"]


def test_latency_just_over_the_limit_shows_the_digits_that_decide_it() -> None:
    before = make_doc(lat=latency(100.0, 0.1, 7))
    after = make_doc(lat={**latency(100.0, 0.1, 7),
                          "samples": [s * 1.1004 for s in latency(100.0, 0.1, 7)["samples"]]})
    after["models"][0]["modes"][0]["latency"]["median"] = \
        before["models"][0]["modes"][0]["latency"]["median"] * 1.1004
    lat = by_metric(baseline.compare(after, before))["latency_p50_us"]
    assert not lat["passed"]
    assert "(+10.04%, p=" in lat["line"] and lat["line"].endswith(
        " > +10.00% (max_latency_increase)")


def test_latency_check_can_be_turned_off() -> None:
    before = make_doc(lat=latency(100.0, 2.0, 1))
    after = make_doc(lat=latency(130.0, 2.0, 2))
    for off in (None, False):
        b = baseline.compare(after, before, Policy(max_latency_increase=off))
        lat = by_metric(b)["latency_p50_us"]
        assert b["passed"] and lat["passed"] and lat["significant"] is True
        assert lat["line"].endswith("significant; not gated (max_latency_increase = false))")
        assert b["policy"]["max_latency_increase"] is None
    with pytest.raises(ConfigError, match="max_latency_increase must be a number >= 0"):
        Policy(max_latency_increase=-0.1)


@pytest.mark.parametrize("value", ["false", '"none"', '"None"'])
def test_config_turns_the_latency_check_off(tmp_path: Path, value: str) -> None:
    from tflbench.config import discover_project

    cfg = tmp_path / "tflbench.toml"
    cfg.write_text(f"[baseline]\nmax_latency_increase = {value}\nmax_accuracy_drop = 0.02\n")
    project, _ = discover_project(cfg)
    policy = Policy.from_config(project.baseline)
    assert policy.max_latency_increase is None and policy.max_accuracy_drop == 0.02
    cfg.write_text('[baseline]\nmax_latency_increase = "off"\n')
    with pytest.raises(ConfigError, match=r"max_latency_increase: expected a number >= 0, or "
                                          r"false \(or \"none\"\).*Received: 'off'"):
        discover_project(cfg)


# ------------------------------------------------------------------------------------ devices

HOST_US, PI_US = 100.0, 900.0


def two_device_doc(host_us: float = HOST_US, pi_us: float = PI_US, seed: int = 0,
                   host: str = "ci-1") -> dict[str, Any]:
    """A merged host + pi document (``tflbench report host.json pi.json``)."""
    host_doc = make_doc(lat=latency(host_us, 2.0, seed), host=host, device=host)
    pi_doc = make_doc(lat=latency(pi_us, 20.0, seed + 1), host="raspberrypi", device="pi",
                      runtime="2.14.0")
    pi_doc["environment"]["cpu_model"] = "Cortex-A72"
    return merge([host_doc, pi_doc], sources=["host.json", "pi.json"])


def test_a_merged_baseline_compares_each_device_with_itself() -> None:
    base = two_device_doc(seed=10)
    doc = two_device_doc(seed=20)
    b = baseline.compare(doc, base)
    lat = {c["device"]: c for c in b["changes"] if c["metric"] == "latency_p50_us"}
    assert set(lat) == {"ci-1", "pi"}
    assert abs(lat["ci-1"]["before"] - HOST_US) < 2 and abs(lat["ci-1"]["after"] - HOST_US) < 2
    assert abs(lat["pi"]["before"] - PI_US) < 20 and abs(lat["pi"]["after"] - PI_US) < 20
    assert lat["ci-1"]["line"].startswith("digits-cnn/int8@ci-1: latency p50 ")
    # Each device's environment is compared with the same device's: no machine warnings.
    assert b["passed"] and b["warnings"] == [], b["warnings"]
    assert b["device"] == "ci-1, pi" and b["missing"] == [] and b["new"] == []


def test_a_host_run_against_a_merged_baseline_uses_the_host_samples() -> None:
    base = two_device_doc(seed=10)
    doc = make_doc(lat=latency(HOST_US, 2.0, 30), device="ci-1")
    b = baseline.compare(doc, base)
    (lat,) = [c for c in b["changes"] if c["metric"] == "latency_p50_us"]
    assert lat["device"] == "ci-1" and abs(lat["before"] - HOST_US) < 2 and lat["passed"]
    assert b["passed"] and lat["line"].startswith("digits-cnn/int8: latency p50 ")
    assert b["warnings"] == ["baseline device 'pi' is not in this run; not compared"]


def test_a_slower_device_fails_on_that_device_only() -> None:
    base = two_device_doc(seed=10)
    doc = two_device_doc(pi_us=PI_US * 1.5, seed=20)
    b = baseline.compare(doc, base)
    assert [line.split(":")[0] for line in baseline.failure_lines(b)] == [
        "digits-cnn/int8@pi"]


def test_a_renamed_host_pairs_with_the_one_unmatched_baseline_device() -> None:
    # A CI runner's hostname changes between releases: the single device is still compared.
    b = baseline.compare(make_doc(host="ci-2", device="ci-2"), make_doc(device="ci-1"))
    assert {c["device"] for c in b["changes"]} == {"ci-2"}
    assert any("different machine" in w for w in b["warnings"])
    # In a merged run the pairing is said out loud.
    b = baseline.compare(two_device_doc(seed=20, host="ci-2"), two_device_doc(seed=10))
    assert {c["device"] for c in b["changes"]} == {"ci-2", "pi"}
    assert "ci-2: compared with the baseline's device 'ci-1' (the only device left " \
           "unmatched)" in b["warnings"]


def test_a_device_without_a_baseline_is_new_not_compared_with_another() -> None:
    base = make_doc(device="ci-1")
    doc = two_device_doc(seed=20)
    b = baseline.compare(doc, base)
    assert {c["device"] for c in b["changes"]} == {"ci-1"}
    assert b["new"] == ["digits-cnn/int8@pi"]
    assert any("no baseline measurement for device 'pi'" in w for w in b["warnings"])


def test_file_size_changes_are_recorded_but_never_fail() -> None:
    before, after = make_doc(), make_doc()
    before["models"][0]["modes"][0]["file"] = {"size_bytes": 1000}
    after["models"][0]["modes"][0]["file"] = {"size_bytes": 5000}
    size = by_metric(baseline.compare(after, before))["size_bytes"]
    assert size["passed"] and size["delta"] == 4000
    assert size["line"] == "digits-cnn/int8: size 1000 -> 5000 bytes (+4000)"


def test_failure_lines_can_be_filtered_by_metric() -> None:
    before = make_doc(accuracy=0.97, lat=latency(100.0, 2.0, 1))
    after = make_doc(accuracy=0.90, lat=latency(130.0, 2.0, 2))
    b = baseline.compare(after, before)
    assert len(baseline.failure_lines(b)) == 2
    (only,) = baseline.failure_lines(b, metrics=[baseline.LATENCY_METRIC])
    (rest,) = baseline.failure_lines(b, exclude=[baseline.LATENCY_METRIC])
    assert "latency p50" in only and "accuracy" in rest


def test_a_merged_results_file_works_as_a_baseline(tmp_path: Path) -> None:
    path = results.save(two_device_doc(seed=10), tmp_path / "merged.json")
    doc = two_device_doc(seed=20)
    out = baseline.apply(doc, path)
    assert out["passed"] and {c["device"] for c in out["changes"]} == {"ci-1", "pi"}
    results.validate(doc)
