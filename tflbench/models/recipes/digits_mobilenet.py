"""Recipe ``digits-mobilenet``: a compact MobileNetV2-style network for small images.

The model takes the dataset's inputs unchanged (``(8, 8, 1)`` for the digits): its first layer
resizes them to ``input_size x input_size`` inside the model, so the TFLite file consumes the same
arrays as the Keras model. Then, as in MobileNetV2 (Sandler et al., 2018)::

    Resizing(input_size, input_size, bilinear)
    Conv2D 3x3 stride 2 + BN + ReLU6                                   (stem)
    inverted residual blocks (expand 1x1 + BN + ReLU6, depthwise 3x3 + BN + ReLU6,
    linear project 1x1 + BN, residual add when the shape is kept):
        t=1 c=16 n=1 s=1
        t=6 c=24 n=2 s=2
        t=6 c=32 n=2 s=2
        t=6 c=64 n=1 s=1
    Conv2D 1x1 to 1280 + BN + ReLU6, global average pooling, Dropout(0.2),
    Dense(num_classes, softmax)

Channel counts are multiplied by ``alpha`` and rounded to multiples of 8 like MobileNetV2 (the
last convolution keeps 1280 channels for alpha <= 1). The stack is shorter than MobileNetV2's 17
blocks because the digits are 8x8 pixels: with the default input_size 16 the resolution goes
16 -> 8 -> 4 -> 2, and nothing is left to learn below that.
BatchNorm uses momentum 0.9 instead of Keras' 0.999: with ~40 steps per epoch, 0.999 leaves the
moving statistics far from the batch statistics and the model predicts one class at inference.

Every layer converts under all tflbench modes, including int16x8.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tflbench.data.base import Dataset
from tflbench.errors import ConfigError, DataError
from tflbench.models.determinism import seed_everything
from tflbench.models.recipes.digits_cnn import fit_classifier

if TYPE_CHECKING:
    import keras

#: (expansion t, output channels c, repeats n, first stride s) per stage.
STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 2, 2),
    (6, 64, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
BN_MOMENTUM = 0.9


def _divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to a multiple of ``divisor`` without going more than 10% below it."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _check_params(
    epochs: Any, batch_size: Any, learning_rate: Any, seed: Any, input_size: Any, alpha: Any
) -> None:
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                "Recipe 'digits-mobilenet' expected a positive integer. "
                f"Received: {name}={value!r}."
            )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(
            f"Recipe 'digits-mobilenet' expected an integer. Received: seed={seed!r}."
        )
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 16:
        raise ConfigError(
            "Recipe 'digits-mobilenet' expected an integer input_size of at least 16 (the "
            f"network halves the resolution three times). Received: input_size={input_size!r}."
        )
    for name, value, high in (("learning_rate", learning_rate, 1.0), ("alpha", alpha, 4.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 < float(value) <= high
        ):
            raise ConfigError(
                f"Recipe 'digits-mobilenet' expected {name} in (0, {high:g}]. "
                f"Received: {name}={value!r}."
            )


def _check_dataset(dataset: Dataset) -> None:
    shape = dataset.input_shape
    if len(shape) != 3:
        raise DataError(
            "Recipe 'digits-mobilenet' needs images shaped (height, width, channels). "
            f"Received: input_shape={shape} from dataset '{dataset.name}'."
        )
    if len(dataset.train) == 0 or len(dataset.val) == 0:
        raise DataError(
            "Recipe 'digits-mobilenet' needs non-empty train and val splits. Received: "
            f"{len(dataset.train)} train and {len(dataset.val)} val samples in '{dataset.name}'."
        )


def _inverted_residual(x: Any, expansion: int, channels: int, stride: int, name: str) -> Any:
    from keras import layers

    in_channels = int(x.shape[-1])
    h = x
    if expansion != 1:
        h = layers.Conv2D(in_channels * expansion, 1, use_bias=False, name=f"{name}_expand")(h)
        h = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_expand_bn")(h)
        h = layers.ReLU(6.0, name=f"{name}_expand_relu")(h)
    h = layers.DepthwiseConv2D(
        3, strides=stride, padding="same", use_bias=False, name=f"{name}_depthwise"
    )(h)
    h = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_depthwise_bn")(h)
    h = layers.ReLU(6.0, name=f"{name}_depthwise_relu")(h)
    h = layers.Conv2D(channels, 1, use_bias=False, name=f"{name}_project")(h)
    h = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_project_bn")(h)
    if stride == 1 and in_channels == channels:
        h = layers.Add(name=f"{name}_add")([x, h])
    return h


def build(
    input_shape: tuple[int, ...], num_classes: int, input_size: int, alpha: float
) -> keras.Model:
    """The untrained network (weights drawn from the current Keras seed)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if tuple(input_shape[:2]) != (input_size, input_size):
        x = layers.Resizing(input_size, input_size, interpolation="bilinear", name="resize")(x)
    x = layers.Conv2D(
        _divisible(STEM_CHANNELS * alpha), 3, strides=2, padding="same", use_bias=False,
        name="stem",
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    block = 0
    for expansion, channels, repeats, stride in STAGES:
        for i in range(repeats):
            x = _inverted_residual(
                x, expansion, _divisible(channels * alpha), stride if i == 0 else 1,
                name=f"block{block}",
            )
            block += 1
    last = _divisible(LAST_CHANNELS * alpha) if alpha > 1.0 else LAST_CHANNELS
    x = layers.Conv2D(last, 1, use_bias=False, name="head")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="head_bn")(x)
    x = layers.ReLU(6.0, name="head_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_mobilenet")


def train(
    dataset: Dataset,
    *,
    progress: bool = True,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    input_size: int,
    alpha: float,
) -> keras.Model:
    """Train the network on ``dataset.train``, validated on ``dataset.val``.

    Parameters come from the registry defaults (``get_recipe("digits-mobilenet").params(...)``).
    Returns a compiled model whose output is softmax probabilities over ``dataset.class_names``;
    its input shape is ``dataset.input_shape`` (resizing happens inside the model).
    """
    _check_params(epochs, batch_size, learning_rate, seed, input_size, alpha)
    _check_dataset(dataset)

    seed_everything(seed)
    model = build(dataset.input_shape, dataset.num_classes, input_size, float(alpha))
    return fit_classifier(
        model, dataset, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        seed=seed, progress=progress,
    )
