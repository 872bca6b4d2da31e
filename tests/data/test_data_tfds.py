"""TFDS source, offline: mocked data for loading, an empty data_dir for the missing-data error.

Nothing here downloads: the missing-data tests use ``download=False`` or replace the download
step with one that fails at once.
"""

from __future__ import annotations

import numpy as np
import pytest

from tflbench.data import tfds as tfds_source
from tflbench.data.sources import load_dataset
from tflbench.errors import ConfigError, DataError

tfds = pytest.importorskip("tensorflow_datasets")


def test_missing_data_without_download_is_one_clear_error(tmp_path):
    with pytest.raises(DataError) as info:
        tfds_source.load("fashion_mnist", data_dir=tmp_path, download=False)
    msg = str(info.value)
    assert f"not prepared in '{tmp_path}'" in msg
    assert "tfds.load('fashion_mnist', data_dir='DIR')" in msg
    assert "tfds build fashion_mnist --data_dir DIR" in msg
    assert info.value.__cause__ is None


def test_failed_download_is_wrapped(tmp_path, monkeypatch):
    real_builder = tfds.builder
    calls = []

    def builder(name, **kwargs):
        b = real_builder(name, **kwargs)

        def no_network(*args, **kw):
            calls.append(name)
            raise OSError("Name or service not known")

        b.download_and_prepare = no_network
        return b

    monkeypatch.setattr(tfds, "builder", builder)
    import tflbench.data.network as network

    monkeypatch.setattr(network, "offline_reason", lambda *a, **k: None)  # "online"
    with pytest.raises(DataError, match=r"could not be downloaded \(Name or service not known\)"):
        tfds_source.load("mnist", data_dir=tmp_path)
    assert calls == ["mnist"]


def test_offline_fails_fast_without_trying_to_download(tmp_path, monkeypatch):
    real_builder = tfds.builder
    calls = []

    def builder(name, **kwargs):
        b = real_builder(name, **kwargs)
        b.download_and_prepare = lambda *a, **k: calls.append(name)
        return b

    monkeypatch.setattr(tfds, "builder", builder)
    monkeypatch.setenv("TFLBENCH_OFFLINE", "1")
    with pytest.raises(DataError, match=r"could not be downloaded \(TFLBENCH_OFFLINE is set\)"):
        tfds_source.load("mnist", data_dir=tmp_path)
    assert calls == []


def test_offline_reason_from_a_failed_lookup(monkeypatch):
    import socket

    import tflbench.data.network as network

    monkeypatch.delenv("TFLBENCH_OFFLINE", raising=False)

    def fail(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(network.socket, "getaddrinfo", fail)
    assert "cannot be resolved" in network.offline_reason("data.example")
    monkeypatch.setattr(network.socket, "getaddrinfo", lambda *a, **k: [])
    assert network.offline_reason("data.example") is None


def test_unknown_dataset_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="Unknown TFDS dataset.*no_such_set_xyz"):
        tfds_source.load("no_such_set_xyz", data_dir=tmp_path, download=False)


def test_split_list_rules():
    assert tfds_source._split_list(None, ["train", "validation", "test"]) == [
        "train", "validation", "test"]
    assert tfds_source._split_list(None, ["train", "test"]) == ["train", "test"]
    assert tfds_source._split_list(None, ["train"]) == ["train"]
    assert tfds_source._split_list("train[:10%], test", []) == ["train[:10%]", "test"]
    with pytest.raises(ConfigError, match="1 to 3 TFDS split"):
        tfds_source._split_list(["a", "b", "c", "d"], [])


@pytest.fixture
def mocked(tmp_path):
    with tfds.testing.mock_data(num_examples=60):
        yield tmp_path


def test_three_splits_with_mock_data(mocked):
    ds = tfds_source.load("fashion_mnist", data_dir=mocked, download=False,
                          splits=["train[:80%]", "train[80%:90%]", "train[90%:]"])
    assert ds.class_names[:2] == ("T-shirt/top", "Trouser")
    assert (len(ds.train), len(ds.val), len(ds.test)) == (60, 60, 60)
    assert ds.input_shape == (28, 28, 1)
    assert ds.train.x.dtype == np.float32 and 0.0 <= ds.train.x.min() <= ds.train.x.max() <= 1.0
    assert ds.source == "tfds:fashion_mnist?split=train[:80%],train[80%:90%],train[90%:]"


def test_two_splits_carve_validation_and_resize(mocked):
    ds = tfds_source.load("mnist", data_dir=mocked, download=False, splits="train,test",
                          input_size=14, preprocessing="mobilenet_v2")
    assert (len(ds.train) + len(ds.val), len(ds.test)) == (60, 60)
    assert len(ds.val) > 0
    assert ds.input_shape == (14, 14, 1)
    assert ds.preprocessing["named"] == "mobilenet_v2"


def test_one_split_uses_fractions_and_spec_string(mocked):
    ds = load_dataset(f"tfds:mnist?split=train&data_dir={mocked}&download=false",
                      fractions=(0.5, 0.5))
    assert len(ds.train) + len(ds.val) + len(ds.test) == 60
    with pytest.raises(ConfigError, match="only when one TFDS split"):
        tfds_source.load("mnist", data_dir=mocked, download=False, splits="train,test",
                         fractions=(0.5, 0.5))
