"""The evaluation samples a bundle stores: a seeded, stratified subset, not the first rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from bundle_helpers import doc_from_bundle

from tflbench.bundle import MANIFEST, ModelArrays, read_bundle, write_bundle
from tflbench.data.base import LazyArray, stratified_subset
from tflbench.errors import DataError


class _RecordingLazy(LazyArray):
    """A lazy array over an in-memory array that records the rows it is asked for."""

    def __init__(self, data: np.ndarray, sample_shape: Sequence[int]) -> None:
        super().__init__(np.arange(len(data)), sample_shape)
        self.data = data
        self.reads: list[np.ndarray] = []

    def _read(self, rows: np.ndarray) -> np.ndarray:
        self.reads.append(rows.copy())
        return self.data[rows]


def _class_sorted(per_class: int = 10, classes: int = 10) -> np.ndarray:
    return np.repeat(np.arange(classes), per_class)


def test_every_class_keeps_its_share() -> None:
    y = _class_sorted()
    idx = stratified_subset(y, 20, seed=0)
    assert len(idx) == 20 and len(set(idx.tolist())) == 20
    assert np.all(np.diff(idx) > 0)  # sorted: sequential reads
    np.testing.assert_array_equal(np.bincount(y[idx], minlength=10), np.full(10, 2))


def test_imbalanced_classes_are_proportional_and_exact() -> None:
    y = np.concatenate([np.zeros(700, int), np.ones(200, int), np.full(100, 2)])
    idx = stratified_subset(y, 101, seed=3)
    counts = np.bincount(y[idx], minlength=3)
    assert counts.sum() == 101
    assert abs(counts[0] - 70.7) < 1 and abs(counts[1] - 20.2) < 1 and abs(counts[2] - 10.1) < 1


def test_every_class_present_when_n_allows_and_largest_first_otherwise() -> None:
    y = np.concatenate([np.zeros(990, int), np.arange(1, 11)])  # ten classes of one sample
    idx = stratified_subset(y, 11, seed=0)
    assert set(y[idx].tolist()) == set(range(11))
    few = stratified_subset(y, 3, seed=0)
    assert len(few) == 3 and 0 in y[few].tolist()


def test_same_seed_same_subset_other_seed_other_subset() -> None:
    y = _class_sorted(50, 4)
    a = stratified_subset(y, 40, seed=7)
    np.testing.assert_array_equal(a, stratified_subset(y.copy(), 40, seed=7))
    assert not np.array_equal(a, stratified_subset(y, 40, seed=8))


def test_n_at_least_the_count_returns_everything_and_bad_n_is_refused() -> None:
    y = _class_sorted(3, 2)
    np.testing.assert_array_equal(stratified_subset(y, 6), np.arange(6))
    np.testing.assert_array_equal(stratified_subset(y, 60), np.arange(6))
    for bad in (0, -1, 2.5, True, None):
        with pytest.raises(DataError, match="positive integer"):
            stratified_subset(y, bad)  # type: ignore[arg-type]


def test_model_arrays_subset_keeps_rows_aligned_and_reads_lazily_in_order() -> None:
    y = _class_sorted()
    data = np.arange(100, dtype=np.float32).reshape(100, 1)
    x = _RecordingLazy(data, (1,))
    ref = np.eye(10, dtype=np.float32)[y] + data / 1000
    sub = ModelArrays(x, y, ref).subset(30, seed=1)
    assert len(sub.x) == 30
    assert isinstance(sub.x, np.ndarray)
    rows = sub.x[:, 0].astype(int)
    np.testing.assert_array_equal(sub.y, y[rows])
    np.testing.assert_array_equal(sub.reference, ref[rows])
    assert len(x.reads) == 1 and np.all(np.diff(x.reads[0]) > 0)
    assert set(sub.y.tolist()) == set(range(10))
    assert ModelArrays(x, y, ref).subset(None).x is x


def test_bundle_of_a_class_sorted_split_covers_every_class(bundle_copy: Path,
                                                           tmp_path: Path) -> None:
    doc, arrays = doc_from_bundle(bundle_copy)
    src = arrays["digits-mini"]
    order = np.argsort(src.y, kind="stable")  # a test set stored class by class
    arrays = {"digits-mini": ModelArrays(src.x[order], src.y[order], src.reference[order])}
    classes = set(src.y.tolist())
    a = write_bundle(doc, arrays, tmp_path / "a", max_samples=len(classes) * 2)
    b = write_bundle(doc, arrays, tmp_path / "b", max_samples=len(classes) * 2)
    with read_bundle(a) as ba, read_bundle(b) as bb:
        assert ba.models[0].y is not None
        assert set(ba.models[0].y.tolist()) == classes
        np.testing.assert_array_equal(ba.models[0].x, bb.models[0].x)  # deterministic
    doc["settings"]["seed"] = 5
    c = write_bundle(doc, arrays, tmp_path / "c", max_samples=len(classes) * 2)
    assert json.loads((c / MANIFEST).read_text())["bundle"]["seed"] == 5
    with read_bundle(c) as bc, read_bundle(a) as ba:
        xc, xa = bc.models[0].x, ba.models[0].x
        assert xc is not None and xa is not None
        assert not np.array_equal(xc, xa)
