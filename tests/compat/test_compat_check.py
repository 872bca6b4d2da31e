"""Targets, the runtime table and the compatibility verdict: no runtime needed, the table is
data."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tflbench.compat.builtin_ops import BUILTIN_OPS
from tflbench.compat.check import (
    CompatResult,
    check_compatibility,
    compatibility_failures,
    compatibility_report,
    parse_target,
)
from tflbench.compat.flatbuffer import OpUsage, read_ops
from tflbench.compat.runtimes import RELEASES, find_release, releases
from tflbench.compat.synthetic import OpCode, minimal_model
from tflbench.errors import ConfigError

BUNDLE = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"
MODELS = BUNDLE / "digits-mini"
TARGETS = ["ai-edge-litert>=2.3", "tflite-runtime==2.14"]


# -- the table -------------------------------------------------------------------------------

def test_table_covers_the_releases_it_was_measured_on() -> None:
    labels = [r.label for r in RELEASES]
    assert "tflite-runtime 2.14.0" in labels and "ai-edge-litert 2.3.0" in labels
    assert len(labels) == len(set(labels))
    for r in RELEASES:
        assert r.measured and r.environment and "probe" in r.command and r.method
        assert set(r.max_versions) <= set(BUILTIN_OPS)
        assert all(v >= 1 for v in r.max_versions.values())


def test_old_runtime_supports_no_more_than_the_current_one() -> None:
    old, new = find_release("tflite-runtime", "2.14"), find_release("ai-edge-litert", "2.3")
    assert old is not None and new is not None
    assert old.max_versions["FULLY_CONNECTED"] < 12 <= new.max_versions["FULLY_CONNECTED"]
    for op, v in old.max_versions.items():
        assert new.max_versions.get(op, 0) >= v, op


def test_current_runtime_loads_everything_in_the_committed_bundle() -> None:
    for path in MODELS.glob("*.tflite"):
        assert check_compatibility(path, ["ai-edge-litert==2.3.0"]), path.name


# -- the verdict -----------------------------------------------------------------------------

def test_dynamic_model_fails_on_tflite_runtime_2_14() -> None:
    result = check_compatibility(MODELS / "dynamic.tflite", TARGETS)
    assert not result and not result.compatible
    high = find_release("tflite-runtime", "2.14.0").max_versions["FULLY_CONNECTED"]  # type: ignore[union-attr]
    assert result.problems == (
        f"FULLY_CONNECTED v12 is not supported by tflite-runtime 2.14.0 (highest: v{high})",)
    assert result.checked == ("ai-edge-litert 2.3.0", "tflite-runtime 2.14.0")
    assert result.warnings == ()


@pytest.mark.parametrize("mode", ["fp32", "int8"])
def test_other_modes_pass_on_tflite_runtime_2_14(mode: str) -> None:
    result = check_compatibility(MODELS / f"{mode}.tflite", TARGETS)
    assert result and result.problems == ()


def test_result_round_trips() -> None:
    result = check_compatibility(MODELS / "dynamic.tflite", TARGETS)
    again = CompatResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result and not again


def test_uncovered_release_is_a_warning_not_a_failure() -> None:
    result = check_compatibility(MODELS / "dynamic.tflite", ["tflite-runtime==2.10"])
    assert result and result.checked == ()
    assert len(result.warnings) == 1
    assert "does not cover" in result.warnings[0] and "2.14.0" in result.warnings[0]


def test_partly_covered_range_checks_what_it_can_and_warns() -> None:
    result = check_compatibility(MODELS / "dynamic.tflite", ["tflite-runtime>=2.10"])
    assert not result and result.checked == ("tflite-runtime 2.14.0",)
    assert "older than 2.14.0" in result.warnings[0]


def test_ops_absent_from_a_release_and_custom_ops() -> None:
    code = BUILTIN_OPS.index("STABLEHLO_COMPOSITE")
    data = minimal_model([OpCode(code, 1), OpCode(32, 1, custom="MyOp")])
    result = check_compatibility(data, ["tflite-runtime==2.14.0"])
    assert result.problems == ("STABLEHLO_COMPOSITE v1 is not supported by tflite-runtime "
                               "2.14.0 (the op is not registered at all)",)
    assert any("custom op MyOp v1" in w for w in result.warnings)
    newer = check_compatibility([OpUsage("BUILTIN_999", 1, 1, 999)], ["ai-edge-litert"])
    assert "unknown builtin code" in newer.problems[0]


def test_lowest_version_is_checked_too() -> None:
    result = check_compatibility([OpUsage("BROADCAST_TO", 1, 1, 130)], ["tflite-runtime==2.14"])
    assert result.problems == ("BROADCAST_TO v1 is not supported by tflite-runtime 2.14.0 "
                               "(lowest: v2)",)


def test_accepts_read_ops_results_and_op_lists() -> None:
    ops = read_ops(MODELS / "dynamic.tflite")
    assert check_compatibility(ops, TARGETS).problems == check_compatibility(
        list(ops.ops), TARGETS).problems


# -- the gate entry point --------------------------------------------------------------------

def test_compatibility_failures_on_the_bundle() -> None:
    lines = compatibility_failures(BUNDLE, TARGETS)
    assert len(lines) == 1
    assert lines[0].startswith("digits-mini/dynamic: FULLY_CONNECTED v12 is not supported by "
                               "tflite-runtime 2.14")
    assert compatibility_failures(BUNDLE, []) == []
    assert compatibility_failures(BUNDLE, ["ai-edge-litert>=2.3"]) == []


def test_compatibility_failures_on_tflite_paths() -> None:
    paths = [MODELS / "fp32.tflite", MODELS / "dynamic.tflite"]
    assert compatibility_failures(paths, TARGETS) == [
        compatibility_failures(BUNDLE, TARGETS)[0].replace("digits-mini/dynamic",
                                                           "dynamic.tflite")]


def _results_doc() -> dict:
    doc = json.loads((BUNDLE / "host-results.json").read_text())
    for r in doc["models"][0]["modes"]:
        r["file"]["path"] = str(MODELS / f"{r['mode']}.tflite")
    return doc


def test_compatibility_failures_on_a_results_document() -> None:
    doc = _results_doc()
    assert compatibility_failures(doc, TARGETS) == compatibility_failures(BUNDLE, TARGETS)
    # A recorded op list is used instead of the file; failed modes are left to their own gate.
    with_ops = copy.deepcopy(doc)
    for r in with_ops["models"][0]["modes"]:
        r["ops"] = [o.to_dict() for o in read_ops(r["file"]["path"]).ops]
        r["file"]["path"] = "/nonexistent.tflite"
    with_ops["models"][0]["modes"][0]["status"] = "failed"
    assert compatibility_failures(with_ops, TARGETS) == compatibility_failures(BUNDLE, TARGETS)


def test_compatibility_failures_on_a_typed_results_record() -> None:
    records = pytest.importorskip("tflbench.records")
    doc = records.ResultsDocument.from_dict(_results_doc())
    assert compatibility_failures(doc, TARGETS) == compatibility_failures(BUNDLE, TARGETS)
    raw = _results_doc()
    for r in raw["models"][0]["modes"]:
        r["extra"] = {"ops": [o.to_dict() for o in read_ops(r["file"]["path"]).ops]}
        r["file"]["path"] = "/nonexistent.tflite"
    assert compatibility_failures(records.ResultsDocument.from_dict(raw), TARGETS) == \
        compatibility_failures(BUNDLE, TARGETS)


def test_a_converted_file_that_is_gone_fails_the_gate() -> None:
    doc = _results_doc()
    doc["models"][0]["modes"][0]["file"]["path"] = "/nonexistent/fp32.tflite"
    lines = compatibility_failures(doc, TARGETS)
    assert lines[0].startswith("digits-mini/fp32: cannot check runtime compatibility: "
                               "/nonexistent/fp32.tflite no longer exists")
    assert len(lines) == 2


def test_report_keeps_warnings_for_the_caller() -> None:
    report = compatibility_report(BUNDLE, ["tflite-runtime>=2.10"])
    assert [label for label, _ in report] == ["digits-mini/fp32", "digits-mini/dynamic",
                                              "digits-mini/int8"]
    assert all(not isinstance(r, str) and r.warnings for _, r in report)


def test_malformed_targets_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown runtime 'onnxruntime'"):
        compatibility_failures(BUNDLE, ["onnxruntime>=1.0"])
    with pytest.raises(ConfigError, match="a list of runtime targets"):
        compatibility_failures(BUNDLE, "tflite-runtime==2.14")


# -- targets ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, admitted, refused", [
    ("tflite-runtime==2.14", ["2.14", "2.14.0"], ["2.14.1", "2.13"]),
    ("tflite_runtime >= 2.13", ["2.13", "2.14.0", "3.0"], ["2.12.9"]),
    ("TFLite-Runtime<=2.14", ["2.14.0", "2.1"], ["2.14.1"]),
    ("ai-edge-litert~=2.3", ["2.3", "2.9.1"], ["2.2", "3.0"]),
    ("ai-edge-litert~=2.3.0", ["2.3.0", "2.3.7"], ["2.4.0"]),
    ("tensorflow>2.16,<2.22", ["2.16.1", "2.21"], ["2.16", "2.22"]),
    ("tensorflow", ["0.1", "9.9"], []),
])
def test_parse_target(text: str, admitted: list[str], refused: list[str]) -> None:
    from tflbench.compat.runtimes import parse_version

    t = parse_target(text)
    for v in admitted:
        assert t.admits(parse_version(v)), v
    for v in refused:
        assert not t.admits(parse_version(v)), v


def test_target_names_are_canonical() -> None:
    assert parse_target("tflite_runtime==2.14").runtime == "tflite-runtime"
    assert parse_target("tensorflow-cpu>=2.16").runtime == "tensorflow"
    assert str(parse_target("ai_edge_litert >= 2.3")) == "ai-edge-litert>=2.3"
    assert releases("tflite_runtime") == releases("tflite-runtime")


@pytest.mark.parametrize("text, message", [
    ("onnxruntime==1.0", "unknown runtime 'onnxruntime'"),
    ("tflite-runtime 2.14", "each clause must be one of"),
    ("tflite-runtime!=2.14", "each clause must be one of"),
    ("tflite-runtime===2.14", "each clause must be one of"),
    ("tflite-runtime==2.14.*", "no wildcards or pre-releases). Received: '2.14.*'"),
    ("tflite-runtime==2.14rc1", "Received: '2.14rc1'"),
    ("tflite-runtime~=2", "'~=' needs at least two components"),
    ("tflite-runtime>=2.13,", "Received: ''"),
    ("", "must start with a runtime name"),
    (">=2.14", "must start with a runtime name"),
])
def test_parse_target_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("*", r"\*").replace(".", r"\.")):
        parse_target(text)


def test_parse_target_rejects_non_strings() -> None:
    with pytest.raises(ConfigError, match="Received: 2.14"):
        parse_target(2.14)  # type: ignore[arg-type]
