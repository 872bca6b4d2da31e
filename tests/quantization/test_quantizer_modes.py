"""LiteRT Quantizer modes: quantized from the fp32 file, cached, and the missing-package path."""

from __future__ import annotations

import sys

import pytest

from tflbench import pipeline
from tflbench.errors import ConversionError
from tflbench.modes import MODES, resolve_modes
from tflbench.timing import LatencySettings

FAST = LatencySettings(warmup_runs=2, warmup_seconds=0.0, min_runs=5, min_seconds=0.0,
                       max_runs=20, max_seconds=1.0)


def _settings(tmp_path, modes):
    return pipeline.RunSettings(modes=tuple(resolve_modes(modes)), latency=FAST,
                                cache_dir=tmp_path / "cache", report_dir=tmp_path / "reports",
                                representative_samples=50)


@pytest.fixture
def no_quantizer(monkeypatch):
    """As if litert-quantizer were not installed."""
    monkeypatch.setitem(sys.modules, "litert_quantizer", None)
    monkeypatch.setitem(sys.modules, "litert_quantizer.recipe", None)


def test_without_the_package_lq_modes_fail_in_one_line_and_the_others_go_on(
        no_quantizer, tiny_model_file, digits, tmp_path):
    subject = pipeline.subject_from_model_file(tiny_model_file, digits)
    doc = pipeline.run([subject], _settings(tmp_path, "fp32,lq-dynamic-int8,dynamic"))
    recs = {r["mode"]: r for r in doc["models"][0]["modes"]}
    assert recs["fp32"]["status"] == "ok" and recs["dynamic"]["status"] == "ok"
    failed = recs["lq-dynamic-int8"]
    assert failed["status"] == "failed" and failed["stage"] == "convert"
    assert "\n" not in failed["error"]
    assert "pip install litert-quantizer" in failed["error"]


def test_recipe_for_names_what_to_install(no_quantizer):
    from tflbench.quantizer import recipe_for

    with pytest.raises(ConversionError, match=r"Mode 'lq-static-int8' needs the LiteRT "
                                              r"Quantizer.*pip install litert-quantizer"):
        recipe_for(MODES["lq-static-int8"])


def test_lq_modes_run_smaller_than_fp32_and_are_cached(tiny_model_file, digits, tmp_path):
    pytest.importorskip("litert_quantizer")
    modes = "fp32,lq-dynamic-int8,lq-static-int8,lq-weight-int4"
    settings = _settings(tmp_path, modes)
    doc = pipeline.run([pipeline.subject_from_model_file(tiny_model_file, digits)], settings)
    recs = {r["mode"]: r for r in doc["models"][0]["modes"]}
    assert all(r["status"] == "ok" for r in recs.values()), recs
    fp32 = recs["fp32"]["file"]["size_bytes"]
    for name in ("lq-dynamic-int8", "lq-static-int8", "lq-weight-int4"):
        assert recs[name]["file"]["size_bytes"] < fp32, name
        assert recs[name]["conversion"]["path"] == "litert-quantizer"
        assert recs[name]["agreement"]["top1"] > 0.8, name
    assert recs["lq-static-int8"]["io"]["input_dtype"] == "int8"
    again = pipeline.run([pipeline.subject_from_model_file(tiny_model_file, digits)], settings)
    assert all(r["conversion"]["cached"] for r in again["models"][0]["modes"])


def test_quantizer_recipes_keep_float_tensors_exactly():
    pytest.importorskip("litert_quantizer")
    from tflbench.quantizer import no_quantize_entry, recipe_for

    entries = recipe_for(MODES["lq-static-int8"], ["m/a_1/MatMul;m/a_1/BiasAdd"])
    assert entries[-1] == no_quantize_entry(["m/a_1/MatMul;m/a_1/BiasAdd"])
    assert entries[-1]["regex"] == r"^(?:m/a_1/MatMul;m/a_1/BiasAdd)$"
    assert entries[-1]["algorithm_key"] == "no_quantize"
