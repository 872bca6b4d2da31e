"""The shared row builder, class drops and verdict."""

from __future__ import annotations

from sample_results import make_document

from tflbench.reports.table import (
    build_rows,
    class_drops,
    columns,
    fmt_bytes,
    fmt_pp,
    fmt_us,
    format_row,
    latency_series,
    verdict,
)


def test_one_row_per_mode_in_registry_order() -> None:
    rows = build_rows(make_document())
    assert len(rows) == 12
    assert [r.mode for r in rows[:6]] == ["fp32", "dynamic", "fp16", "int8", "int8-float-io",
                                          "int16x8"]
    assert {r.device for r in rows} == {"build-host"}
    assert "device" not in [k for k, _ in columns(rows)]


def test_row_values_come_from_the_document() -> None:
    doc = make_document()
    rows = {(r.model, r.mode): r for r in build_rows(doc)}
    rec = doc["models"][0]["modes"][3]
    r = rows[("digits-cnn", "int8")]
    assert r.accuracy == rec["accuracy"]["accuracy"]
    assert r.top1 == rec["agreement"]["top1"]
    assert r.size_bytes == rec["file"]["size_bytes"]
    assert r.p90_us == rec["latency"]["p90"]
    assert r.worst_class == "8" and r.worst_class_delta is not None and r.worst_class_delta < 0
    assert len(r.samples) == 60
    assert r.accuracy_drop == -rec["accuracy"]["accuracy_delta"]


def test_failed_row_keeps_error_and_blanks() -> None:
    rows = {(r.model, r.mode): r for r in build_rows(make_document())}
    f = rows[("digits-mobilenet", "int16x8")]
    assert not f.ok and f.stage == "convert" and "DEPTHWISE_CONV_2D" in (f.error or "")
    cells = format_row(f)
    assert cells["status"] == "FAILED" and cells["size"] == "—" and cells["p50"] == "—"


def test_formatters() -> None:
    assert fmt_pp(-0.0111) == "\u22121.1 pp"
    assert fmt_pp(0.004) == "+0.4 pp"
    assert fmt_pp(None) == "—"
    assert fmt_bytes(512) == "512 B" and fmt_bytes(2048) == "2.0 KiB"
    assert fmt_us(61.7) == "61.7 µs" and fmt_us(1780.0) == "1.78 ms"


def test_class_drops_name_the_new_confusion() -> None:
    drops = class_drops(make_document(), limit=3)
    assert len(drops) == 3
    assert drops[0].delta <= drops[1].delta <= drops[2].delta < 0
    assert drops[0].name == "8" and drops[0].confused_with == "1" and drops[0].confused_extra > 0


def test_latency_series_include_the_thread_sweep() -> None:
    series = latency_series(make_document(), "digits-cnn")
    int8 = [s for s in series if s.mode == "int8"]
    assert sorted(s.threads for s in int8) == [1, 2]
    assert all(s.samples for s in series)


def test_verdict_from_failed_modes_and_from_gates() -> None:
    doc = make_document()
    v = verdict(doc)
    assert not v.passed and v.line.startswith("FAIL: 1 of 12 modes failed")
    for m in doc["models"]:
        m["modes"] = [r for r in m["modes"] if r["status"] == "ok"]
    assert verdict(doc).passed
    doc["gates"] = [{"name": "agreement", "passed": True, "line": "ok"},
                    {"name": "size", "passed": False, "line": "digits-cnn/fp32: too big"}]
    v = verdict(doc)
    assert not v.passed and v.line == "FAIL: 1 of 2 gates failed"
    assert v.failures == ("digits-cnn/fp32: too big",)
