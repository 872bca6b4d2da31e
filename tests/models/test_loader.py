import numpy as np
import pytest

from tflbench.errors import ModelLoadError
from tflbench.models.loader import load_model, model_hash, model_kind


def test_kinds(tmp_path):
    assert model_kind(tmp_path / "a.keras") == "keras"
    assert model_kind(tmp_path / "a.H5") == "h5"
    with pytest.raises(ModelLoadError, match=r"Unsupported model file.*'\.onnx'"):
        model_kind(tmp_path / "a.onnx")
    with pytest.raises(ModelLoadError, match="without saved_model.pb"):
        model_kind(tmp_path)


def test_keras_round_trip_keeps_the_hash(tiny_model, tiny_model_file):
    loaded = load_model(tiny_model_file)
    assert model_hash(loaded) == model_hash(tiny_model)


def test_h5_loads(tiny_model, tmp_path, digits):
    p = tmp_path / "m.h5"
    tiny_model.save(p)
    m = load_model(p)
    np.testing.assert_allclose(m.predict(digits.test.x[:5], verbose=0),
                               tiny_model.predict(digits.test.x[:5], verbose=0), atol=1e-6)


def test_saved_model_directory_loads(tiny_model, tmp_path, digits):
    d = tmp_path / "sm"
    tiny_model.export(d, verbose=False)
    m = load_model(d)
    np.testing.assert_allclose(m.predict(digits.test.x[:5], verbose=0),
                               tiny_model.predict(digits.test.x[:5], verbose=0), atol=1e-5)


def test_lambda_layer_is_refused_in_safe_mode_and_loads_when_trusted(tmp_path):
    import keras

    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Lambda(lambda x: x * 2.0)(inp))
    p = tmp_path / "lambda.keras"
    model.save(p)
    with pytest.raises(ModelLoadError, match=r"lambda.keras.*--unsafe-model-loading"):
        load_model(p)
    assert load_model(p, safe_mode=False).predict(np.ones((1, 4)), verbose=0)[0, 0] == 2.0


def test_corrupt_keras_file(tmp_path):
    p = tmp_path / "broken.keras"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelLoadError, match="broken.keras"):
        load_model(p)


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        load_model(tmp_path / "nope.keras")


def test_hash_sees_the_architecture_not_only_the_weights():
    import keras

    def build(activation):
        keras.utils.set_random_seed(0)
        inp = keras.Input((4,))
        return keras.Model(inp, keras.layers.Dense(3, activation=activation)(inp))

    a, b = build("softmax"), build(None)
    b.set_weights(a.get_weights())
    assert model_hash(a) != model_hash(b)
