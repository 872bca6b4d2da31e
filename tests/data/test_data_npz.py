from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from tflbench.data import npz
from tflbench.errors import ConfigError, DataError


def _images(n: int = 120, shape=(6, 5, 3), classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    y = np.arange(n) % classes
    return x, y


def test_x_y_with_class_names_is_split_stratified(tmp_path):
    x, y = _images()
    path = tmp_path / "set.npz"
    np.savez(path, x=x, y=y, class_names=np.array(["cat", "dog", "eel"]))
    ds = npz.load(path)
    assert ds.class_names == ("cat", "dog", "eel")
    assert (len(ds.train), len(ds.val), len(ds.test)) == (96, 12, 12)
    assert tuple(np.bincount(ds.test.y)) == (4, 4, 4)
    assert ds.train.x.dtype == np.float32 and ds.input_shape == (6, 5, 3)
    assert ds.preprocessing["named"] == "unit" and ds.preprocessing["raw_dtype"] == "uint8"
    assert ds.name == "set" and ds.source == f"npz:{path.resolve()}"
    # the pixels are x / 255 of the original rows
    originals = {row.tobytes() for row in x}
    back = np.round(ds.test.x * 255.0).astype(np.uint8)
    assert np.abs(ds.test.x * 255.0 - back).max() < 1e-4
    assert all(row.tobytes() in originals for row in back)


def test_split_is_deterministic_per_seed(tmp_path):
    x, y = _images()
    path = tmp_path / "set.npz"
    np.savez(path, x=x, y=y)
    assert npz.load(path, seed=5).fingerprint() == npz.load(path, seed=5).fingerprint()
    assert npz.load(path, seed=5).fingerprint() != npz.load(path, seed=6).fingerprint()


def test_own_splits_are_kept_and_val_is_carved_when_absent(tmp_path):
    x, y = _images(200)
    path = tmp_path / "splits.npz"
    np.savez(path, x_train=x[:150], y_train=y[:150], x_test=x[150:], y_test=y[150:])
    ds = npz.load(path)
    assert len(ds.test) == 50
    assert np.array_equal(ds.test.y, y[150:])
    assert (len(ds.train), len(ds.val)) == (135, 15)
    assert tuple(np.bincount(ds.val.y)) == (5, 5, 5)

    path3 = tmp_path / "three.npz"
    np.savez(path3, x_train=x[:100], y_train=y[:100], x_val=x[100:150], y_val=y[100:150],
             x_test=x[150:], y_test=y[150:])
    ds3 = npz.load(path3)
    assert (len(ds3.train), len(ds3.val), len(ds3.test)) == (100, 50, 50)
    assert np.array_equal(ds3.val.y, y[100:150])


def test_float_images_default_to_no_change_and_grayscale_gets_a_channel(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 4, 4)).astype(np.float64)
    y = np.arange(60) % 2
    path = tmp_path / "f.npz"
    np.savez(path, x=x, y=y)
    ds = npz.load(path)
    assert ds.input_shape == (4, 4, 1)
    assert ds.preprocessing["named"] == "raw"
    every = np.concatenate([ds.train.x, ds.val.x, ds.test.x])[..., 0]
    assert {r.tobytes() for r in every} == {r.tobytes() for r in x.astype(np.float32)}


def test_preprocessing_and_input_size(tmp_path):
    x, y = _images(60, shape=(8, 8, 3))
    path = tmp_path / "s.npz"
    np.savez(path, x=x, y=y)
    ds = npz.load(path, preprocessing="mobilenet_v2", input_size=4)
    assert ds.input_shape == (4, 4, 3)
    assert ds.preprocessing["resize"] == [4, 4]
    assert -1.0 <= ds.train.x.min() and ds.train.x.max() <= 1.0


def test_object_array_is_refused(tmp_path):
    path = tmp_path / "obj.npz"
    x = np.empty(3, dtype=object)
    x[:] = [np.zeros((2, 2)), "a", None]
    np.savez(path, x=x, y=np.arange(3))
    with pytest.raises(DataError, match=r"'x'.*dtype=object.*refused for safety"):
        npz.load(path)


def test_pickle_file_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "evil.npz"
    marker = tmp_path / "was_unpickled"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(DataError, match="unpickling.*refused for safety"):
        npz.load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("arrays", "pattern"),
    [
        ({"images": np.zeros((4, 2, 2)), "y": np.zeros(4, int)}, r"lacks the arrays.*'images'"),
        ({"x": np.zeros((4, 2, 2)), "labels": np.zeros(4, int)}, "lacks the arrays"),
        ({"x": np.zeros((4, 2)), "y": np.arange(4) % 2}, r"shape \(4, 2\)"),
        ({"x": np.zeros((4, 2, 2, 5)), "y": np.arange(4) % 2}, "1 to 4 channels"),
        ({"x": np.zeros((4, 2, 2, 3, 1)), "y": np.arange(4) % 2}, r"\(N, H, W\) or"),
        ({"x": np.zeros((4, 2, 2)), "y": np.array([0, 1, 0, 5]),
          "class_names": np.array(["a", "b"])}, "Label 5 .* out of range for 2 class names"),
        ({"x": np.zeros((4, 2, 2)), "y": np.array([0, 1, -1, 1])}, "negative label"),
        ({"x": np.zeros((4, 2, 2)), "y": np.array([0.0, 1.0, 0.0, 1.0])}, "integer class"),
        ({"x": np.zeros((4, 2, 2)), "y": np.eye(2)[[0, 1, 0, 1]].astype(int)}, "One-hot"),
        ({"x": np.zeros((4, 2, 2)), "y": np.arange(3) % 2}, "3 labels for 4 images"),
        ({"x": np.full((4, 2, 2), np.nan), "y": np.arange(4) % 2}, "NaN"),
        ({"x": np.array([["a"]] * 4), "y": np.arange(4) % 2}, "integer or float pixels"),
        ({"x": np.zeros((4, 2, 2)), "y": np.zeros(4, int)}, "single class"),
        ({"x": np.zeros((4, 2, 2)), "y": np.arange(4) % 2,
          "class_names": np.array(["a", "a"])}, "duplicates"),
        ({"x": np.zeros((4, 2, 2)), "y": np.arange(4) % 2,
          "class_names": np.array([1, 2])}, "1-D array of strings"),
        ({"x_train": np.zeros((4, 2, 2)), "y_train": np.arange(4) % 2,
          "x_test": np.zeros((4, 3, 3)), "y_test": np.arange(4) % 2}, "different image shapes"),
        ({"x_train": np.zeros((4, 2, 2)), "y_train": np.arange(4) % 2,
          "x_test": np.zeros((2, 2, 2)), "y_test": np.arange(2), "x_val": np.zeros((2, 2, 2))},
         "only one of x_val and y_val"),
    ],
)
def test_bad_contents_are_clear_errors(tmp_path, arrays, pattern):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=pattern):
        npz.load(path)


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        npz.load(tmp_path / "missing.npz")
    single = tmp_path / "single.npy"
    np.save(single, np.zeros((3, 2, 2)))
    with pytest.raises(DataError, match="single array"):
        npz.load(single)
    x, y = _images()
    good = tmp_path / "good.npz"
    np.savez_compressed(good, x=x, y=y)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(DataError, match="cut.npz"):
        npz.load(cut)


def test_fractions_do_not_apply_to_files_with_splits(tmp_path):
    x, y = _images()
    path = tmp_path / "s.npz"
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y)
    with pytest.raises(ConfigError, match="fractions do not apply"):
        npz.load(path, fractions=(0.8, 0.1, 0.1))


def test_from_arrays_needs_enough_samples():
    x, y = _images(6, classes=2)
    with pytest.raises(DataError, match="too few samples"):
        npz.from_arrays({"all": (x, y)}, name="t", source="t", what="t")


@pytest.mark.parametrize(("content", "looks"), [
    (b"hello\n", "looks like text, starting 'hello'"),
    (b"", "the file is empty"),
    (b"\x00\x01\x02\x03binary", "starts with the bytes"),
])
@pytest.mark.parametrize("lazy", [False, True])
def test_a_file_that_is_no_archive_says_so(tmp_path, content, looks, lazy):
    path = tmp_path / "garbage.npz"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        npz.load(path, lazy=lazy)
    message = str(info.value)
    assert "garbage.npz' is not an .npz archive" in message
    assert looks in message and "numpy.savez" in message
    assert "unpickling" not in message


def test_an_empty_archive_says_it_holds_no_samples(tmp_path) -> None:
    import numpy as np

    from tflbench.data.sources import load_dataset
    from tflbench.errors import DataError

    path = tmp_path / "empty.npz"
    np.savez(path, x=np.zeros((0, 8, 8, 1), "float32"), y=np.zeros((0,), "int64"))
    with pytest.raises(DataError, match="holds no samples"):
        load_dataset(f"npz:{path}")
