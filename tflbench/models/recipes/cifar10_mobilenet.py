"""Recipe ``cifar10-mobilenetv2``: CIFAR-10 by transfer learning from MobileNetV2.

::

    input: the dataset's images (32x32x3 for CIFAR-10), mobilenet_v2 preprocessing (x/127.5 - 1)
    Resizing(input_size, input_size, bilinear)      inside the model, so the TFLite file takes
                                                    the 32x32 images as they are
    MobileNetV2 backbone (width alpha, ImageNet weights, no classifier), frozen, inference BN
    global average pooling
    Dropout(dropout)
    Dense(num_classes, softmax)

Only the new head trains. The backbone's features of the train and val images are computed once
and the head is trained on them: the same optimisation as a frozen backbone run every step, in
a fraction of the time. ``input_size`` 96, 128, 160, 192 or 224 match Keras' published ImageNet
weights; other sizes use the 224 weights (convolutions do not depend on the size).

``weights``: ``"imagenet"`` (downloaded by Keras on first use; offline this raises one
:class:`~tflbench.errors.ModelLoadError` saying what to do), ``"none"`` (opt-in random
initialisation: an untrained backbone's features are close to zero, so then the whole network
trains from scratch, BatchNorm included; far less accurate for the same time) or the path of a
local weights file of MobileNetV2 at the same ``alpha`` without its classifier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tflbench.data.base import Dataset
from tflbench.models.determinism import seed_everything
from tflbench.models.recipes import _transfer as tr

if TYPE_CHECKING:
    import keras

NAME = "cifar10-mobilenetv2"


def params(**overrides: Any) -> dict[str, Any]:
    """The registry defaults of this recipe with ``overrides`` (unknown names raise)."""
    from tflbench.models.recipes import get_recipe

    return get_recipe(NAME).params(**overrides)


def prepare(dataset: Dataset, **overrides: Any) -> Dataset:
    """``dataset`` as RGB with the recipe's preprocessing, at its own size (the model
    upsamples). A no-op for ``keras:cifar10?preprocess=mobilenet_v2``."""
    p = params(**overrides)
    spec = tr.check_preprocessing(NAME, p["preprocessing"])
    return tr.reprocess(dataset, NAME, spec, None, color="rgb")


def build(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    input_size: tuple[int, int],
    alpha: float,
    dropout: float,
    weights: Any,
) -> tuple[keras.Model, keras.Model, keras.Model]:
    """``(model, extractor, head)``: the classifier, its feature extractor (resizing, backbone,
    pooling) and its head (dropout, softmax dense), sharing layers. With pretrained ``weights``
    the backbone is frozen with inference-mode BatchNorm; with ``None`` it is trainable."""
    import keras
    from keras import layers

    backbone = tr.build_backbone(
        NAME, "mobilenet_v2", (input_size[0], input_size[1], input_shape[2]), weights,
        alpha=alpha,
    )
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if tuple(input_shape[:2]) != tuple(input_size):
        x = layers.Resizing(input_size[0], input_size[1], interpolation="bilinear",
                            name="upsample")(x)
    x = tr.apply_backbone(backbone, x, pretrained=weights is not None)
    pooled = layers.GlobalAveragePooling2D(name="pool")(x)
    extractor = keras.Model(inputs, pooled, name="features")

    drop = layers.Dropout(dropout, name="dropout")
    dense = layers.Dense(num_classes, activation="softmax", name="probabilities")
    feat_in = keras.Input(shape=(int(pooled.shape[-1]),), name="features")
    head = keras.Model(feat_in, dense(drop(feat_in)), name="head")
    model = keras.Model(inputs, dense(drop(pooled)), name="cifar10_mobilenetv2")
    return model, extractor, head


def train(dataset: Dataset, *, progress: bool = True, **overrides: Any) -> keras.Model:
    """Train the head on ``dataset.train`` (validated on ``dataset.val``).

    Parameters (registry defaults in brackets): ``epochs`` (5), ``batch_size`` (64),
    ``learning_rate`` (1e-3), ``optimizer`` (adam), ``seed`` (0), ``input_size`` (96),
    ``alpha`` (1.0), ``dropout`` (0.2), ``weights`` (imagenet), ``preprocessing``
    (mobilenet_v2). Returns a model whose input is the dataset's image shape and whose output is
    softmax probabilities over ``dataset.class_names``.
    """
    p = params(**overrides)
    epochs = tr.check_int(NAME, "epochs", p["epochs"])
    batch_size = tr.check_int(NAME, "batch_size", p["batch_size"])
    learning_rate = tr.check_float(NAME, "learning_rate", p["learning_rate"], 0.0, 10.0)
    opt_name = tr.check_optimizer(NAME, p["optimizer"])
    seed = tr.check_seed(NAME, p["seed"])
    size = tr.check_input_size(NAME, p["input_size"])
    alpha = tr.check_float(NAME, "alpha", p["alpha"], 0.0, 4.0)
    dropout = tr.check_float(NAME, "dropout", p["dropout"], 0.0, 0.95, low_inclusive=True)
    weights = tr.check_weights(NAME, p["weights"])
    dataset = prepare(dataset, **overrides)
    tr.check_dataset(NAME, dataset, channels=3)

    seed_everything(seed)
    shape = tuple(int(d) for d in dataset.input_shape)
    model, extractor, head = build(
        (shape[0], shape[1], shape[2]), dataset.num_classes, input_size=size, alpha=alpha,
        dropout=dropout, weights=weights,
    )
    optimizer_ = tr.make_optimizer(opt_name, learning_rate)
    if weights is None:  # from scratch: every layer trains, BatchNorm included
        tr.fit(model, dataset, epochs=epochs, batch_size=batch_size, optimizer=optimizer_,
               label_smoothing=0.0, progress=progress)
    else:
        tr.fit_head_on_features(extractor, head, dataset, epochs=epochs, batch_size=batch_size,
                                optimizer=optimizer_, label_smoothing=0.0, progress=progress)
    return model
