"""Shared fixtures: the embedded digits data and a tiny Keras model trained on it.

TensorFlow is imported only inside fixtures that need it, so runtime-only tests stay light.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite runs under xdist already: runs use one process unless a test asks for more
# (tests/test_scale.py checks the parallel paths give the same figures).
os.environ.setdefault("TFLBENCH_JOBS", "1")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _results_files_match_the_schema(monkeypatch: pytest.MonkeyPatch):
    """Every results document a test writes (through the one atomic writer) validates against
    the JSON Schema shipped in the package."""
    try:
        import jsonschema
    except ImportError:  # the no-TensorFlow device environment has no dev dependencies
        yield
        return
    import json

    import tflbench.fileio as fileio
    from tflbench.commands.schema import load_schema

    validator = jsonschema.Draft202012Validator(load_schema("results"))
    real = fileio.atomic_write_bytes

    def checked(path, data: bytes):
        if str(path).endswith(".json") and b'"tflbench.results"' in data[:200]:
            doc = json.loads(data)
            best = jsonschema.exceptions.best_match(validator.iter_errors(doc))
            assert best is None, f"{path}: {best.json_path}: {best.message}"
        return real(path, data)

    monkeypatch.setattr(fileio, "atomic_write_bytes", checked)
    yield


def shared_data_dir() -> Path:
    return Path(os.environ.get("TFLBENCH_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def digits():
    from tflbench.data import digits

    return digits.load()


def build_tiny_model(input_shape=(8, 8, 1), num_classes=10, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])


@pytest.fixture(scope="session")
def tiny_model(digits):
    """A small CNN trained for a few epochs on digits (about 90% accuracy, a second to train)."""
    model = build_tiny_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(digits.train.x, digits.train.y, epochs=5, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="session")
def tiny_model_file(tiny_model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    tiny_model.save(path)
    return path


@pytest.fixture(scope="session")
def digits_npz(digits, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    x = np.concatenate([digits.train.x, digits.val.x, digits.test.x])
    y = np.concatenate([digits.train.y, digits.val.y, digits.test.y])
    np.savez(path, x=x, y=y, class_names=np.array(digits.class_names))
    return path


@pytest.fixture(scope="session")
def tflite_by_mode(tiny_model, digits):
    """Bytes of the tiny model converted under every registered mode."""
    from tflbench.convert import convert
    from tflbench.modes import MODES

    rep = digits.train.x[:50]
    return {name: convert(tiny_model, mode, rep).tflite for name, mode in MODES.items()}


@pytest.fixture(scope="session")
def cumsum_model():
    """A model with a CUMSUM op: converts in float modes, fails in int16x8."""
    import keras

    @keras.saving.register_keras_serializable(package="tflbench_tests")
    class CumSum(keras.layers.Layer):
        def call(self, x):
            return keras.ops.cumsum(x, axis=-1)

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1))
    h = CumSum()(keras.layers.Flatten()(inp))
    return keras.Model(inp, keras.layers.Dense(10, activation="softmax")(h))


@pytest.fixture(scope="session")
def cumsum_model_file(cumsum_model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "cumsum.keras"
    cumsum_model.save(path)
    return path
