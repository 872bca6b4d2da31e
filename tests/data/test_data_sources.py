from __future__ import annotations

import numpy as np
import pytest

from tflbench.data import digits, sources
from tflbench.data.sources import DataSpec, load_dataset, parse_spec
from tflbench.errors import ConfigError, DataError


@pytest.mark.parametrize(
    ("spec", "kind", "target", "options"),
    [
        ("digits", "digits", "", {}),
        ("  DIGITS ", "digits", "", {}),
        ("digits?seed=3&fractions=0.6/0.2/0.2", "digits", "",
         {"seed": 3, "fractions": [0.6, 0.2, 0.2]}),
        ("npz:/data/set.npz", "npz", "/data/set.npz", {}),
        ("/data/set.npz", "npz", "/data/set.npz", {}),
        ("npz:set.npz?size=32x24&preprocess=mobilenet_v2", "npz", "set.npz",
         {"size": [32, 24], "preprocess": "mobilenet_v2"}),
        ("folder:/data/flowers?size=224&fractions=0.9/0.1&color=grayscale", "folder",
         "/data/flowers", {"size": [224, 224], "fractions": [0.9, 0.1], "color": "grayscale"}),
        ("folder:/odd?name/x", "folder", "/odd?name/x", {}),
        ("tfds:fashion_mnist", "tfds", "fashion_mnist", {}),
        ("tfds:fashion_mnist?split=train[:80%],train[80%:90%],train[90%:]&data_dir=/d"
         "&download=false", "tfds", "fashion_mnist",
         {"split": ["train[:80%]", "train[80%:90%]", "train[90%:]"], "data_dir": "/d",
          "download": False}),
        ("keras:cifar10?preprocess=resnet50", "keras", "cifar10", {"preprocess": "resnet50"}),
    ],
)
def test_parse_spec_strings(spec, kind, target, options):
    parsed = parse_spec(spec)
    assert parsed == DataSpec(kind, target, options)
    assert parse_spec(parsed.to_string()) == parsed


def test_existing_directory_is_a_folder(tmp_path):
    assert parse_spec(str(tmp_path)) == DataSpec("folder", str(tmp_path), {})
    assert parse_spec(tmp_path).kind == "folder"


def test_parse_spec_dicts():
    d = parse_spec({"kind": "tfds", "name": "mnist", "splits": ["train", "test"],
                    "data_dir": "/d", "download": False, "input_size": 32})
    assert d == DataSpec("tfds", "mnist", {"split": ["train", "test"], "data_dir": "/d",
                                           "download": False, "size": [32, 32]})
    f = parse_spec({"kind": "folder", "path": "/x", "preprocessing": {"named": "densenet"}})
    assert f.options == {"preprocess": {"named": "densenet"}}


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [
        ("", "non-empty string"),
        (None, "non-empty string"),
        ("imagenet", "Unknown data spec.*'imagenet'"),
        ("npz:", "names no path"),
        ("tfds:", "names no dataset"),
        ("tfds:mnist?colour=rgb", "Unknown option 'colour=rgb'"),
        ("keras:mnist?split=train", "split do not apply to 'keras'"),
        ("keras:mnist?fractions=0.5/0.5", "fractions do not apply to 'keras'"),
        ("digits?preprocess=unit", "preprocess do not apply to 'digits'"),
        ("npz:a.npz?size=big", "size must be"),
        ("npz:a.npz?color=blue", "color must be"),
        ("npz:a.npz?seed=x", "seed must be an integer"),
        ("npz:a.npz?fractions=0.5/0.6", "fractions"),
        ("tfds:mnist?download=maybe", "download must be true or false"),
        ({"kind": "web", "name": "x"}, "needs 'kind'"),
        ({"kind": "npz"}, "needs 'path'"),
        ({"kind": "tfds", "name": "x", "url": "y"}, "Unknown key.*url"),
    ],
)
def test_bad_specs(spec, pattern):
    with pytest.raises((ConfigError, DataError), match=pattern):
        parse_spec(spec)


def test_digits_default_and_resplit():
    assert load_dataset().fingerprint() == digits.load().fingerprint()
    assert load_dataset("digits", seed=9).fingerprint() == digits.load(9).fingerprint()
    ds = load_dataset("digits?fractions=0.6/0.2/0.2")
    assert (len(ds.train), len(ds.val), len(ds.test)) == (1078, 360, 359)
    assert ds.notes and "fractions" in ds.notes[0]
    up = load_dataset("digits", input_size=16)
    assert up.input_shape == (16, 16, 1) and up.preprocessing["resize"] == [16, 16]
    with pytest.raises(ConfigError, match="already scaled"):
        load_dataset("digits", preprocessing="mobilenet_v2")


def test_npz_and_folder_dispatch(tmp_path, make_folder):
    rng = np.random.default_rng(0)
    path = tmp_path / "set.npz"
    np.savez(path, x=rng.integers(0, 256, (40, 4, 4, 3), dtype=np.uint8), y=np.arange(40) % 2)
    a = load_dataset(str(path), preprocessing="mobilenet_v2", input_size=2)
    b = load_dataset(f"npz:{path}?preprocess=mobilenet_v2&size=2")
    c = load_dataset({"kind": "npz", "path": str(path), "preprocessing": "mobilenet_v2",
                      "size": 2})
    assert a.fingerprint() == b.fingerprint() == c.fingerprint()
    assert a.input_shape == (2, 2, 3)

    root = make_folder({"a": 10, "b": 10})
    f1 = load_dataset(f"folder:{root}?color=grayscale&fractions=0.5/0.5")
    f2 = load_dataset(root, fractions=(0.5, 0.5), preprocessing={"color": "grayscale"})
    assert f1.fingerprint() == f2.fingerprint()
    assert f1.input_shape == (10, 12, 1)


def test_keyword_arguments_must_not_contradict_the_spec(tmp_path):
    with pytest.raises(ConfigError, match="seed=2 contradicts the data spec's seed=1"):
        load_dataset("digits?seed=1", seed=2)
    with pytest.raises(ConfigError, match="input_size"):
        load_dataset("npz:a.npz?size=4", input_size=8)
    with pytest.raises(ConfigError, match="contradicts"):
        load_dataset("npz:a.npz?preprocess=densenet", preprocessing="mobilenet_v2")
    with pytest.raises(ConfigError, match="data_dir do not apply"):
        load_dataset("npz:a.npz", data_dir=tmp_path)
    # the same value both ways is fine
    assert load_dataset("digits?seed=4", seed=4).fingerprint() == digits.load(4).fingerprint()


def test_tfds_dispatch_offline(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(DataError, match="tfds build mnist"):
        load_dataset(f"tfds:mnist?download=false&data_dir={tmp_path}")


def test_keras_dispatch(monkeypatch):
    from tflbench.data import keras_datasets

    x = np.zeros((200, 4, 4, 3), np.uint8)
    y = (np.arange(200) % 10).reshape(-1, 1)
    monkeypatch.setattr(keras_datasets, "_loader", lambda name: lambda: ((x, y), (x[:10],
                                                                                 y[:10])))
    ds = load_dataset("keras:cifar10")
    assert ds.class_names[0] == "airplane" and len(ds.test) == 10


def test_request_merges_options():
    req = sources.resolve_request("folder:/x?size=8", seed=3, fractions="0.9/0.1",
                                  preprocessing="unit")
    assert (req.seed, req.fractions, req.size, req.preprocessing) == (3, [0.9, 0.1], [8, 8],
                                                                       "unit")
