"""TensorFlow Datasets image classification sets, by name and split strings.

``load("fashion_mnist", splits=["train[:80%]", "train[80%:90%]", "train[90%:]"],
data_dir="/data/tfds")``. Splits use the TFDS split syntax; how many are given decides the rest:

* three: train, validation, test;
* two: train and test, with 10% of train (stratified, seeded) held out for validation;
* one: split here by ``fractions`` (default 0.8/0.1/0.1), stratified and seeded;
* none: ``train``/``validation``/``test`` when the set has a validation split, else
  ``train``/``test``.

TFDS reads prepared data from ``data_dir`` (default ``$TFDS_DATA_DIR`` or
``~/tensorflow_datasets``). When it is absent and cannot be downloaded (no internet, or
``download=False``), one :class:`DataError` says how to prepare it on a connected machine::

    python -c "import tensorflow_datasets as tfds; tfds.load('fashion_mnist', data_dir='DIR')"
    # or: tfds build fashion_mnist --data_dir DIR

and copy ``DIR`` over. Images are uint8 and default to ``x / 255``; sets whose images differ in
size need an ``input_size``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tflbench.data import preprocess as pp
from tflbench.data.arrays import from_arrays
from tflbench.data.base import Dataset
from tflbench.errors import ConfigError, DataError

SEED = 1234
_BATCH = 512


def default_data_dir(data_dir: str | os.PathLike[str] | None = None) -> str:
    """The folder TFDS reads from: ``data_dir``, else ``$TFDS_DATA_DIR``, else the default."""
    if data_dir:
        return os.fspath(data_dir)
    return os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")


def offline_message(name: str, data_dir: str, detail: str) -> str:
    return (
        f"TFDS dataset '{name}' is not prepared in '{data_dir}' and could not be downloaded "
        f"({detail}). On a machine with internet run: python -c \"import tensorflow_datasets "
        f"as tfds; tfds.load('{name}', data_dir='DIR')\" (or: tfds build {name} --data_dir DIR), "
        f"then copy DIR's contents to '{data_dir}' here, or pass data_dir=DIR."
    )


def _tfds() -> Any:
    try:
        import tensorflow_datasets as tfds  # lazy: dataset-loading code only
    except ImportError as exc:
        raise DataError(
            f"tfds: datasets need tensorflow-datasets, which is not installed ({exc}). "
            "Install it with: pip install 'tflbench[datasets]'."
        ) from None
    return tfds


def load(
    name: str,
    *,
    splits: Sequence[str] | str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    seed: int = SEED,
    fractions: Any = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    input_size: Any = None,
) -> Dataset:
    """Load a TFDS image classification set (see the module docstring)."""
    tfds = _tfds()
    root = default_data_dir(data_dir)
    try:
        builder = tfds.builder(name, data_dir=root)
    except Exception as exc:  # DatasetNotFoundError and friends
        raise ConfigError(
            f"Unknown TFDS dataset. Received: {name!r} ({str(exc).splitlines()[0]}). "
            "See https://www.tensorflow.org/datasets/catalog for names."
        ) from None
    info = builder.info
    keys = info.supervised_keys
    if not keys or len(keys) != 2:
        raise DataError(
            f"TFDS dataset '{name}' has no (image, label) supervised keys, so it is not an "
            "image classification set tflbench can use. Received: supervised_keys="
            f"{keys!r}."
        )
    image_key, label_key = keys
    label_feature = info.features[label_key]
    class_names = list(getattr(label_feature, "names", None) or [])

    split_list = _split_list(splits, list(info.splits.keys()))
    if fractions is not None and len(split_list) != 1:
        raise ConfigError(
            f"Split fractions apply only when one TFDS split is given. Received: "
            f"fractions={fractions!r} with splits {split_list}. Give one split or drop them."
        )
    datasets = _open(tfds, builder, name, root, split_list, download)

    size = pp.image_size(input_size) if input_size is not None else None
    if size is None and isinstance(preprocessing, Mapping) and preprocessing.get("resize"):
        size = pp.image_size(preprocessing["resize"], "resize")
    shape = tuple(getattr(info.features[image_key], "shape", ()) or ())
    arrays = [_to_numpy(tfds, ds, name, s, shape, size) for s, ds in zip(split_list, datasets,
                                                                           strict=True)]
    parts_keys = {1: ("all",), 2: ("train", "test"), 3: ("train", "val", "test")}[len(arrays)]
    return from_arrays(
        dict(zip(parts_keys, arrays, strict=True)),
        name=name,
        source=f"tfds:{name}?split={','.join(split_list)}",
        what=f"tfds:{name}",
        class_names=np.array(class_names) if class_names else None,
        seed=seed,
        fractions=fractions,
        preprocessing=preprocessing,
        input_size=input_size,
    )


def _split_list(splits: Sequence[str] | str | None, available: list[str]) -> list[str]:
    if splits is None:
        if "validation" in available:
            return ["train", "validation", "test"]
        if "test" in available or not available:
            return ["train", "test"]
        return ["train"]
    out = [s.strip() for s in splits.split(",")] if isinstance(splits, str) else list(splits)
    if not 1 <= len(out) <= 3 or any(not isinstance(s, str) or not s for s in out):
        raise ConfigError(
            "Give 1 to 3 TFDS split strings (train[, val], test), e.g. "
            f"'train[:80%],train[80%:90%],train[90%:]'. Received: {splits!r}."
        )
    return out


def _open(tfds: Any, builder: Any, name: str, root: str, split_list: list[str],
          download: bool) -> list[Any]:
    def as_datasets() -> list[Any]:
        return [builder.as_dataset(split=s, as_supervised=True, shuffle_files=False)
                for s in split_list]

    try:
        return as_datasets()
    except AssertionError:  # TFDS: "could not find data in DIR"
        pass
    except (ValueError, KeyError) as exc:
        raise ConfigError(
            f"TFDS dataset '{name}' rejected the split(s) {split_list}: "
            f"{str(exc).splitlines()[0]}. Available: {sorted(builder.info.splits.keys())}."
        ) from None
    if not download:
        raise DataError(offline_message(name, root, "no prepared data found; downloading is off"))
    from tflbench.data.network import offline_reason

    reason = offline_reason()  # seconds, not minutes of TFDS retries, when offline
    if reason is not None:
        raise DataError(offline_message(name, root, reason))
    try:
        builder.download_and_prepare()
    except Exception as exc:  # network, missing extras, permission errors...
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(offline_message(name, root, detail)) from None
    return as_datasets()


def _to_numpy(tfds: Any, ds: Any, name: str, split: str, shape: tuple[Any, ...],
              size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    fixed = bool(shape) and all(d is not None for d in shape)
    if fixed:
        for x, y in tfds.as_numpy(ds.batch(_BATCH)):
            xs.append(np.asarray(x))
            ys.append(np.asarray(y).reshape(-1))
    else:
        first: tuple[int, ...] | None = None
        for x, y in tfds.as_numpy(ds):
            img = np.asarray(x)[None]
            if img.ndim == 3:
                img = img[..., None]
            if size is not None:
                if img.shape[1:3] != size:
                    img = pp.resize_batch(img, size)
            elif first is None:
                first = img.shape[1:]
            elif img.shape[1:] != first:
                raise DataError(
                    f"Images of tfds:{name} ({split}) differ in size ({first} and "
                    f"{img.shape[1:]}). Give an input size, e.g. input_size=224 or "
                    f"'tfds:{name}?size=224'."
                )
            xs.append(img)
            ys.append(np.asarray(y).reshape(-1))
    if not xs:
        raise DataError(f"Split '{split}' of tfds:{name} is empty. Choose another split.")
    return np.concatenate(xs), np.concatenate(ys)
