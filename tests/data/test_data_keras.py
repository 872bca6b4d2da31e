"""keras.datasets sources. No test here touches the network: downloads are replaced."""

from __future__ import annotations

import numpy as np
import pytest

from tflbench.data import keras_datasets
from tflbench.errors import ConfigError, DataError

URL_ERROR = ("URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
             "mnist.npz: None -- [Errno -2] Name or service not known")


def _fake(n_train: int = 300, n_test: int = 50, shape=(28, 28), label_shape=()):
    rng = np.random.default_rng(0)
    x_tr = rng.integers(0, 256, (n_train, *shape), dtype=np.uint8)
    x_te = rng.integers(0, 256, (n_test, *shape), dtype=np.uint8)
    y_tr = (np.arange(n_train) % 10).reshape(-1, *label_shape)
    y_te = (np.arange(n_test) % 10).reshape(-1, *label_shape)
    return (x_tr, y_tr), (x_te, y_te)


def test_unknown_name_is_a_config_error():
    with pytest.raises(ConfigError, match="Unknown Keras dataset.*'imagenet'.*mnist"):
        keras_datasets.load("imagenet")


def test_aliases():
    assert keras_datasets.canonical_name("Fashion-MNIST") == "fashion_mnist"
    assert keras_datasets.canonical_name("cifar-10") == "cifar10"


def test_offline_error_names_the_cache_and_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def failing():
        raise Exception(URL_ERROR)

    monkeypatch.setattr(keras_datasets, "_loader", lambda name: failing)
    with pytest.raises(DataError) as info:
        keras_datasets.load("mnist")
    msg = str(info.value)
    assert f"'{tmp_path / 'datasets'}'" in msg
    assert "keras.datasets.mnist.load_data()" in msg
    assert "Name or service not known" in msg
    assert info.value.__cause__ is None  # one clear error, not a chained traceback


def test_real_keras_loader_failure_is_wrapped(monkeypatch):
    """Runs keras' own load_data with its download step replaced by a failing one."""
    pytest.importorskip("keras")
    try:
        from keras.src.datasets import fashion_mnist as module
    except ImportError:  # pragma: no cover - keras internals moved
        pytest.skip("keras.src.datasets.fashion_mnist not importable")
    if not hasattr(module, "get_file"):  # pragma: no cover
        pytest.skip("keras' dataset module no longer uses get_file")

    def no_network(*args, **kwargs):
        raise Exception(URL_ERROR)

    monkeypatch.setattr(module, "get_file", no_network)
    with pytest.raises(DataError, match="'fashion_mnist' is not in the Keras cache"):
        keras_datasets.load("fashion_mnist")


def test_load_keeps_official_test_and_carves_validation(monkeypatch):
    monkeypatch.setattr(keras_datasets, "_loader", lambda name: lambda: _fake())
    ds = keras_datasets.load("fashion_mnist")
    assert ds.class_names[0] == "T-shirt/top" and ds.num_classes == 10
    assert (len(ds.train), len(ds.val), len(ds.test)) == (270, 30, 50)
    assert tuple(np.bincount(ds.val.y)) == (3,) * 10
    assert ds.input_shape == (28, 28, 1)
    assert ds.source == "keras.datasets.fashion_mnist"
    assert ds.preprocessing["named"] == "unit"
    assert ds.fingerprint() == keras_datasets.load("fashion_mnist").fingerprint()


def test_cifar_labels_and_preprocessing(monkeypatch):
    monkeypatch.setattr(keras_datasets, "_loader",
                        lambda name: lambda: _fake(shape=(8, 8, 3), label_shape=(1,)))
    ds = keras_datasets.load("cifar10", preprocessing="resnet50", input_size=4)
    assert ds.class_names[-1] == "truck"
    assert ds.input_shape == (4, 4, 3)
    assert ds.preprocessing["channel_order"] == "bgr"
    assert ds.train.y.ndim == 1


def test_fractions_are_refused():
    with pytest.raises(ConfigError, match="official train/test split"):
        keras_datasets.load("mnist", fractions=(0.8, 0.1, 0.1))


def test_cache_dir_follows_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert keras_datasets.keras_cache_dir() == tmp_path / "datasets"
    monkeypatch.delenv("KERAS_HOME")
    assert keras_datasets.keras_cache_dir().name == "datasets"
