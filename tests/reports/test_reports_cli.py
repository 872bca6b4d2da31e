"""`tflbench report` through tflbench.cli.main for every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sample_results import make_device_document, make_document

from tflbench.cli import main


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "host.json", tmp_path / "rpi4.json"
    a.write_text(json.dumps(make_document()), encoding="utf-8")
    b.write_text(json.dumps(make_device_document()), encoding="utf-8")
    return a, b


def test_markdown_to_stdout(files, capsys) -> None:
    assert main(["report", str(files[0]), "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## tflbench report") and "| digits-cnn | int8 |" in out


def test_html_from_output_suffix(files, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "report.html"
    assert main(["report", str(files[0]), str(files[1]), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "rpi4" in text


def test_json_with_limits(files, capsys) -> None:
    assert main(["report", str(files[0]), "--format", "json", "--max-p90-us", "60",
                 "--min-top1-agreement", "98%", "--prefer", "latency"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rec = doc["recommendation"]["digits-cnn"]
    assert rec["mode"] == "int8" and rec["prefer"] == "latency"
    assert rec["limits"] == {"max_p90_us": 60.0, "min_top1_agreement": 0.98}


def test_term_to_stdout_and_file(files, tmp_path: Path, capsys) -> None:
    assert main(["report", str(files[0])]) == 0
    assert "FAIL: 1 of 12 modes failed" in capsys.readouterr().out
    out = tmp_path / "report.txt"
    assert main(["report", str(files[0]), "--format", "term", "-o", str(out)]) == 0
    assert "digits-cnn" in out.read_text(encoding="utf-8")


def test_baseline_flag(files, capsys) -> None:
    assert main(["report", str(files[0]), "--format", "md", "--baseline", str(files[0])]) == 0
    out = capsys.readouterr().out
    assert f"### Changes against {files[0]}".replace("_", "\\_") in out
    assert "within noise (p=1)" in out


def test_fingerprint_warning_on_stderr(files, tmp_path: Path, capsys) -> None:
    doc = make_device_document()
    doc["models"][0]["dataset"]["fingerprint"] = "other"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["report", str(files[0]), str(other), "--format", "md"]) == 0
    captured = capsys.readouterr()
    assert "warning: digits-cnn: dataset fingerprints differ" in captured.err
    assert "dataset fingerprints differ" in captured.out


def test_user_errors_exit_2(files, tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path / "missing.json")]) == 2
    assert "Results file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    assert main(["report", str(bad)]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["report", str(files[0]), "--max-size-bytes", "lots"])
    assert exc.value.code == 2
    assert "expected a size in bytes" in capsys.readouterr().err
