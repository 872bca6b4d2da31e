"""The embedded offline default: scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes).

The images ship inside scikit-learn, so this works with no network. Pixels (0..16) are scaled to
[0, 1] float32 and shaped NHWC (8, 8, 1). The 70/15/15 split is stratified and seeded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from tflbench.data.base import Dataset, Split, stratified_split
from tflbench.errors import DataError

NAME = "digits"
SEED = 1234
FRACTIONS = (0.70, 0.15, 0.15)


def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 8, 8) and labels of scikit-learn's digits, read from the CSV file that ships in
    the scikit-learn package without importing scikit-learn (whose import takes over a second).
    Falls back to ``sklearn.datasets.load_digits`` if the file is not where it is expected."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise DataError(
            "The embedded default dataset needs scikit-learn, which is not installed. "
            "Install it with: pip install 'tflbench[convert]'."
        )
    for root in spec.submodule_search_locations or []:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",", dtype=np.int64)
            return table[:, :-1].reshape(-1, 8, 8), table[:, -1]
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images, bunch.target


def load(seed: int = SEED) -> Dataset:
    images, target = _read_digits()
    x = (images.astype(np.float32) / 16.0)[..., None]
    y = target.astype(np.int64)
    tr, va, te = stratified_split(y, FRACTIONS, seed)
    return Dataset(
        name=NAME,
        class_names=tuple(str(i) for i in range(10)),
        train=Split(x[tr], y[tr]),
        val=Split(x[va], y[va]),
        test=Split(x[te], y[te]),
        preprocessing={"scale": 1.0 / 16.0, "offset": 0.0, "input_shape": [8, 8, 1],
                       "layout": "NHWC", "dtype": "float32"},
        source="sklearn.datasets.load_digits",
    )
