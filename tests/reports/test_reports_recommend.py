"""Recommendation under limits."""

from __future__ import annotations

import pytest
from sample_results import make_device_document, make_document

from tflbench.errors import ConfigError
from tflbench.reports.merge import merge
from tflbench.reports.recommend import recommend


def test_smallest_mode_meeting_all_limits() -> None:
    rec = recommend(make_document(), max_accuracy_drop=0.015, max_p90_us=60)
    cnn = rec["digits-cnn"]
    assert cnn["mode"] == "int8"  # dynamic is smaller but its p90 is 81 µs
    dynamic = next(c for c in cnn["candidates"] if c["mode"] == "dynamic")
    assert set(dynamic["violations"]) == {"max_p90_us"}
    assert "meets all limits" in cnn["reason"]
    assert cnn["unmet"] == {}
    meeting = [c["mode"] for c in cnn["candidates"] if c["meets"]]
    assert cnn["mode"] == meeting[0]
    sizes = [c["size_bytes"] for c in cnn["candidates"] if c["status"] == "ok"]
    assert sizes == sorted(sizes)


def test_limit_nothing_meets_reports_best_value() -> None:
    rec = recommend(make_document(), max_p90_us=30)
    for name in ("digits-cnn", "digits-mobilenet"):
        r = rec[name]
        assert r["mode"] is None
        assert set(r["unmet"]) == {"max_p90_us"}
        best = min(c["p90_us"] for c in r["candidates"] if c["status"] == "ok")
        assert r["unmet"]["max_p90_us"] == best
        assert "no mode meets p90" in r["reason"]


def test_limits_met_separately_but_not_together() -> None:
    r = recommend(make_document(), max_p90_us=50, max_accuracy_drop=0.005)["digits-cnn"]
    assert r["mode"] is None and r["unmet"] == {}
    assert "no single mode meets all limits together" in r["reason"]


def test_prefer_latency_picks_the_fastest() -> None:
    r = recommend(make_document(), prefer="latency")["digits-cnn"]
    ok = [c for c in r["candidates"] if c["status"] == "ok"]
    assert r["mode"] == min(ok, key=lambda c: c["p50_us"])["mode"] == "int8"


def test_failed_mode_is_never_recommended() -> None:
    r = recommend(make_document(), max_size_ratio=0.5)["digits-mobilenet"]
    failed = [c for c in r["candidates"] if c["mode"] == "int16x8"]
    assert failed and failed[0]["status"] == "failed" and not failed[0]["meets"]
    assert r["mode"] != "int16x8"


def test_merged_document_judges_the_slowest_device() -> None:
    doc = merge([make_document(), make_device_document()])
    r = recommend(doc, max_p90_us=100)["digits-cnn"]
    # int8 is under 100 µs on the host but not on the board
    assert r["mode"] is None
    int8 = next(c for c in r["candidates"] if c["mode"] == "int8")
    assert int8["devices"] == ["build-host", "rpi4"] and int8["p90_us"] > 100


@pytest.mark.parametrize("kwargs", [{"max_p90_us": -1}, {"max_accuracy_drop": 5},
                                    {"prefer": "speed"}, {"max_size_bytes": "big"}])
def test_bad_limits_raise_config_error(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        recommend(make_document(), **kwargs)


def test_best_and_limit_print_differently_when_they_differ() -> None:
    doc = make_document()
    cnn = next(m for m in doc["models"] if m["name"] == "digits-cnn")
    ratios = sorted(r["file"]["size_ratio"] for r in cnn["modes"] if r["status"] == "ok")
    limit = ratios[0] - 0.0003
    assert f"{limit:.2f}" == f"{ratios[0]:.2f}"  # alike in the usual two decimals
    r = recommend(doc, max_size_ratio=limit)["digits-cnn"]
    assert r["mode"] is None
    text = r["reason"]
    limit_part, best_part = text.split("(best: ")
    assert limit_part.split("≤ ")[1].strip() != best_part.split(" by ")[0]


@pytest.mark.parametrize(("name", "value", "bound", "expected"), [
    ("max_size_ratio", 0.3003, 0.30, ("0.3003×", "0.3000×")),
    ("max_size_ratio", 0.3012, 0.30, ("0.301×", "0.300×")),
    ("max_size_ratio", 0.45, 0.30, ("0.45×", "0.30×")),
    ("max_p90_us", 50.04, 50.0, ("50.04 µs", "50.00 µs")),
    ("max_size_bytes", 300010, 300000, ("300010 B", "300000 B")),
    ("max_size_bytes", 400000, 300000, ("390.6 KiB", "293.0 KiB")),
    ("min_top1_agreement", 0.98996, 0.99, ("98.996%", "99.000%")),
])
def test_distinct_texts(name: str, value: float, bound: float,
                        expected: tuple[str, str]) -> None:
    from tflbench.reports.recommend import distinct_texts

    assert distinct_texts(name, value, bound) == expected
