"""Lazily loaded splits (``lazy=True``) hold the same samples, labels and fingerprint as the
same source loaded into memory, and read only the rows asked for."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
from data_helpers import write_image

from tflbench.data import folder, npz
from tflbench.data.base import Dataset, LazyArray, Split
from tflbench.data.sources import load_dataset
from tflbench.data.stream import open_stream
from tflbench.errors import ConfigError, DataError


def _images(n: int = 150, shape: tuple[int, ...] = (6, 5, 3), classes: int = 3, seed: int = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, *shape), dtype=np.uint8), np.arange(n) % classes


def _assert_same(eager: Dataset, lazy: Dataset) -> None:
    assert not eager.lazy and lazy.lazy
    for e, z in zip((eager.train, eager.val, eager.test), (lazy.train, lazy.val, lazy.test),
                    strict=True):
        assert isinstance(z.x, LazyArray)
        assert z.x.shape == e.x.shape and z.x.dtype == e.x.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(z.x), e.x)
        np.testing.assert_array_equal(z.y, e.y)
    assert lazy.preprocessing == eager.preprocessing
    assert lazy.notes == eager.notes
    assert lazy.fingerprint() == eager.fingerprint()
    assert lazy.describe() == eager.describe()


@pytest.mark.parametrize("writer", [np.savez, np.savez_compressed])
@pytest.mark.parametrize("kw", [{}, {"input_size": 9}, {"preprocessing": "mobilenet_v2"}])
def test_npz_lazy_equals_eager(tmp_path: Path, writer, kw) -> None:
    x, y = _images()
    path = tmp_path / "set.npz"
    writer(path, x=x, y=y, class_names=np.array(["a", "b", "c"]))
    _assert_same(npz.load(path, **kw), npz.load(path, lazy=True, **kw))


def test_npz_own_splits_grayscale_and_float(tmp_path: Path) -> None:
    x, _ = _images(90, (7, 7))  # (N, H, W): a channel axis is added
    xf = x.astype(np.float32) / 7.0
    path = tmp_path / "splits.npz"
    np.savez(path, x_train=xf[:60], y_train=np.arange(60) % 3, x_test=xf[60:],
             y_test=np.arange(30) % 3)
    eager, lazy = npz.load(path), npz.load(path, lazy=True)
    _assert_same(eager, lazy)
    assert lazy.input_shape == (7, 7, 1)


def test_indexing_reads_only_the_rows_asked_for(tmp_path: Path) -> None:
    x, y = _images(200)
    path = tmp_path / "set.npz"
    np.savez(path, x=x, y=y)
    eager, lazy = npz.load(path), npz.load(path, lazy=True)
    e, z = eager.train.x, lazy.train.x
    assert isinstance(z, LazyArray)
    reads: list[int] = []
    original = type(z)._read

    def counting(self: LazyArray, rows: np.ndarray) -> np.ndarray:
        reads.append(len(rows))
        return original(self, rows)

    type(z)._read = counting  # type: ignore[method-assign]
    try:
        np.testing.assert_array_equal(z[3], e[3])
        np.testing.assert_array_equal(z[-1], e[-1])
        np.testing.assert_array_equal(z[10:20:3], e[10:20:3])
        np.testing.assert_array_equal(z[[5, 1, 5]], e[[5, 1, 5]])
        mask = np.zeros(len(z), bool)
        mask[[2, 7]] = True
        np.testing.assert_array_equal(z[mask], e[mask])
        assert reads == [1, 1, 4, 3, 2]
        view = z.subset(slice(4, 14))
        assert len(view) == 10 and reads == [1, 1, 4, 3, 2]  # a view reads nothing
        np.testing.assert_array_equal(view[2:5], e[6:9])
        np.testing.assert_array_equal(np.concatenate(list(z.chunks(64))), e)
        assert max(reads[5:]) <= 64
        head = lazy.train.head(5)
        assert isinstance(head.x, LazyArray) and len(head) == 5
        np.testing.assert_array_equal(head.y, eager.train.y[:5])
        batches = [xb for xb, _ in lazy.train.batches(32)]
        np.testing.assert_array_equal(np.concatenate(batches), e)
    finally:
        type(z)._read = original  # type: ignore[method-assign]
    assert z[:0].shape == (0, *e.shape[1:])
    with pytest.raises(IndexError):
        z[len(z)]
    with pytest.raises(TypeError, match="first axis only"):
        z[0, 1]
    with pytest.raises(ValueError, match="copy=False"):
        np.asarray(z, copy=False)


def test_fingerprint_of_a_lazy_dataset_is_kept(tmp_path: Path) -> None:
    x, y = _images()
    path = tmp_path / "set.npz"
    np.savez(path, x=x, y=y)
    lazy = npz.load(path, lazy=True)
    first = lazy.fingerprint()
    path.unlink()  # the inputs are not read again
    assert lazy.fingerprint() == first


def test_in_memory_reads_everything(tmp_path: Path) -> None:
    x, y = _images()
    path = tmp_path / "set.npz"
    np.savez(path, x=x, y=y)
    lazy = npz.load(path, lazy=True)
    mem = lazy.in_memory()
    assert not mem.lazy and isinstance(mem.test.x, np.ndarray)
    assert mem.fingerprint() == lazy.fingerprint()
    assert mem.in_memory() is mem


def test_compressed_members_use_a_temporary_file_removed_with_the_arrays(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    x, y = _images()
    path = tmp_path / "set.npz"
    np.savez_compressed(path, x=x, y=y)
    lazy = npz.load(path, lazy=True)
    made = list((tmp_path / "tmp").glob("tflbench-npz-*"))
    assert len(made) == 1 and (made[0] / "x.npy").is_file()
    del lazy
    gc.collect()
    assert not made[0].exists()


def test_nan_pixels_are_reported_when_read(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((60, 4, 4, 1)).astype(np.float32)
    x[7, 1, 1, 0] = np.nan
    path = tmp_path / "nan.npz"
    np.savez(path, x=x, y=np.arange(60) % 2)
    with pytest.raises(DataError, match="NaN"):
        npz.load(path)
    lazy = npz.load(path, lazy=True)  # not read yet
    with pytest.raises(DataError, match="NaN"):
        lazy.fingerprint()


def test_lazy_npz_keeps_the_errors_of_the_eager_path(tmp_path: Path) -> None:
    path = tmp_path / "flat.npz"
    np.savez(path, x=np.zeros((20, 16), np.uint8), y=np.arange(20) % 2)
    with pytest.raises(DataError, match=r"Received: shape \(20, 16\)"):
        npz.load(path, lazy=True)
    with pytest.raises(DataError, match="lacks the arrays"):
        np.savez(tmp_path / "nokeys.npz", a=np.zeros(3))
        npz.load(tmp_path / "nokeys.npz", lazy=True)


def test_folder_lazy_equals_eager_with_skipped_files(make_folder) -> None:
    root = make_folder({"cat": 12, "dog": 12, "eel": 6})
    (root / "dog" / "broken.png").write_bytes(b"not a png")
    (root / "cat" / "notes.txt").write_text("hello")
    eager, lazy = folder.load(root), folder.load(root, lazy=True)
    _assert_same(eager, lazy)
    assert any("unreadable" in n for n in lazy.notes)
    assert isinstance(lazy.test.x, folder.FolderArray)


def test_folder_lazy_with_size_and_grayscale(make_folder) -> None:
    root = make_folder({"a": 10, "b": 10}, size=(9, 7))
    kw = {"input_size": (5, 6), "color": "grayscale", "fractions": "0.6/0.2/0.2"}
    _assert_same(folder.load(root, **kw), folder.load(root, lazy=True, **kw))


def test_folder_file_changed_after_loading(make_folder) -> None:
    root = make_folder({"a": 10, "b": 10})
    lazy = folder.load(root, lazy=True)
    x = lazy.test.x
    assert isinstance(x, folder.FolderArray)
    victim = x.files[0]
    victim.write_bytes(b"gone")
    with pytest.raises(DataError, match="changed since"):
        x[0:2]
    write_image(victim, (1, 2, 3), size=(30, 30))  # another size: resized like the rest
    assert x[0:2].shape == (2, *x.sample_shape)


def test_auto_is_lazy_only_above_the_threshold(tmp_path: Path, make_folder,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = _images()
    path = tmp_path / "set.npz"
    np.savez(path, x=x, y=y)
    root = make_folder({"a": 10, "b": 10})
    assert not load_dataset(f"npz:{path}", lazy="auto").lazy
    assert not load_dataset(f"folder:{root}", lazy="auto").lazy
    monkeypatch.setattr(npz, "LAZY_AUTO_BYTES", 1000)
    monkeypatch.setattr(folder, "LAZY_AUTO_BYTES", 1000)
    assert load_dataset(f"npz:{path}", lazy="auto").lazy
    assert load_dataset(f"folder:{root}?size=8", lazy="AUTO").lazy
    assert load_dataset(f"folder:{root}", lazy="auto").lazy  # size from the first image
    assert not load_dataset("digits", lazy=True).lazy  # in-memory sources stay in memory


def test_bad_lazy_value() -> None:
    with pytest.raises(ConfigError, match="lazy must be True, False or 'auto'"):
        load_dataset("digits", lazy="yes")


def test_lazy_split_matches_the_stream(tmp_path: Path) -> None:
    x, y = _images()
    path = tmp_path / "set.npz"
    np.savez(path, x=x, y=y)
    lazy = load_dataset(f"npz:{path}", lazy=True)
    with open_stream(f"npz:{path}", subset="test") as stream:
        streamed = np.concatenate([xb for xb, _ in stream.batches(16)])
    np.testing.assert_array_equal(streamed, np.asarray(lazy.test.x))


def test_a_split_of_a_lazy_array_checks_lengths() -> None:
    class Zeros(LazyArray):
        def _read(self, rows: np.ndarray) -> np.ndarray:
            return np.zeros((len(rows), 2), np.float32)

    z = Zeros(np.arange(5), (2,))
    with pytest.raises(DataError, match="differ in length"):
        Split(z, np.arange(4))
    assert Split(z, np.arange(5)).in_memory().x.shape == (5, 2)

    class Short(Zeros):
        def _read(self, rows: np.ndarray) -> np.ndarray:
            return np.zeros((len(rows) - 1, 2), np.float32)

    with pytest.raises(DataError, match="changed on disk"):
        Short(np.arange(5), (2,))[0:3]
