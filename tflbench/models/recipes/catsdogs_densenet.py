"""Recipe ``cats-vs-dogs-densenet121``: cats vs dogs by transfer learning from DenseNet121.

::

    input: input_size x input_size RGB, densenet preprocessing (x/255, ImageNet mean/std)
    RandomFlip(flip)                 augmentation: active in fit() only; at inference (and
    RandomRotation(rotation)         in the TFLite file) they pass images through unchanged
    DenseNet121 backbone (ImageNet weights, no classifier), inference-mode BN
    global average pooling
    Dropout(dropout)
    Dense(num_classes, softmax)

Training has two phases: the new head with the backbone frozen for ``epochs`` at
``learning_rate``, then the top ``fine_tune_layers`` layers of the backbone unfrozen for
``fine_tune_epochs`` at ``fine_tune_learning_rate`` (set either to 0 to skip). With
``weights="none"`` the whole network trains from scratch for ``epochs`` (an untrained
backbone's features are close to zero, so a head alone cannot learn) and fine-tuning is
skipped. Augmentation changes every step, so backbone features cannot be cached: this recipe is
slow on a CPU.

Default data ``tfds:cats_vs_dogs?size=160&preprocess=densenet`` (the set has one split, divided
80/10/10 here). Its 23,262 images at 160x160 take 7 GB as float32; pass a smaller ``size``
(and ``input_size``) or a TFDS sub-split such as ``split=train[:25%]`` on small machines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tflbench.data.base import Dataset
from tflbench.errors import ConfigError
from tflbench.models.determinism import seed_everything
from tflbench.models.recipes import _transfer as tr

if TYPE_CHECKING:
    import keras

NAME = "cats-vs-dogs-densenet121"
FLIPS = ("horizontal", "vertical", "horizontal_and_vertical", "none")


def params(**overrides: Any) -> dict[str, Any]:
    """The registry defaults of this recipe with ``overrides`` (unknown names raise)."""
    from tflbench.models.recipes import get_recipe

    return get_recipe(NAME).params(**overrides)


def prepare(dataset: Dataset, **overrides: Any) -> Dataset:
    """``dataset`` at ``input_size`` RGB with the recipe's preprocessing (a no-op when the
    dataset was loaded that way)."""
    return tr.prepare_rgb(dataset, NAME, params(**overrides))


def build(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    dropout: float,
    weights: Any,
    flip: str,
    rotation: float,
) -> tuple[keras.Model, keras.Model]:
    """``(model, backbone)``: the classifier with its augmentation layers, and its DenseNet121
    backbone: frozen with inference-mode BatchNorm when ``weights`` are pretrained, trainable
    (from scratch) when ``weights`` is None."""
    import keras
    from keras import layers

    backbone = tr.build_backbone(NAME, "densenet121", input_shape, weights)
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if flip != "none":
        x = layers.RandomFlip(flip, name="augment_flip")(x)
    if rotation > 0:
        x = layers.RandomRotation(rotation, fill_mode="reflect", name="augment_rotation")(x)
    x = tr.apply_backbone(backbone, x, pretrained=weights is not None)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cats_vs_dogs_densenet121"), backbone


def train(dataset: Dataset, *, progress: bool = True, **overrides: Any) -> keras.Model:
    """Train on ``dataset.train`` (validated on ``dataset.val``); see the module docstring.

    Parameters (registry defaults in brackets): ``epochs`` (2), ``batch_size`` (32),
    ``learning_rate`` (1e-3), ``optimizer`` (adam), ``seed`` (0), ``input_size`` (160),
    ``dropout`` (0.2), ``weights`` (imagenet), ``preprocessing`` (densenet), ``flip``
    (horizontal), ``rotation`` (0.1 of a full turn), ``fine_tune_layers`` (30),
    ``fine_tune_epochs`` (1), ``fine_tune_learning_rate`` (1e-5).
    """
    p = params(**overrides)
    epochs = tr.check_int(NAME, "epochs", p["epochs"], minimum=0)
    batch_size = tr.check_int(NAME, "batch_size", p["batch_size"])
    learning_rate = tr.check_float(NAME, "learning_rate", p["learning_rate"], 0.0, 10.0)
    opt_name = tr.check_optimizer(NAME, p["optimizer"])
    seed = tr.check_seed(NAME, p["seed"])
    dropout = tr.check_float(NAME, "dropout", p["dropout"], 0.0, 0.95, low_inclusive=True)
    rotation = tr.check_float(NAME, "rotation", p["rotation"], 0.0, 0.5, low_inclusive=True)
    flip = str(p["flip"]).lower() if p["flip"] is not None else "none"
    if flip not in FLIPS:
        raise ConfigError(
            f"Recipe '{NAME}' expected flip one of {', '.join(FLIPS)}. "
            f"Received: flip={p['flip']!r}."
        )
    fine_tune_layers = tr.check_int(NAME, "fine_tune_layers", p["fine_tune_layers"], minimum=0)
    fine_tune_epochs = tr.check_int(NAME, "fine_tune_epochs", p["fine_tune_epochs"], minimum=0)
    fine_tune_learning_rate = tr.check_float(NAME, "fine_tune_learning_rate",
                                             p["fine_tune_learning_rate"], 0.0, 10.0)
    if epochs == 0 and (fine_tune_layers == 0 or fine_tune_epochs == 0):
        raise ConfigError(
            f"Recipe '{NAME}' would not train at all. Received: epochs=0, "
            f"fine_tune_layers={fine_tune_layers}, fine_tune_epochs={fine_tune_epochs}. "
            "Give epochs >= 1 or both fine-tuning settings >= 1."
        )
    weights = tr.check_weights(NAME, p["weights"])
    dataset = prepare(dataset, **overrides)
    tr.check_dataset(NAME, dataset, channels=3)

    seed_everything(seed)
    shape = tuple(int(d) for d in dataset.input_shape)
    model, backbone = build((shape[0], shape[1], shape[2]), dataset.num_classes,
                            dropout=dropout, weights=weights, flip=flip, rotation=rotation)
    if epochs > 0:
        tr.fit(model, dataset, epochs=epochs, batch_size=batch_size,
               optimizer=tr.make_optimizer(opt_name, learning_rate), label_smoothing=0.0,
               progress=progress)
    if weights is not None and fine_tune_layers > 0 and fine_tune_epochs > 0:
        n = tr.unfreeze_top(backbone, fine_tune_layers)
        if progress:
            print(f"fine-tuning the top {fine_tune_layers} backbone layers ({n} with weights)",
                  flush=True)
        tr.fit(model, dataset, epochs=fine_tune_epochs, batch_size=batch_size,
               optimizer=tr.make_optimizer(opt_name, fine_tune_learning_rate),
               label_smoothing=0.0, progress=progress)
    return model
