"""A model built to quantize badly: one layer with an outlier activation range.

Layer ``squash`` is a Dense with tanh whose first unit's weights are scaled 200x: its
pre-activation range is huge, so int8 activations leave the other units a handful of levels and
top-1 agreement collapses. Diagnose must name it first; tune must fix the gate by keeping it
(and little else) in float.
"""

from __future__ import annotations

import json

import pytest

from tflbench.modes import MODES


@pytest.fixture(scope="module")
def outlier_model(digits):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="conv"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(32, activation="tanh", name="squash"),
        keras.layers.Dense(16, activation="relu", name="dense"),
        keras.layers.Dense(10, activation="softmax", name="dense_1"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(digits.train.x, digits.train.y, epochs=8, batch_size=64, verbose=0)  # about 1 s
    w, b = model.get_layer("squash").get_weights()
    w[:, 0] *= 200.0
    b[0] *= 200.0
    model.get_layer("squash").set_weights([w, b])
    return model


@pytest.fixture(scope="module")
def outlier_file(outlier_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "outlier.keras"
    outlier_model.save(path)
    return path


def test_diagnose_names_the_outlier_layer_first(outlier_model, digits):
    from tflbench.diagnose import attribute

    attr = attribute(outlier_model, MODES["int8"], digits.train.x[:100], digits.test.x[:200])
    assert attr.agreement < 0.8
    first = attr.layers[0]
    assert first.layer == "squash"
    assert first.regained is not None and first.regained > 0.3
    assert first.sqnr_db is not None and first.sqnr_db < min(
        e.sqnr_db for e in attr.layers[1:] if e.sqnr_db is not None)
    assert attr.to_dict()["layers"][0]["layer"] == "squash"


def test_the_tuner_keeps_only_the_outlier_layer_float(outlier_model, digits):
    from tflbench.diagnose import attribute, backend_for, predict, top1_agreement
    from tflbench.tune import Budget, TuneStep, tune

    x, cal = digits.test.x[:200], digits.train.x[:100]
    ref = outlier_model.predict(x, verbose=0)
    backend = backend_for(outlier_model, MODES["int8"], cal, debug_samples=x)
    order = attribute(outlier_model, MODES["int8"], cal, x, reference=ref, probes=3,
                      backend=backend).order

    def evaluate(layers: tuple[str, ...]) -> TuneStep:
        agree = top1_agreement(ref, predict(backend.quantized(layers), x))
        return TuneStep(float_layers=layers, agreement=agree,
                        failures=() if agree >= 0.97 else (f"agreement {agree:.3f} < 0.97",))

    result = tune(evaluate, order, Budget(max_steps=4), base="int8")
    assert result and result.float_layers == ("squash",)
    assert [len(s.float_layers) for s in result.steps] == [0, 1]


@pytest.mark.slow
@pytest.mark.parametrize("search", [[], ["--search", "forward", "--width", "2"]],
                         ids=["order", "forward"])
def test_tune_fixes_the_gate_by_keeping_the_outlier_layer_float(outlier_file, digits_npz,
                                                                 tmp_path, monkeypatch, capsys,
                                                                 search):
    from tflbench.cli import main

    monkeypatch.chdir(tmp_path)
    recipe = tmp_path / "quant" / "int8-tuned.json"
    code = main(["tune", "--model", str(outlier_file), "--mode", "int8", "--quiet",
                 "--cache-dir", str(tmp_path / "cache"), "--report-dir", str(tmp_path / "rep"),
                 "--representative-samples", "100", "--max-eval-samples", "300",
                 "--min-top1-agreement", "0.97", "--max-accuracy-drop", "2pp",
                 "--save-recipe", str(recipe), *search])
    assert code == 0, capsys.readouterr().err
    assert json.loads(recipe.read_text())["float_layers"] == ["squash"]
    doc = json.loads((tmp_path / "rep" / "results.json").read_text())
    recs = {r["mode"]: r for r in doc["models"][0]["modes"]}
    tuned = recs["int8-tuned"]
    assert tuned["tuning"]["float_layers"] == ["squash"]
    assert tuned["tuning"]["stopped"] == "passed"
    assert tuned["tuning"]["search"] == ("forward" if search else "order")
    assert tuned["agreement"]["top1"] >= 0.97 > recs["int8"]["agreement"]["top1"]
    path = tuned["tuning"]["path"]
    assert [s["float_layers"] for s in path] == [[], ["squash"]]
    assert recs["int8"]["attribution"]["layers"][0]["layer"] == "squash"
    html = (tmp_path / "rep" / "quantization.html").read_text()
    assert 'class="plot attribution"' in html and 'class="plot tuning"' in html
    assert "int8-tuned: tuning path" in (tmp_path / "rep" / "quantization.md").read_text()


def test_run_attribute_puts_the_ranking_in_the_results_and_reports(outlier_file, digits_npz,
                                                                    tmp_path, capsys):
    from tflbench.cli import main

    rep = tmp_path / "rep"
    code = main(["run", "--model", str(outlier_file), "--data", f"npz:{digits_npz}",
                 "--modes", "fp32,int8", "--attribute", "int8", "--quiet",
                 "--cache-dir", str(tmp_path / "cache"), "--report-dir", str(rep),
                 "--representative-samples", "100", "--max-eval-samples", "300"])
    assert code == 0, capsys.readouterr().err
    doc = json.loads((rep / "results.json").read_text())
    recs = {r["mode"]: r for r in doc["models"][0]["modes"]}
    assert recs["int8"]["attribution"]["layers"][0]["layer"] == "squash"
    assert "attribution" not in recs["fp32"]
    assert "squash" in (rep / "report.md").read_text()
    assert 'class="plot attribution"' in (rep / "report.html").read_text()


@pytest.mark.parametrize("flag, message", [("fp16", "keeps float activations"),
                                           ("lq-static-int8", "not among the run's modes")])
def test_run_attribute_refuses_modes_it_cannot_rank(flag, message, tmp_path, capsys):
    from tflbench.cli import main

    code = main(["run", "--modes", "fp32,fp16,int8", "--attribute", flag, "--quiet",
                 "--cache-dir", str(tmp_path / "cache"), "--report-dir", str(tmp_path / "r")])
    assert code == 2
    assert message in capsys.readouterr().err
