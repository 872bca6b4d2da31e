"""The require_compatible gate in the verdict step: op lists in mode records, one line per op
version a target runtime will not load, the targets key and the --targets flag."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tflbench import gates
from tflbench.compat.gate import REQUIRE_COMPATIBLE, compatibility_checks, record_ops
from tflbench.errors import ConfigError
from tflbench.records import ResultsDocument
from tflbench.verdict import apply_verdict

BUNDLE = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"
TARGETS = ["ai-edge-litert>=2.3", "tflite-runtime==2.14"]
DYNAMIC_LINE = ("digits-mini/dynamic: FULLY_CONNECTED v12 is not supported by tflite-runtime "
                "2.14.0 (highest: v10) (require_compatible)")


@pytest.fixture
def host_doc(tmp_path: Path) -> dict[str, Any]:
    """The bundle's host results, its files copied to where the records say they are."""
    doc = json.loads((BUNDLE / "host-results.json").read_text())
    for model in doc["models"]:
        for rec in model["modes"]:
            dest = tmp_path / f"{rec['mode']}.tflite"
            shutil.copyfile(BUNDLE / "digits-mini" / f"{rec['mode']}.tflite", dest)
            rec["file"]["path"] = str(dest)
    return doc


def _compat(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [g for g in doc["gates"] if g["name"] == REQUIRE_COMPATIBLE]


def test_dynamic_mode_fails_naming_op_version_and_runtime(host_doc: dict[str, Any]) -> None:
    verdict = apply_verdict(host_doc, gates.Thresholds(), targets=TARGETS)
    assert not verdict
    assert DYNAMIC_LINE in verdict.failures
    assert [f for f in verdict.failures if REQUIRE_COMPATIBLE in f] == [DYNAMIC_LINE]
    entries = _compat(host_doc)
    assert [(g["mode"], g["passed"]) for g in entries] == [
        ("fp32", True), ("dynamic", False), ("int8", True)]
    assert entries[0]["line"] == ("digits-mini/fp32: loads on ai-edge-litert 2.3.0, "
                                  "tflite-runtime 2.14.0 (require_compatible)")
    assert host_doc["settings"]["targets"] == TARGETS
    with pytest.raises(Exception, match="FULLY_CONNECTED v12"):
        verdict.enforce()


def test_each_result_follows_its_conversion_check(host_doc: dict[str, Any]) -> None:
    apply_verdict(host_doc, gates.Thresholds(), targets=TARGETS)
    names = [(g["mode"], g["name"]) for g in host_doc["gates"]]
    for mode in ("fp32", "dynamic", "int8"):
        i = names.index((mode, gates.REQUIRE_CONVERSION))
        assert names[i + 1] == (mode, REQUIRE_COMPATIBLE)


def test_current_runtime_only_passes(host_doc: dict[str, Any]) -> None:
    verdict = apply_verdict(host_doc, gates.Thresholds(), targets=["ai-edge-litert>=2.3"])
    assert not [f for f in verdict.failures if REQUIRE_COMPATIBLE in f]
    assert all(g["passed"] for g in _compat(host_doc))


def test_no_targets_no_gate_but_ops_are_recorded(host_doc: dict[str, Any]) -> None:
    apply_verdict(host_doc, gates.Thresholds())
    assert not _compat(host_doc)
    dynamic = host_doc["models"][0]["modes"][1]
    assert {"name": "FULLY_CONNECTED", "version": 12, "count": 2, "builtin_code": 9} \
        in dynamic["ops"]
    typed = ResultsDocument.from_dict(host_doc)  # a typed field, not an unknown key
    rec = typed.models[0].modes[1]
    assert rec.ops is not None and "ops" not in rec.extra
    assert ("FULLY_CONNECTED", 12) in {(o.name, o.version) for o in rec.ops}


def test_gate_works_after_the_files_are_gone(host_doc: dict[str, Any]) -> None:
    record_ops(host_doc)
    for model in host_doc["models"]:
        for rec in model["modes"]:
            Path(rec["file"]["path"]).unlink()
    saved = json.loads(json.dumps(host_doc))
    verdict = apply_verdict(saved, gates.Thresholds(), targets=TARGETS)
    assert [f for f in verdict.failures if REQUIRE_COMPATIBLE in f] == [DYNAMIC_LINE]


def test_missing_file_and_no_op_list_cannot_be_checked(host_doc: dict[str, Any]) -> None:
    rec = host_doc["models"][0]["modes"][0]
    Path(rec["file"]["path"]).unlink()
    verdict = apply_verdict(host_doc, gates.Thresholds(), targets=["tflite-runtime==2.14"])
    line = next(f for f in verdict.failures if f.startswith("digits-mini/fp32"))
    assert "cannot check runtime compatibility" in line and REQUIRE_COMPATIBLE in line


def test_recorded_targets_are_used_when_none_are_given(host_doc: dict[str, Any]) -> None:
    host_doc["settings"]["targets"] = ["tflite-runtime==2.14"]
    verdict = apply_verdict(host_doc, gates.Thresholds())
    assert DYNAMIC_LINE in verdict.failures


def test_failed_modes_are_left_to_require_conversion(host_doc: dict[str, Any]) -> None:
    rec = host_doc["models"][0]["modes"][1]
    rec.update(status="failed", stage="convert", error="boom")
    results, _ = compatibility_checks(host_doc, TARGETS)
    assert "dynamic" not in {r.mode for r in results}


def test_uncovered_target_is_a_warning_not_a_failure(host_doc: dict[str, Any]) -> None:
    verdict = apply_verdict(host_doc, gates.Thresholds(), targets=["tflite-runtime==2.10"])
    assert not [f for f in verdict.failures if REQUIRE_COMPATIBLE in f]
    assert any("does not cover" in w for w in verdict.warnings)
    assert any("does not cover" in w for w in host_doc["warnings"])


def test_merged_records_name_their_device(host_doc: dict[str, Any]) -> None:
    doc = copy.deepcopy(host_doc)
    record_ops(doc)
    for rec in doc["models"][0]["modes"]:
        rec["device"] = "pi4"
    results, _ = compatibility_checks(doc, ["tflite-runtime==2.14"])
    assert any(r.line.startswith("digits-mini/dynamic@pi4: FULLY_CONNECTED v12") for r in results)


@pytest.mark.parametrize("bad, match", [
    ("tflite-runtime==2.14", "expected a list of runtime targets"),
    (["tflite-runtime=2.14"], "each clause must be one of"),
    (["tflite"], "unknown runtime 'tflite'"),
])
def test_malformed_targets_are_config_errors(host_doc: dict[str, Any], bad: Any,
                                             match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        apply_verdict(host_doc, gates.Thresholds(), targets=bad)


# -- tflbench run --------------------------------------------------------------------------------

FAST = ["--threads", "1", "--representative-samples", "40", "--quiet"]


def test_run_with_targets_fails_the_dynamic_mode_before_any_device(
        tiny_model_file: Path, digits_npz: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tflbench.cli import main

    args = ["run", "--model", str(tiny_model_file), "--data", f"npz:{digits_npz}",
            "--modes", "fp32,dynamic", "--cache-dir", str(tmp_path / "c"),
            "--report-dir", str(tmp_path / "r"), *FAST, "--targets", *TARGETS]
    assert main([*args, "--strict"]) == 1
    err = capsys.readouterr().err
    assert ("tiny/dynamic: FULLY_CONNECTED v12 is not supported by tflite-runtime 2.14.0 "
            "(highest: v10) (require_compatible)") in err
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert doc["settings"]["targets"] == TARGETS
    assert all(r["ops"] for r in doc["models"][0]["modes"])
    failed = [g for g in doc["gates"] if not g["passed"]]
    assert [(g["mode"], g["name"]) for g in failed] == [("dynamic", REQUIRE_COMPATIBLE)]
    assert "v12 is not supported by tflite-runtime 2.14.0" in \
        (tmp_path / "r" / "report.md").read_text()


def test_run_refuses_a_malformed_target_before_any_work(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    from tflbench.cli import main

    assert main(["run", "--quiet", "--targets", "tflite-runtime=2.14"]) == 2
    err = capsys.readouterr().err
    assert "--targets" in err and "tflite-runtime=2.14" in err


def test_project_targets_reach_the_gate(tiny_model_file: Path, digits_npz: Path,
                                        tmp_path: Path) -> None:
    from tflbench.cli import main

    (tmp_path / "tflbench.toml").write_text(
        'modes = ["dynamic"]\n'
        'targets = ["tflite-runtime==2.14"]\n'
        f'cache_dir = "{tmp_path / "c"}"\n'
        f'report_dir = "{tmp_path / "r"}"\n'
        "[[models]]\n"
        f'path = "{tiny_model_file}"\n'
        f'data = "npz:{digits_npz}"\n')
    rc = main(["run", "--config", str(tmp_path / "tflbench.toml"), *FAST, "--strict"])
    assert rc == 1
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert [g["line"] for g in doc["gates"] if not g["passed"]] == [
        "tiny/dynamic: FULLY_CONNECTED v12 is not supported by tflite-runtime 2.14.0 "
        "(highest: v10) (require_compatible)"]
