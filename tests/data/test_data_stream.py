from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tflbench.data import folder, npz, stream
from tflbench.errors import ConfigError, DataError


def _collect(s: stream.Stream, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = zip(*s.batches(batch_size), strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def _save(path: Path, compressed: bool, **arrays: np.ndarray) -> Path:
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


@pytest.fixture
def images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (300, 6, 5, 3), dtype=np.uint8), np.arange(300) % 3


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("access", ["read", "mmap"])
@pytest.mark.parametrize("subset", ["train", "val", "test"])
def test_npz_stream_matches_the_loaded_split(tmp_path, images, compressed, access, subset):
    x, y = images
    path = _save(tmp_path / "s.npz", compressed, x=x, y=y, class_names=np.array(["a", "b", "c"]))
    ds = npz.load(path, preprocessing="densenet", seed=4)
    with stream.open_stream(f"npz:{path}", subset=subset, access=access,
                            preprocessing="densenet", seed=4) as s:
        assert s.class_names == ("a", "b", "c")
        assert len(s) == len(getattr(ds, subset))
        got_x, got_y = _collect(s, batch_size=17)
    np.testing.assert_array_equal(got_y, getattr(ds, subset).y)
    np.testing.assert_array_equal(got_x, getattr(ds, subset).x)


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_with_own_splits(tmp_path, images, compressed):
    x, y = images
    xf = np.asfortranarray(x.astype(np.float32) / 255.0)
    path = _save(tmp_path / "own.npz", compressed, x_train=xf[:200], y_train=y[:200],
                 x_test=xf[200:], y_test=y[200:])
    ds = npz.load(path)
    for subset in ("train", "val", "test"):
        got_x, got_y = _collect(stream.stream_npz(path, subset=subset))
        np.testing.assert_array_equal(got_y, getattr(ds, subset).y)
        np.testing.assert_array_equal(got_x, getattr(ds, subset).x)
    with pytest.raises(ConfigError, match="separate splits"):
        stream.stream_npz(path, subset="all")


def test_npz_all_in_file_order(tmp_path, images):
    x, y = images
    path = _save(tmp_path / "a.npz", False, x=x, y=y)
    s = stream.stream_npz(path, subset="all", input_size=3)
    got_x, got_y = _collect(s, 64)
    np.testing.assert_array_equal(got_y, y)
    assert got_x.shape == (300, 3, 3, 3)
    assert s.describe()["n"] == 300 and s.preprocessing["resize"] == [3, 3]


def test_compressed_npz_temp_file_is_removed_on_close(tmp_path, images):
    x, y = images
    path = _save(tmp_path / "c.npz", True, x=x, y=y)
    s = stream.stream_npz(path)
    tmp = Path(s._tmp.name)
    assert (tmp / "x.npy").exists()
    s.close()
    assert not tmp.exists()


def test_npz_stream_refuses_object_arrays_and_bad_files(tmp_path):
    obj = np.empty(4, dtype=object)
    obj[:] = [1, "a", None, 2.0]
    bad = tmp_path / "obj.npz"
    np.savez(bad, x=obj, y=np.arange(4))
    with pytest.raises(DataError, match="dtype=object"):
        stream.stream_npz(bad, subset="all")
    not_zip = tmp_path / "x.npz"
    not_zip.write_text("hello")
    with pytest.raises(DataError, match="not an .npz archive"):
        stream.stream_npz(not_zip)
    with pytest.raises(DataError, match="not found"):
        stream.stream_npz(tmp_path / "missing.npz")
    keys = tmp_path / "k.npz"
    np.savez(keys, images=np.zeros((3, 2, 2)))
    with pytest.raises(DataError, match="lacks the arrays"):
        stream.stream_npz(keys)


def test_npz_stream_checks_nan_per_batch(tmp_path):
    x = np.zeros((40, 2, 2), np.float32)
    x[37] = np.nan
    path = _save(tmp_path / "n.npz", False, x=x, y=np.arange(40) % 2)
    with pytest.raises(DataError, match="NaN"):
        list(stream.stream_npz(path, subset="all").batches(8))


def test_folder_stream_matches_the_loaded_split(make_folder):
    root = make_folder({"a": 20, "b": 20, "c": 10}, ext=".jpg")
    (root / "a" / "broken.jpg").write_text("not a jpeg")
    ds = folder.load(root, preprocessing="mobilenet_v2", input_size=8)
    total = 0
    for subset in ("train", "val", "test"):
        s = stream.open_stream(f"folder:{root}?preprocess=mobilenet_v2&size=8", subset=subset)
        got_x, got_y = _collect(s, 7)
        np.testing.assert_array_equal(got_y, getattr(ds, subset).y)
        np.testing.assert_array_equal(got_x, getattr(ds, subset).x)
        total += len(s.skipped)
    assert total == 1
    everything = stream.stream_folder(root, subset="all", input_size=8)
    assert len(everything) == 51
    assert sum(len(y) for _, y in everything) == 50
    assert everything.skipped[0].reason == folder.UNREADABLE


def test_in_memory_sources_stream_their_split():
    s = stream.open_stream("digits", subset="val")
    from tflbench.data import digits

    ds = digits.load()
    got_x, got_y = _collect(s, 100)
    np.testing.assert_array_equal(got_x, ds.val.x)
    assert len(stream.open_stream("digits", subset="all")) == 1797


def test_bad_arguments():
    with pytest.raises(ConfigError, match="subset must be one of"):
        stream.open_stream("digits", subset="holdout")
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        list(stream.open_stream("digits").batches(0))
    with pytest.raises(ConfigError, match="access must be"):
        stream.stream_npz("x.npz", access="fast")
