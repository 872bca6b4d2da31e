from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tflbench.data import digits
from tflbench.data.base import (
    Dataset,
    check_splits_not_empty,
    resolve_fractions,
    stratified_split,
)
from tflbench.errors import DataError


def test_digits_split_is_stratified():
    ds = digits.load()
    assert (len(ds.train), len(ds.val), len(ds.test)) == (1258, 270, 269)
    total = np.bincount(np.concatenate([ds.train.y, ds.val.y, ds.test.y]), minlength=10)
    for split, fraction in ((ds.train, 0.70), (ds.val, 0.15), (ds.test, 0.15)):
        counts = np.bincount(split.y, minlength=10)
        # every class within one sample of its share
        assert np.all(np.abs(counts - total * fraction) <= 1.0), counts


def test_digits_split_is_deterministic_and_seeded():
    a, b = digits.load(), digits.load()
    assert a.fingerprint() == b.fingerprint()
    np.testing.assert_array_equal(a.test.y, b.test.y)
    c = digits.load(seed=7)
    assert c.fingerprint() != a.fingerprint()
    # the same samples overall, just split differently
    every = np.sort(np.concatenate([a.train.y, a.val.y, a.test.y]))
    np.testing.assert_array_equal(every, np.sort(np.concatenate([c.train.y, c.val.y, c.test.y])))


def test_splits_do_not_overlap():
    ds = digits.load()
    rows = [r.tobytes() + bytes([int(y)]) for s in (ds.train, ds.val, ds.test)
            for r, y in zip(s.x, s.y, strict=True)]
    # sklearn digits holds a few exact duplicates; the split must not add any
    assert len(rows) - len(set(rows)) <= 10
    assert ds.train.x.dtype == np.float32 and ds.train.x.max() <= 1.0


def test_notes_are_optional_reported_and_not_hashed():
    ds = digits.load()
    assert ds.notes == ()
    assert "notes" not in ds.describe()
    noted = dataclasses.replace(ds, notes=("skipped 1 file(s)",))
    assert noted.describe()["notes"] == ["skipped 1 file(s)"]
    assert noted.fingerprint() == ds.fingerprint()
    # the positional constructor of the record is unchanged
    again = Dataset(ds.name, ds.class_names, ds.train, ds.val, ds.test, ds.preprocessing,
                    ds.source)
    assert again.fingerprint() == ds.fingerprint()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, (0.8, 0.1, 0.1)),
        ((0.7, 0.2, 0.1), (0.7, 0.2, 0.1)),
        ((0.9, 0.1), (0.81, 0.09, 0.1)),
        ("0.6/0.2/0.2", (0.6, 0.2, 0.2)),
        ("0.5,0.5", (0.45, 0.05, 0.5)),
    ],
)
def test_resolve_fractions(given, expected):
    np.testing.assert_allclose(resolve_fractions(given), expected)


@pytest.mark.parametrize("bad", [(0.5, 0.6), (1.0,), (0.5, 0.25, 0.125, 0.125), (1.2, -0.2),
                                 "a/b", "0.5"])
def test_resolve_fractions_rejects(bad):
    with pytest.raises(DataError, match="fractions"):
        resolve_fractions(bad)


def test_stratified_split_keeps_every_index_once():
    y = np.repeat(np.arange(4), [10, 20, 30, 40])
    parts = stratified_split(y, (0.8, 0.1, 0.1), seed=3)
    joined = np.sort(np.concatenate(parts))
    np.testing.assert_array_equal(joined, np.arange(len(y)))
    assert tuple(np.bincount(y[parts[1]])) == (1, 2, 3, 4)


def test_check_splits_not_empty_names_the_empty_part():
    with pytest.raises(DataError, match="validation part"):
        check_splits_not_empty([5, 0, 1], "'x'", (0.8, 0.1, 0.1))
    check_splits_not_empty([5, 1, 1], "'x'", (0.8, 0.1, 0.1))
