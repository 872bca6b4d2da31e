"""``tflbench ops``: tables, the --targets gate, JSON, errors, and no TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tflbench.cli import main

BUNDLE = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"
TARGETS = ["--targets", "ai-edge-litert>=2.3", "tflite-runtime==2.14"]


def test_op_tables_without_targets(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["ops", str(BUNDLE)]) == 0
    out = capsys.readouterr().out
    for label in ("digits-mini/fp32", "digits-mini/dynamic", "digits-mini/int8"):
        assert label in out
    assert "v12" in out and "NO (v1-v10)" in out
    assert "nothing is gated" in out


def test_targets_gate_names_op_version_and_runtime(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", str(BUNDLE), *TARGETS]) == 1
    err = capsys.readouterr().err
    assert "digits-mini/dynamic: FULLY_CONNECTED v12 is not supported by tflite-runtime 2.14" \
        in err
    assert "fp32" not in err and "int8" not in err


def test_a_compatible_file_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", str(BUNDLE / "digits-mini" / "fp32.tflite"), *TARGETS]) == 0
    assert "Every mode loads on ai-edge-litert>=2.3, tflite-runtime==2.14" in " ".join(
        capsys.readouterr().out.split())


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", str(BUNDLE), "--json", "--targets", "tflite-runtime>=2.10"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "tflbench.ops"
    assert [m["label"] for m in doc["models"]] == ["digits-mini/fp32", "digits-mini/dynamic",
                                                   "digits-mini/int8"]
    assert len(doc["failures"]) == 1 and "FULLY_CONNECTED v12" in doc["failures"][0]
    assert doc["warnings"] and "older than 2.14.0" in doc["warnings"][0]
    dynamic = doc["models"][1]
    assert {"name": "FULLY_CONNECTED", "version": 12, "count": 2, "builtin_code": 9} \
        in dynamic["ops"]
    assert dynamic["compatibility"]["compatible"] is False


def test_user_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "cut.tflite"
    bad.write_bytes((BUNDLE / "digits-mini" / "fp32.tflite").read_bytes()[:100])
    assert main(["ops", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert main(["ops", str(BUNDLE), "--targets", "tflite-runtime=2.14"]) == 2
    assert "each clause must be one of" in capsys.readouterr().err


def test_runs_without_importing_tensorflow() -> None:
    code = (
        "import sys\n"
        "from tflbench.cli import main\n"
        f"rc = main(['ops', {str(BUNDLE)!r}, '--xnnpack', '--targets', 'tflite-runtime==2.14'])\n"
        "assert rc == 1, rc\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "XNNPACK" in proc.stdout
