import json

import pytest

from tflbench.cli import main

FAST = ["--threads", "1", "--representative-samples", "40", "--quiet"]


def test_user_keras_and_npz_end_to_end(tiny_model_file, digits_npz, tmp_path, capsys):
    rc = main(["run", "--model", str(tiny_model_file), "--data", f"npz:{digits_npz}",
               "--modes", "fp32,int8", "--cache-dir", str(tmp_path / "c"),
               "--report-dir", str(tmp_path / "r"), *FAST])
    assert rc == 0
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    model = doc["models"][0]
    assert model["name"] == "tiny" and model["dataset"]["source"]
    assert [r["mode"] for r in model["modes"]] == ["fp32", "int8"]
    assert all(r["status"] == "ok" for r in model["modes"])
    assert "tiny" in capsys.readouterr().out


def test_failed_mode_is_reported_and_strict_fails(cumsum_model_file, tmp_path, capsys):
    args = ["run", "--model", str(cumsum_model_file), "--modes", "fp32,int16x8",
            "--cache-dir", str(tmp_path / "c"), "--report-dir", str(tmp_path / "r"), *FAST]
    assert main(args) == 0
    assert main([*args, "--strict"]) == 1
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    failed = [r for r in doc["models"][0]["modes"] if r["status"] == "failed"]
    assert [r["mode"] for r in failed] == ["int16x8"]


def test_bad_mode_is_a_user_error(capsys):
    assert main(["run", "--modes", "int3"]) == 2
    assert "Unknown optimization mode. Received: 'int3'" in capsys.readouterr().err


def test_missing_model_is_a_user_error(tmp_path, capsys):
    assert main(["run", "--model", str(tmp_path / "nope.keras")]) == 2
    assert "Model not found" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["modes", "recipes"])
def test_listing_commands(cmd, capsys):
    assert main([cmd]) == 0
    out = capsys.readouterr().out
    assert ("int16x8" in out) if cmd == "modes" else ("digits-cnn" in out)
