"""Recipe ``image-folder-mobilenetv2``: an image classifier for your own folder of photos.

The layout of TFLite Model Maker's image classifier (the flowers and shoes examples)::

    MobileNetV2 backbone (width alpha, ImageNet weights, no classifier), inference-mode BN
    global average pooling
    Dropout(dropout)
    Dense(num_classes, softmax)

Training has two phases:

1. the new head, with the backbone frozen, for ``epochs``. The backbone's features of the train
   and val images are computed once and the head is trained on them, which is the same
   optimisation as running the frozen backbone every step, in a fraction of the time;
2. optionally (``fine_tune_layers`` > 0 and ``fine_tune_epochs`` > 0) the top
   ``fine_tune_layers`` layers of the backbone are unfrozen and the whole model is trained end
   to end for ``fine_tune_epochs`` at ``fine_tune_learning_rate``, on batches randomly
   flipped, rotated and zoomed when ``augment`` is true (outside the model: the trained model
   has no augmentation layers). BatchNorm layers stay frozen with their ImageNet statistics,
   as usual when fine-tuning on small sets.

With ``weights="none"`` there is nothing to transfer (an untrained backbone's features are close
to zero), so the whole network trains from scratch for ``epochs`` instead, BatchNorm included.

The loss is categorical cross-entropy with ``label_smoothing`` (Model Maker uses 0.1).
:func:`prepare` brings any dataset to ``input_size`` RGB with ``mobilenet_v2`` preprocessing
(``x / 127.5 - 1``), recorded in the dataset's preprocessing spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tflbench.data.base import Dataset
from tflbench.errors import ConfigError
from tflbench.models.determinism import seed_everything
from tflbench.models.recipes import _transfer as tr

if TYPE_CHECKING:
    import keras

NAME = "image-folder-mobilenetv2"


def params(**overrides: Any) -> dict[str, Any]:
    """The registry defaults of this recipe with ``overrides`` (unknown names raise)."""
    from tflbench.models.recipes import get_recipe

    return get_recipe(NAME).params(**overrides)


def prepare(dataset: Dataset, **overrides: Any) -> Dataset:
    """``dataset`` at ``input_size`` RGB with the recipe's preprocessing (a no-op when the
    dataset was loaded that way, e.g. ``folder:PATH?size=224&preprocess=mobilenet_v2``)."""
    return tr.prepare_rgb(dataset, NAME, params(**overrides))


def build(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    alpha: float,
    dropout: float,
    weights: Any,
) -> tuple[keras.Model, keras.Model, keras.Model, keras.Model]:
    """``(model, backbone, extractor, head)``: the full classifier, its MobileNetV2 backbone,
    the feature extractor (backbone + pooling) and the head (dropout + softmax dense), sharing
    layers so training either part trains ``model``. With pretrained ``weights`` the backbone
    is frozen with inference-mode BatchNorm; with ``None`` it is trainable (from scratch)."""
    import keras
    from keras import layers

    backbone = tr.build_backbone(NAME, "mobilenet_v2", input_shape, weights, alpha=alpha)
    inputs = keras.Input(shape=input_shape, name="image")
    pool = layers.GlobalAveragePooling2D(name="pool")
    pooled = pool(tr.apply_backbone(backbone, inputs, pretrained=weights is not None))
    extractor = keras.Model(inputs, pooled, name="features")

    drop = layers.Dropout(dropout, name="dropout")
    dense = layers.Dense(num_classes, activation="softmax", name="probabilities")
    feat_in = keras.Input(shape=(int(pooled.shape[-1]),), name="features")
    head = keras.Model(feat_in, dense(drop(feat_in)), name="head")
    model = keras.Model(inputs, dense(drop(pooled)), name="image_folder_mobilenetv2")
    return model, backbone, extractor, head


def train(dataset: Dataset, *, progress: bool = True, **overrides: Any) -> keras.Model:
    """Train on ``dataset.train`` (validated on ``dataset.val``); see the module docstring.

    The dataset is passed through :func:`prepare` first (a no-op when already prepared).
    Returns a model whose output is softmax probabilities over ``dataset.class_names``.
    """
    p = params(**overrides)
    epochs = tr.check_int(NAME, "epochs", p["epochs"])
    batch_size = tr.check_int(NAME, "batch_size", p["batch_size"])
    learning_rate = tr.check_float(NAME, "learning_rate", p["learning_rate"], 0.0, 10.0)
    opt_name = tr.check_optimizer(NAME, p["optimizer"])
    seed = tr.check_seed(NAME, p["seed"])
    alpha = tr.check_float(NAME, "alpha", p["alpha"], 0.0, 4.0)
    dropout = tr.check_float(NAME, "dropout", p["dropout"], 0.0, 0.95, low_inclusive=True)
    label_smoothing = tr.check_float(NAME, "label_smoothing", p["label_smoothing"], 0.0, 0.5,
                                     low_inclusive=True)
    fine_tune_layers = tr.check_int(NAME, "fine_tune_layers", p["fine_tune_layers"], minimum=0)
    fine_tune_epochs = tr.check_int(NAME, "fine_tune_epochs", p["fine_tune_epochs"], minimum=0)
    fine_tune_learning_rate = tr.check_float(NAME, "fine_tune_learning_rate",
                                             p["fine_tune_learning_rate"], 0.0, 10.0)
    augment = p["augment"]
    if not isinstance(augment, bool):
        raise ConfigError(f"Recipe '{NAME}' expected augment true or false. "
                          f"Received: augment={augment!r}.")
    resolved_weights = tr.check_weights(NAME, p["weights"])
    dataset = prepare(dataset, **overrides)
    tr.check_dataset(NAME, dataset, channels=3)

    seed_everything(seed)
    shape = tuple(int(d) for d in dataset.input_shape)
    model, backbone, extractor, head = build(
        (shape[0], shape[1], shape[2]), dataset.num_classes,
        alpha=alpha, dropout=dropout, weights=resolved_weights,
    )
    if resolved_weights is None:  # from scratch: every layer trains, BatchNorm included
        tr.fit(model, dataset, epochs=epochs, batch_size=batch_size,
               optimizer=tr.make_optimizer(opt_name, learning_rate),
               label_smoothing=label_smoothing, progress=progress)
        return model
    tr.fit_head_on_features(
        extractor, head, dataset, epochs=epochs, batch_size=batch_size,
        optimizer=tr.make_optimizer(opt_name, learning_rate),
        label_smoothing=label_smoothing, progress=progress,
    )
    if fine_tune_layers > 0 and fine_tune_epochs > 0:
        n = tr.unfreeze_top(backbone, fine_tune_layers)
        if progress:
            print(f"fine-tuning the top {fine_tune_layers} backbone layers ({n} with weights)",
                  flush=True)
        tr.fit(
            model, dataset, epochs=fine_tune_epochs, batch_size=batch_size,
            optimizer=tr.make_optimizer(opt_name, fine_tune_learning_rate),
            label_smoothing=label_smoothing, progress=progress,
            augment=tr.augmentation(seed=seed) if augment else None, seed=seed,
        )
    return model
