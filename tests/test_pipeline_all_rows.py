"""A model that is already trained is evaluated on every row the user gave, and the figures
equal an independent computation with ai-edge-litert on the same rows and the same files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tflbench.cli import main as cli_main


def _litert_outputs(path: str, x: np.ndarray) -> np.ndarray:
    """One invoke per row with ai-edge-litert directly, quantizing I/O by hand."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=path)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    rows = []
    for row in x:
        v = row[None].astype(np.float32)
        scale, zero = inp["quantization"]
        if inp["dtype"] != np.float32:
            info = np.iinfo(inp["dtype"])
            v = np.clip(np.round(v / scale) + zero, info.min, info.max).astype(inp["dtype"])
        it.set_tensor(inp["index"], v)
        it.invoke()
        o = it.get_tensor(out["index"])
        scale, zero = out["quantization"]
        if out["dtype"] != np.float32:
            o = (o.astype(np.float32) - zero) * scale
        rows.append(o[0])
    return np.asarray(rows)


@pytest.fixture(scope="module")
def small_test_npz(digits, tmp_path_factory) -> Path:
    """A user's test set of 300 rows, sorted by class (as files often are)."""
    x = np.concatenate([digits.val.x, digits.test.x])[:300]
    y = np.concatenate([digits.val.y, digits.test.y])[:300]
    order = np.argsort(y, kind="stable")
    path = tmp_path_factory.mktemp("user") / "test.npz"
    np.savez(path, x=x[order], y=y[order])
    return path


def test_model_run_evaluates_every_row_like_litert_directly(
        tiny_model, tiny_model_file, small_test_npz, tmp_path: Path) -> None:
    rc = cli_main(["run", "--model", str(tiny_model_file), "--data", f"npz:{small_test_npz}",
                   "--modes", "fp32,int8", "--quiet", "--report-dir", str(tmp_path / "r"),
                   "--cache-dir", str(tmp_path / "cache")])
    assert rc == 0
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    model = doc["models"][0]
    data = np.load(small_test_npz, allow_pickle=False)
    x, y = data["x"].astype(np.float32), data["y"]
    assert model["dataset"]["n_eval"] == len(y) == 300
    cal = model["dataset"]["calibration"]
    assert cal == {"source": "evaluation set (seeded sample)", "n": 200, "disjoint": False}

    keras_out = np.asarray(tiny_model.predict(x, verbose=0))
    keras_pred = keras_out.argmax(axis=1)
    assert model["keras"]["accuracy"] == pytest.approx(np.mean(keras_pred == y), abs=1e-12)
    for rec in model["modes"]:
        assert rec["status"] == "ok", rec["error"]
        out = _litert_outputs(rec["file"]["path"], x)
        pred = out.argmax(axis=1)
        assert rec["agreement"]["n"] == 300
        assert rec["agreement"]["top1"] == pytest.approx(np.mean(pred == keras_pred), abs=1e-12)
        assert rec["accuracy"]["accuracy"] == pytest.approx(np.mean(pred == y), abs=1e-12)
        lost = int(np.sum((keras_pred == y) & (pred != y)))
        gained = int(np.sum((keras_pred != y) & (pred == y)))
        assert (rec["accuracy"]["lost"], rec["accuracy"]["gained"]) == (lost, gained)
        lo, hi = rec["accuracy"]["ci95"]
        assert lo <= rec["accuracy"]["accuracy"] <= hi


def test_explicit_fractions_still_split(tiny_model_file, small_test_npz, tmp_path: Path) -> None:
    rc = cli_main(["run", "--model", str(tiny_model_file), "--data",
                   f"npz:{small_test_npz}?fractions=0.8/0.1/0.1", "--modes", "fp32", "--quiet",
                   "--report-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c")])
    assert rc == 0
    model = json.loads((tmp_path / "r" / "results.json").read_text())["models"][0]
    assert 25 <= model["dataset"]["n_eval"] <= 35  # a stratified 10% of 300
    assert model["dataset"]["calibration"]["disjoint"] is True


def test_threads_zero_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main(["run", "--threads", "0"])
    assert exc.value.code == 2
    assert "--threads: expected a positive whole number. Received: '0'" in capsys.readouterr().err
