from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from data_helpers import COLOURS, write_image

from tflbench.data import folder
from tflbench.errors import DataError

pytest.importorskip("PIL")


def test_loads_classes_sorted_split_and_preprocessed(make_folder):
    root = make_folder({"dog": 20, "cat": 20, "bird": 10})
    ds = folder.load(root)
    assert ds.class_names == ("bird", "cat", "dog")
    assert (len(ds.train), len(ds.val), len(ds.test)) == (40, 5, 5)
    assert ds.input_shape == (10, 12, 3)
    assert ds.train.x.dtype == np.float32
    assert 0.0 <= ds.train.x.min() and ds.train.x.max() <= 1.0
    assert ds.preprocessing["resize"] == [10, 12]
    assert ds.preprocessing["color"] == "rgb"
    assert ds.preprocessing["named"] == "unit"
    assert ds.source == f"folder:{root.resolve()}"
    # stratified: every split holds every class in proportion
    for split, per_class in ((ds.train, (8, 16, 16)), (ds.test, (1, 2, 2))):
        assert tuple(np.bincount(split.y, minlength=3)) == per_class


def test_pixels_match_the_file(make_folder):
    from PIL import Image

    root = make_folder({"a": 3, "b": 3})
    ds = folder.load(root, fractions=(0.34, 0.33, 0.33))
    every = np.concatenate([ds.train.x, ds.val.x, ds.test.x])
    expected = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255.0
                for p in sorted(root.glob("*/*.png"))]
    # each file's pixels appear exactly once among the split images
    for e in expected:
        assert sum(np.allclose(e, x, atol=1e-6) for x in every) == 1


def test_split_is_seeded(make_folder):
    root = make_folder({"a": 15, "b": 15})
    one = folder.load(root, seed=1)
    assert one.fingerprint() == folder.load(root, seed=1).fingerprint()
    assert one.fingerprint() != folder.load(root, seed=2).fingerprint()


def test_two_fractions_carve_validation_from_train(make_folder):
    root = make_folder({"a": 100, "b": 100})
    ds = folder.load(root, fractions="0.9/0.1")
    assert (len(ds.train), len(ds.val), len(ds.test)) == (162, 18, 20)


def test_input_size_and_grayscale(make_folder):
    from PIL import Image

    root = make_folder({"a": 4, "b": 4}, size=(30, 20))
    ds = folder.load(root, input_size=(16, 8), color="grayscale", fractions=(0.5, 0.25, 0.25))
    assert ds.input_shape == (16, 8, 1)
    assert ds.preprocessing["color"] == "grayscale"
    first = sorted(root.glob("*/*.png"))
    expected = {np.asarray(Image.open(p).convert("L").resize((8, 16), Image.Resampling.BILINEAR)
                           ).tobytes() for p in first}
    got = {np.round(x[..., 0] * 255).astype(np.uint8).tobytes()
           for x in np.concatenate([ds.train.x, ds.val.x, ds.test.x])}
    assert got == expected


def test_named_preprocessing_is_recorded(make_folder):
    root = make_folder({"a": 10, "b": 10})
    ds = folder.load(root, preprocessing="mobilenet_v2")
    assert ds.preprocessing["named"] == "mobilenet_v2"
    assert ds.preprocessing["offset"] == -1.0
    assert -1.0 <= ds.train.x.min() < 0.0 < ds.train.x.max() <= 1.0


def test_skips_non_images_corrupt_and_wrong_mode_with_reasons(make_folder, caplog):
    from PIL import Image

    root = make_folder({"a": 10, "b": 10}, ext=".jpg")
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "a" / "fake.jpg").write_text("text pretending to be a jpeg")
    good = (root / "b" / "000.jpg").read_bytes()
    (root / "b" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    Image.fromarray(np.full((10, 12), 4000, np.uint16)).save(root / "b" / "deep.png")
    with caplog.at_level("WARNING", logger="tflbench.data.folder"):
        ds = folder.load(root, fractions=(0.5, 0.25, 0.25))
    assert len(ds.train) + len(ds.val) + len(ds.test) == 20
    text = "\n".join(ds.notes)
    assert "skipped 1 file(s), not an image file: a/notes.txt" in text
    assert "skipped 2 file(s), unreadable" in text
    assert "a/fake.jpg" in text and "b/truncated.jpg" in text
    assert "skipped 1 file(s), unsupported pixel mode: b/deep.png (mode I;16)" in text
    assert "20 images in 2 classes" in text
    assert "unreadable" in caplog.text
    assert ds.describe()["notes"] == list(ds.notes)


def test_other_formats_and_modes_decode(make_folder, tmp_path):
    root = tmp_path / "formats"
    for i, (ext, mode) in enumerate([(".bmp", "RGB"), (".gif", "P"), (".png", "RGBA"),
                                     (".png", "L"), (".jpeg", "RGB"), (".PNG", "LA")]):
        write_image(root / "a" / f"{i}{ext}", COLOURS[0], mode=mode, seed=i)
        write_image(root / "b" / f"{i}{ext}", COLOURS[1], mode=mode, seed=i)
    ds = folder.load(root, fractions=(0.5, 0.25, 0.25))
    assert len(ds.train) + len(ds.val) + len(ds.test) == 12
    assert not [n for n in ds.notes if n.startswith("skipped")]
    assert ds.input_shape == (10, 12, 3)


def test_empty_class_folder_is_a_clear_error(make_folder):
    root = make_folder({"a": 5, "b": 5})
    (root / "empty").mkdir()
    with pytest.raises(DataError, match=r"Class folder '.*empty' holds no images.*remove"):
        folder.load(root)


def test_class_with_only_unreadable_files_is_a_clear_error(make_folder):
    root = make_folder({"a": 10, "b": 10})
    (root / "c").mkdir()
    (root / "c" / "x.jpg").write_text("broken")
    with pytest.raises(DataError, match=r"'.*c' holds no readable images.*x\.jpg"):
        folder.load(root)


def test_single_class_is_a_clear_error(make_folder):
    root = make_folder({"only": 5})
    with pytest.raises(DataError, match=r"single class folder \('only'\).*at least two"):
        folder.load(root)


def test_images_without_class_folders_is_a_clear_error(tmp_path):
    write_image(tmp_path / "img.png", COLOURS[0])
    with pytest.raises(DataError, match=r"no class sub-folders. It holds 1 image"):
        folder.load(tmp_path)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="Image folder not found.*nope"):
        folder.load(tmp_path / "nope")


def test_mixed_sizes_need_an_input_size(make_folder):
    root = make_folder({"a": 3, "b": 3})
    write_image(root / "b" / "big.png", COLOURS[1], size=(40, 30))
    with pytest.raises(DataError, match="differ in size.*input_size=224"):
        folder.load(root, fractions=(0.5, 0.25, 0.25))
    ds = folder.load(root, input_size=10, fractions=(0.5, 0.25, 0.25))
    assert ds.input_shape == (10, 10, 3)


def test_too_few_images_for_the_fractions(make_folder):
    root = make_folder({"a": 2, "b": 2})
    with pytest.raises(DataError, match="too few samples"):
        folder.load(root)


def test_hidden_files_and_folders_are_ignored(make_folder):
    root = make_folder({"a": 10, "b": 10})
    (root / ".cache").mkdir()
    (root / "a" / ".DS_Store").write_bytes(b"\0\0")
    ds = folder.load(root)
    assert ds.class_names == ("a", "b")
    assert not [n for n in ds.notes if n.startswith("skipped")]


def _shared_data() -> Path:
    return Path(os.environ.get("TFLBENCH_DATA",
                               Path(__file__).resolve().parents[3] / "shared" / "data"))


@pytest.mark.realdata
def test_real_cifar10_sample_folder():
    root = _shared_data() / "cifar10_test_sample"
    if not root.is_dir():
        pytest.skip(f"real data not found at {root} (set TFLBENCH_DATA)")
    ds = folder.load(root, preprocessing="mobilenet_v2")
    assert ds.num_classes == 10
    assert ds.class_names[0] == "airplane"
    assert (len(ds.train), len(ds.val), len(ds.test)) == (1600, 200, 200)
    assert ds.input_shape == (32, 32, 3)
