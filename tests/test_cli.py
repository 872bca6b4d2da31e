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


@pytest.mark.parametrize("spec, message", [
    ("bogus:thing", "Unknown data spec. Received: 'bogus:thing'"),
    ("npz:/nonexistent/data.npz", "Data not found: /nonexistent/data.npz"),
    ("digits?size=abc", "Received: 'abc'"),
])
def test_bad_data_spec_is_one_error_before_any_work(tiny_model_file, tmp_path, capsys,
                                                     spec, message):
    rc = main(["run", "--model", str(tiny_model_file), "--data", spec, "--quiet",
               "--report-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("error:") == 1
    assert not (tmp_path / "r").exists()


def test_data_that_fails_to_load_is_one_error(tiny_model_file, tmp_path, capsys):
    (tmp_path / "photos" / "cat").mkdir(parents=True)
    (tmp_path / "photos" / "dog").mkdir()
    rc = main(["run", "--model", str(tiny_model_file), "--data", f"folder:{tmp_path / 'photos'}",
               "--quiet", "--report-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("tflbench: error:") == 1 and "cat" in err


def test_name_needs_a_single_model(tiny_model_file, capsys):
    rc = main(["run", "--model", str(tiny_model_file), "--model", str(tiny_model_file),
               "--name", "x"])
    assert rc == 2 and "--name names a single --model" in capsys.readouterr().err


def test_same_stem_models_get_distinct_names(tiny_model, tiny_model_file, tmp_path):
    import argparse

    from tflbench.commands.run import add_arguments, settings_and_subjects

    h5 = tmp_path / "tiny.h5"
    tiny_model.save(h5)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    _, subjects = settings_and_subjects(parser.parse_args(
        ["--model", str(tiny_model_file), "--model", str(h5)]))
    assert [s.name for s in subjects] == ["tiny", "tiny.h5"]


def test_missing_baseline_is_an_error_before_any_work(tmp_path, capsys):
    rc = main(["run", "--baseline", str(tmp_path / "nope.json"), "--quiet"])
    assert rc == 2 and "Results file not found" in capsys.readouterr().err


def test_truncated_keras_file_says_what_to_do(tmp_path, capsys):
    p = tmp_path / "cut.keras"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 20)
    rc = main(["run", "--model", str(p), "--quiet", "--report-dir", str(tmp_path / "r"),
               "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2 and "cut.keras is not a valid .keras file" in err and "model.save" in err


def test_unexpected_exception_is_an_internal_error(monkeypatch, capsys):
    import tflbench.commands.modes as modes_cmd

    def boom(args):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(modes_cmd, "main", boom)
    assert main(["modes"]) == 3
    assert "internal error" in capsys.readouterr().err


def test_recipe_params_are_typed_and_checked(capsys):
    from tflbench.commands.run import _recipe_params

    assert _recipe_params(["epochs=3", "learning_rate=1e-3", "augment=true", "weights=none"]) == \
        {"epochs": 3, "learning_rate": 1e-3, "augment": True, "weights": "none"}
    assert main(["run", "--recipe", "digits-cnn", "--param", "epoch=3"]) == 2
    assert "Unknown parameter(s) for recipe 'digits-cnn': epoch" in capsys.readouterr().err


def test_folder_recipe_needs_data(capsys):
    assert main(["run", "--recipe", "image-folder-mobilenetv2"]) == 2
    assert "trains on your data" in capsys.readouterr().err
