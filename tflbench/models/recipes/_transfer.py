"""Shared pieces of the transfer-learning recipes.

* parameter checks that name the recipe and the parameter;
* :func:`build_backbone`: a ``keras.applications`` backbone without its classifier, with
  ``weights`` ``"imagenet"`` (Keras downloads them once into ``~/.keras/models``), ``"none"``
  (random initialisation, opt-in) or the path of a local Keras weights file;
* :func:`reprocess`: bring a dataset to the pixels a backbone expects (colour, size and a named
  preprocessing such as ``mobilenet_v2``), recording the new spec in the dataset;
* :func:`fit_head_on_features`: train a new classifier head on backbone features computed once,
  which is exactly training the whole model with a frozen backbone, only much faster.

TensorFlow/Keras are imported inside the functions.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tflbench.data import preprocess as pp
from tflbench.data.base import Dataset, Split
from tflbench.errors import ConfigError, DataError, ModelLoadError

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

#: architecture key -> (keras.applications constructor name, its named preprocessing)
BACKBONES: dict[str, tuple[str, str]] = {
    "mobilenet_v2": ("MobileNetV2", "mobilenet_v2"),
    "densenet121": ("DenseNet121", "densenet"),
}
#: Width multipliers Keras publishes ImageNet weights for (MobileNetV2).
IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
#: Smallest input side keras.applications accepts for these backbones.
MIN_INPUT_SIZE = 32
OPTIMIZERS = ("adam", "sgd", "rmsprop")
_CHUNK = 256


# ------------------------------------------------------------------------- parameter checks


def check_int(recipe: str, name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(
            f"Recipe '{recipe}' expected an integer {name} of at least {minimum}. "
            f"Received: {name}={value!r}."
        )
    return int(value)


def check_seed(recipe: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"Recipe '{recipe}' expected an integer seed. Received: seed={value!r}.")
    return int(value)


def check_float(
    recipe: str, name: str, value: Any, low: float, high: float, *, low_inclusive: bool = False
) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.floating))
          and math.isfinite(float(value)))
    if ok:
        v = float(value)
        ok = (v >= low if low_inclusive else v > low) and v <= high
    if not ok:
        bracket = "[" if low_inclusive else "("
        raise ConfigError(
            f"Recipe '{recipe}' expected {name} in {bracket}{low:g}, {high:g}]. "
            f"Received: {name}={value!r}."
        )
    return float(value)


def check_input_size(recipe: str, value: Any, minimum: int = MIN_INPUT_SIZE) -> tuple[int, int]:
    """``input_size`` as ``(height, width)``; at least ``minimum`` on each side."""
    try:
        h, w = pp.image_size(value, "input_size")
    except ConfigError as exc:
        raise ConfigError(f"Recipe '{recipe}': {exc}") from None
    if h < minimum or w < minimum:
        raise ConfigError(
            f"Recipe '{recipe}' expected input_size of at least {minimum}x{minimum} (the backbone "
            f"halves the resolution five times). Received: input_size={value!r}."
        )
    return h, w


def check_optimizer(recipe: str, name: Any) -> str:
    key = str(name).lower() if isinstance(name, str) else None
    if key not in OPTIMIZERS:
        raise ConfigError(
            f"Recipe '{recipe}' expected optimizer one of {', '.join(OPTIMIZERS)}. "
            f"Received: optimizer={name!r}."
        )
    return key


def check_preprocessing(recipe: str, spec: Any) -> dict[str, Any]:
    """Resolve a ``preprocessing`` parameter (a name such as ``mobilenet_v2`` or a dict)."""
    try:
        out = pp.resolve(spec)
    except ConfigError as exc:
        raise ConfigError(f"Recipe '{recipe}': {exc}") from None
    for key in ("resize", "color"):
        if key in out:
            raise ConfigError(
                f"Recipe '{recipe}' sets the image size and colour itself (input_size); its "
                f"preprocessing parameter takes numbers only. Received: {key}={out[key]!r}."
            )
    return out


def check_dataset(recipe: str, dataset: Dataset, channels: int | None = None) -> None:
    shape = dataset.input_shape
    if len(shape) != 3 or (channels is not None and shape[-1] != channels):
        want = f"(height, width, {channels})" if channels else "(height, width, channels)"
        raise DataError(
            f"Recipe '{recipe}' needs images shaped {want}. Received: input_shape={shape} from "
            f"dataset '{dataset.name}'. Pass the dataset through the recipe's prepare() first."
        )
    if len(dataset.train) == 0 or len(dataset.val) == 0:
        raise DataError(
            f"Recipe '{recipe}' needs non-empty train and val splits. Received: "
            f"{len(dataset.train)} train and {len(dataset.val)} val samples in '{dataset.name}'."
        )
    if dataset.num_classes < 2:
        raise DataError(
            f"Recipe '{recipe}' needs at least two classes. Received: {dataset.num_classes} in "
            f"'{dataset.name}'."
        )


def verbosity(progress: bool) -> int:
    """Keras ``verbose``: a progress bar on a terminal, one line per epoch in logs, or silence."""
    if not progress:
        return 0
    return 1 if sys.stdout.isatty() else 2


# ---------------------------------------------------------------------------------- weights


def check_weights(recipe: str, weights: Any) -> str | Path | None:
    """``"imagenet"`` -> ``"imagenet"``; ``"none"``/None -> None; anything else a file path."""
    if weights is None:
        return None
    if isinstance(weights, os.PathLike):
        weights = os.fspath(weights)
    if not isinstance(weights, str) or not weights.strip():
        raise ConfigError(
            f"Recipe '{recipe}' expected weights 'imagenet', 'none' or the path of a local "
            f"weights file. Received: weights={weights!r}."
        )
    key = weights.strip()
    if key.lower() == "imagenet":
        return "imagenet"
    if key.lower() in ("none", "random"):
        return None
    path = Path(key).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"Recipe '{recipe}' expected weights 'imagenet', 'none' or the path of a local "
            f"weights file. Received: weights={weights!r}, which is not an existing file."
        )
    return path


def build_backbone(
    recipe: str,
    arch: str,
    input_shape: tuple[int, int, int],
    weights: str | Path | None,
    *,
    alpha: float | None = None,
) -> keras.Model:
    """A ``keras.applications`` backbone without its classifier (4-D feature map output)."""
    import keras

    ctor_name, _ = BACKBONES[arch]
    kwargs: dict[str, Any] = {"include_top": False, "input_shape": tuple(input_shape)}
    if alpha is not None:
        kwargs["alpha"] = alpha
    label = ctor_name + (f" (alpha {alpha:g})" if alpha is not None else "")
    if weights == "imagenet":
        if alpha is not None and alpha not in IMAGENET_ALPHAS:
            raise ConfigError(
                f"Recipe '{recipe}': ImageNet weights exist for alpha in "
                f"{', '.join(str(a) for a in IMAGENET_ALPHAS)}. Received: alpha={alpha!r}. Pick "
                "one of those, or pass weights='none' to train from random initialisation."
            )
        ctor = getattr(keras.applications, ctor_name)
        try:
            return ctor(weights="imagenet", **kwargs)  # type: ignore[no-any-return]
        except Exception as exc:  # keras raises a bare Exception when the download fails
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelLoadError(
                f"Recipe '{recipe}' could not get the ImageNet weights of {label}: Keras "
                "downloads them on first use into ~/.keras/models and that failed "
                f"({detail}). Pass weights=PATH to a local Keras weights file of the same "
                "architecture without its classifier (e.g. "
                "mobilenet_v2_1.0_224_no_top.weights.h5), or weights='none' to train from "
                "random initialisation (opt-in; accuracy will be far lower)."
            ) from None
    ctor = getattr(keras.applications, ctor_name)
    try:
        model = ctor(weights=None, **kwargs)
    except ValueError as exc:
        raise ConfigError(f"Recipe '{recipe}': {label} rejected its settings: {exc}") from None
    if weights is None:
        return model  # type: ignore[no-any-return]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.load_weights(os.fspath(weights))
        # Keras warns (instead of failing) when parts of the model are missing from the file.
        partial = [str(w.message) for w in caught if "Skipping" in str(w.message)
                   or "freshly-initialized" in str(w.message)]
        if partial:
            raise ValueError(partial[0])
    except Exception as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelLoadError(
            f"Recipe '{recipe}' could not load the weights file '{weights}' into {label} "
            f"without its classifier ({detail}). Give a Keras weights file (.weights.h5, .h5 "
            "or .keras) saved from the same architecture, width (alpha) and include_top=False."
        ) from None
    return model  # type: ignore[no-any-return]


def apply_backbone(backbone: keras.Model, x: Any, *, pretrained: bool) -> Any:
    """Call ``backbone`` on ``x``: frozen with inference-mode BatchNorm when ``pretrained``
    (fine-tuning later unfreezes layers but keeps BatchNorm's statistics), trainable otherwise.

    Without pretrained weights a frozen backbone is useless: with the initial BatchNorm
    statistics the activations of an untrained MobileNetV2 shrink to ~1e-11 by the last block,
    so the whole network must train (from scratch).
    """
    if pretrained:
        backbone.trainable = False  # frozen BatchNorm uses its moving statistics, always
        return backbone(x, training=False)
    backbone.trainable = True
    return backbone(x)


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    import keras

    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    return keras.optimizers.Adam(learning_rate)


# ---------------------------------------------------------------------------- preprocessing

_NUMBERS = ("scale", "offset", "mean", "std", "channel_order")


def _same_numbers(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    for key in _NUMBERS:
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            if x != y:
                return False
        elif isinstance(x, str) or isinstance(y, str):
            if x != y:
                return False
        elif not np.allclose(np.asarray(x, dtype=float), np.asarray(y, dtype=float),
                             rtol=1e-6, atol=1e-9):
            return False
    return True


def _to_raw(x: np.ndarray, spec: Mapping[str, Any], uint8: bool) -> np.ndarray:
    """Undo the numeric part of ``spec`` (std, mean, scale/offset, BGR) to get raw pixels."""
    out = np.array(x, dtype=np.float32, copy=True)
    if "std" in spec:
        out *= np.asarray(spec["std"], dtype=np.float32)
    if "mean" in spec:
        out += np.asarray(spec["mean"], dtype=np.float32)
    if spec["offset"] != 0.0:
        out -= np.float32(spec["offset"])
    if spec["scale"] != 1.0:
        out /= np.float32(spec["scale"])
    if spec.get("channel_order") == "bgr":
        out = np.ascontiguousarray(out[..., ::-1])
    if uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out


def prepare_rgb(dataset: Dataset, recipe: str, params: Mapping[str, Any]) -> Dataset:
    """``dataset`` at ``params["input_size"]``, RGB, with ``params["preprocessing"]`` (the
    ``prepare()`` of the backbone recipes that take a fixed input size)."""
    size = check_input_size(recipe, params["input_size"])
    spec = check_preprocessing(recipe, params["preprocessing"])
    return reprocess(dataset, recipe, spec, size, color="rgb")


def reprocess(
    dataset: Dataset,
    recipe: str,
    preprocessing: Mapping[str, Any],
    size: tuple[int, int] | None,
    color: str | None = None,
) -> Dataset:
    """Return ``dataset`` with inputs at ``size`` (None: keep), ``color`` (None: keep) and
    the numbers of ``preprocessing``, read into memory; the same dataset when nothing changes
    and it is in memory already.

    The dataset's recorded spec is inverted to recover the raw pixels, so a dataset loaded with
    any preprocessing (e.g. the default ``x / 255``) can be prepared for any backbone. The new
    spec describes the whole path from raw pixels, so a device repeats it exactly.
    """
    src = pp.resolve(dataset.preprocessing, strict=False)
    shape = dataset.input_shape
    if len(shape) != 3:
        raise DataError(
            f"Recipe '{recipe}' needs images shaped (height, width, channels). Received: "
            f"input_shape={shape} from dataset '{dataset.name}'."
        )
    channels = {"rgb": 3, "grayscale": 1}.get(color or "", shape[-1])
    same_size = size is None or tuple(shape[:2]) == tuple(size)
    lazy = any(not isinstance(sp.x, np.ndarray) for sp in (dataset.train, dataset.val,
                                                           dataset.test))
    if _same_numbers(src, preprocessing) and same_size and channels == shape[-1] and not lazy:
        return dataset
    uint8 = src.get("raw_dtype") == "uint8"
    if not uint8 and not _same_numbers(src, preprocessing):
        log.info("%s: dataset '%s' records no raw_dtype; treating its raw pixels as floats",
                 recipe, dataset.name)
    if size is not None and not same_size and (size[0] > shape[0] or size[1] > shape[1]):
        log.warning(
            "%s: upsampling dataset '%s' from %dx%d to %dx%d; load it at the recipe's "
            "input_size (data spec option size=...) to keep the detail of the original images",
            recipe, dataset.name, shape[0], shape[1], size[0], size[1])
    step: dict[str, Any] = {k: v for k, v in preprocessing.items() if k in ("named", *_NUMBERS)}
    if color is not None:
        step["color"] = color
    if size is not None:
        step["resize"] = [int(size[0]), int(size[1])]
    step = pp.resolve(step)
    out_hw = tuple(size) if size is not None else tuple(shape[:2])

    splits = []
    for split in (dataset.train, dataset.val, dataset.test):
        x = np.empty((len(split), out_hw[0], out_hw[1], channels), dtype=np.float32)
        for start in range(0, len(split), _CHUNK):
            raw = _to_raw(split.x[start : start + _CHUNK], src, uint8)
            x[start : start + _CHUNK] = pp.apply_preprocessing(raw, step)
        splits.append(Split(x, split.y))

    spec: dict[str, Any] = {k: v for k, v in src.items()
                            if k in ("color", "interpolation", "resize", "raw_dtype")}
    spec.update({k: v for k, v in step.items() if k in ("named", *_NUMBERS)})
    for key in _NUMBERS:
        if key not in step:
            spec.pop(key, None)
    if color is not None:
        spec["color"] = color
    spec["resize"] = [int(out_hw[0]), int(out_hw[1])]
    spec.update({"input_shape": [int(out_hw[0]), int(out_hw[1]), int(channels)],
                 "layout": "NHWC", "dtype": "float32"})
    what = step.get("named") or "custom numbers"
    return replace(
        dataset,
        train=splits[0], val=splits[1], test=splits[2],
        preprocessing=spec,
        notes=(*dataset.notes,
               f"prepared for recipe {recipe}: {out_hw[0]}x{out_hw[1]}x{channels}, "
               f"preprocessing {what}"),
    )


# ------------------------------------------------------------------------------- training


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[np.asarray(y, dtype=np.int64)]


def features(extractor: keras.Model, x: np.ndarray, batch_size: int, progress: bool,
             what: str) -> np.ndarray:
    if progress:
        print(f"computing backbone features of {len(x)} {what} images", flush=True)
    return np.asarray(extractor.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)


def fit_head_on_features(
    extractor: keras.Model,
    head: keras.Model,
    dataset: Dataset,
    *,
    epochs: int,
    batch_size: int,
    optimizer: keras.optimizers.Optimizer,
    label_smoothing: float,
    progress: bool,
) -> None:
    """Train ``head`` on ``extractor``'s outputs, computed once for train and val.

    ``extractor`` must be frozen and deterministic (inference-mode BatchNorm, no augmentation):
    then this is the same optimisation as training ``head(extractor(x))`` end to end.
    """
    import keras

    f_train = features(extractor, np.asarray(dataset.train.x), batch_size, progress, "train")
    f_val = features(extractor, np.asarray(dataset.val.x), batch_size, progress, "val")
    head.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )
    head.fit(
        f_train, one_hot(dataset.train.y, dataset.num_classes),
        validation_data=(f_val, one_hot(dataset.val.y, dataset.num_classes)),
        epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbosity(progress),
    )


def fit(
    model: keras.Model,
    dataset: Dataset,
    *,
    epochs: int,
    batch_size: int,
    optimizer: keras.optimizers.Optimizer,
    label_smoothing: float,
    progress: bool,
    augment: Any = None,
    seed: int = 0,
) -> None:
    """Compile and fit ``model`` end to end on ``dataset.train``, validated on ``dataset.val``.

    ``augment`` (a Keras layer or model, e.g. from :func:`augmentation`) is applied to each
    training batch outside the model, so the trained model carries no augmentation layers.
    """
    import keras

    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )
    y = one_hot(dataset.train.y, dataset.num_classes)
    val = (dataset.val.x, one_hot(dataset.val.y, dataset.num_classes))
    if augment is None:
        model.fit(dataset.train.x, y, validation_data=val, epochs=epochs, batch_size=batch_size,
                  shuffle=True, verbose=verbosity(progress))
        return
    batches = augmented_batches(np.asarray(dataset.train.x), y, batch_size, augment, seed)
    model.fit(batches, validation_data=val, epochs=epochs, verbose=verbosity(progress))


def augmentation(flip: str = "horizontal", rotation: float = 0.1, zoom: float = 0.1,
                 seed: int = 0) -> keras.Model:
    """Random flips, rotations (fraction of a full turn) and zoom, as one Keras model."""
    import keras
    from keras import layers

    steps: list[Any] = []
    if flip != "none":
        steps.append(layers.RandomFlip(flip, seed=seed))
    if rotation > 0:
        steps.append(layers.RandomRotation(rotation, fill_mode="reflect", seed=seed + 1))
    if zoom > 0:
        steps.append(layers.RandomZoom(zoom, fill_mode="reflect", seed=seed + 2))
    return keras.Sequential(steps, name="augmentation")


def augmented_batches(x: np.ndarray, y: np.ndarray, batch_size: int, augment: Any,
                      seed: int) -> Any:
    """A ``keras.utils.PyDataset`` of shuffled, augmented training batches (seeded order)."""
    import keras

    class Batches(keras.utils.PyDataset):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(x))

        def __len__(self) -> int:
            return -(-len(x) // batch_size)

        def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
            idx = np.sort(self.order[i * batch_size : (i + 1) * batch_size])
            return np.asarray(augment(x[idx], training=True), dtype=np.float32), y[idx]

        def on_epoch_end(self) -> None:
            self.order = self.rng.permutation(len(x))

    return Batches()


def unfreeze_top(backbone: keras.Model, n: int) -> int:
    """Make the top ``n`` layers of ``backbone`` trainable, the rest frozen; return how many
    layers with weights were unfrozen.

    BatchNormalization layers stay frozen. In Keras 3 a frozen BatchNormalization always
    normalises with its moving statistics, while a trainable one switches to batch statistics
    during ``fit`` (a ``training=False`` given when the model was built does not survive: the
    outer ``fit`` passes ``training=True`` down). Unfreezing them would replace the ImageNet
    statistics the head was trained on with those of small batches.
    """
    import keras

    backbone.trainable = True
    layers: Sequence[Any] = backbone.layers
    cut = max(0, len(layers) - n)
    count = 0
    for i, layer in enumerate(layers):
        frozen = i < cut or isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = not frozen
        if not frozen and layer.weights:
            count += 1
    return count
