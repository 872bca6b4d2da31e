"""The classic ``keras.datasets`` image sets: ``mnist``, ``fashion_mnist``, ``cifar10``.

Keras downloads each set once into its cache (``$KERAS_HOME/datasets``, default
``~/.keras/datasets``) and reads it from there afterwards. On a machine without internet the
cache must be filled beforehand: run ``python -c "import keras; keras.datasets.mnist.load_data()"``
on a connected machine and copy its ``~/.keras/datasets`` folder over (or set ``KERAS_HOME``
before starting Python). When the data is neither cached nor downloadable, one
:class:`DataError` says so.

The official test split is kept; 10% of the training split (stratified, seeded) becomes the
validation split. Images are uint8 and default to ``x / 255``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.data.arrays import from_arrays
from tflbench.data.base import Dataset
from tflbench.errors import ConfigError, DataError

SEED = 1234

#: name -> class names, in label order
DATASETS: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(i) for i in range(10)),
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                "truck"),
}
_ALIASES = {"fashion-mnist": "fashion_mnist", "cifar-10": "cifar10", "cifar_10": "cifar10"}


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded datasets (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``)."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return Path(home) / "datasets"
    base = Path("~").expanduser()
    if not os.access(base, os.W_OK):
        base = Path("/tmp")
    return base / ".keras" / "datasets"


def canonical_name(name: str) -> str:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise ConfigError(
            f"Unknown Keras dataset. Received: {name!r}. Expected one of: "
            f"{', '.join(DATASETS)} (other sets: use 'tfds:NAME')."
        )
    return key


def _loader(name: str) -> Callable[[], Any]:
    import keras  # lazy: dataset-loading code only

    return getattr(keras.datasets, name).load_data  # type: ignore[no-any-return]


def load_arrays(name: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))`` from the Keras cache, or one clear DataError."""
    key = canonical_name(name)
    try:
        loader = _loader(key)
    except ImportError as exc:
        raise DataError(
            f"keras:{key} needs Keras/TensorFlow, which is not installed ({exc}). "
            "Install it with: pip install 'tflbench[convert]'."
        ) from None
    try:
        (x_tr, y_tr), (x_te, y_te) = loader()
    except Exception as exc:  # keras raises bare Exception on URL failures
        cache = keras_cache_dir()
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"Keras dataset '{key}' is not in the Keras cache ('{cache}') and could not be "
            f"downloaded ({detail}). On a machine with internet run: python -c \"import keras; "
            f"keras.datasets.{key}.load_data()\", then copy its ~/.keras/datasets folder to "
            f"'{cache}' here (or set KERAS_HOME to the folder that holds 'datasets/')."
        ) from None
    return (np.asarray(x_tr), np.asarray(y_tr)), (np.asarray(x_te), np.asarray(y_te))


def load(
    name: str,
    *,
    seed: int = SEED,
    fractions: Any = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    input_size: Any = None,
) -> Dataset:
    """Load ``mnist``, ``fashion_mnist`` or ``cifar10`` (see the module docstring)."""
    key = canonical_name(name)
    if fractions is not None:
        raise ConfigError(
            f"keras:{key} keeps its official train/test split, so split fractions do not apply. "
            f"Received: fractions={fractions!r}. Drop them (validation is 10% of train)."
        )
    (x_tr, y_tr), (x_te, y_te) = load_arrays(key)
    return from_arrays(
        {"train": (x_tr, y_tr.reshape(-1)), "test": (x_te, y_te.reshape(-1))},
        name=key,
        source=f"keras.datasets.{key}",
        what=f"keras:{key}",
        class_names=np.array(DATASETS[key]),
        seed=seed,
        preprocessing=preprocessing,
        input_size=input_size,
    )
