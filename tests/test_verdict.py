"""The one gate-and-baseline step shared by run, the plugin and measure (fast, no TensorFlow)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest
from test_baseline import latency, make_doc

from tflbench import gates, results
from tflbench.baseline import Policy
from tflbench.commands import run as run_command
from tflbench.config import ProjectConfig
from tflbench.config.model import BaselineConfig
from tflbench.errors import GateError
from tflbench.verdict import NOT_COMPARED, Verdict, apply_verdict

NONE = gates.Thresholds(use_defaults=False)
STRICT = gates.Thresholds(all_modes={"min_top1_agreement": 0.995}, use_defaults=False)


def test_gates_then_baseline_lines_in_one_verdict(tmp_path: Path) -> None:
    base = results.save(make_doc(accuracy=0.99), tmp_path / "base.json")
    doc = make_doc(accuracy=0.90, top1=0.99)
    v = apply_verdict(doc, STRICT, base)
    assert isinstance(v, Verdict) and not v and not v.passed
    assert v.failures == (
        "digits-cnn/int8: top-1 agreement 0.990 (n=200) < 0.995 (min_top1_agreement)",
        "digits-cnn/int8: accuracy 0.990 -> 0.900 (-0.090), drop 0.090 > 0.010 "
        "(max_accuracy_drop)")
    assert v.baseline_failures == v.failures[1:]
    assert doc["gates"] == [g.to_dict() for g in v.gates]
    assert doc["baseline"] is v.baseline and v.baseline_error is None
    assert gates.document_failures(doc) == list(v.failures)
    with pytest.raises(GateError) as info:
        v.enforce()
    assert info.value.lines == list(v.failures)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.failures = ()  # type: ignore[misc]


def test_without_a_baseline_only_the_gates_count() -> None:
    doc = make_doc()
    v = apply_verdict(doc, NONE)
    assert v and v.baseline is None and v.warnings == () and doc["baseline"] is None
    v.enforce()


def test_baseline_warnings_are_the_verdicts(tmp_path: Path) -> None:
    base = results.save(make_doc(host="laptop"), tmp_path / "base.json")
    v = apply_verdict(make_doc(), NONE, base)
    assert v and any("different machine" in w for w in v.warnings)


def test_a_baseline_that_cannot_be_read_fails_when_strict(tmp_path: Path) -> None:
    broken = tmp_path / "base.json"
    broken.write_text("{")
    doc = make_doc()
    v = apply_verdict(doc, NONE, broken, strict=True)
    (line,) = v.failures
    assert line.startswith(f"{NOT_COMPARED}: ") and "base.json is not valid JSON" in line
    assert v.baseline_error and doc["baseline"]["error"] == v.baseline_error
    assert doc["baseline"]["passed"] is False
    results.validate(doc)

    lenient = apply_verdict(make_doc(), NONE, broken, strict=False)
    assert lenient.passed and lenient.warnings == (line,)


def test_policy_applies(tmp_path: Path) -> None:
    base = results.save(make_doc(lat=latency(100.0, 2.0, 1)), tmp_path / "base.json")
    slow = make_doc(lat=latency(130.0, 2.0, 2))
    assert not apply_verdict(slow, NONE, base)
    assert apply_verdict(make_doc(lat=latency(130.0, 2.0, 2)), NONE, base,
                         Policy(max_latency_increase=None))


def _strict_run_args(tmp_path: Path, baseline: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run_command.add_arguments(parser)
    return parser.parse_args(["--strict", "--baseline", str(baseline), "--quiet",
                              "--report-dir", str(tmp_path / "out")])


def test_run_strict_fails_on_a_baseline_that_fails_to_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The baseline is readable when checked before the run but not when compared (replaced
    meanwhile): ``--strict`` fails with one line instead of ignoring it."""
    monkeypatch.delenv("CI", raising=False)  # the demo refusal in CI is tested elsewhere
    base = results.save(make_doc(), tmp_path / "base.json")
    project = ProjectConfig(baseline=BaselineConfig(), thresholds=NONE)

    def fake_run(settings: object, subjects: object, quiet: bool = False) -> dict:
        base.write_text("{")
        return make_doc()

    def fake_settings(args: argparse.Namespace) -> tuple[object, list[object]]:
        args._project = project
        return project.to_run_settings().replace(report_dir=tmp_path / "out"), []

    monkeypatch.setattr(run_command, "run_with_progress", fake_run)
    monkeypatch.setattr(run_command, "settings_and_subjects", fake_settings)
    with pytest.raises(GateError) as info:
        run_command.main(_strict_run_args(tmp_path, base))
    (line,) = info.value.lines
    assert line.startswith(f"{NOT_COMPARED}: ") and "base.json" in line
    saved = results.load(tmp_path / "out" / "results.json")
    assert saved["baseline"]["error"]
    capsys.readouterr()
