"""Recipe ``digits-cnn``: a small convolutional network for small grayscale images.

Architecture (for the 8x8x1 digits; any ``(H, W, C)`` input with H, W >= 4 works)::

    Input(H, W, C)
    Conv2D(32, 3x3, same) + BatchNorm + ReLU
    Conv2D(32, 3x3, same) + BatchNorm + ReLU
    MaxPool 2x2
    Conv2D(64, 3x3, same) + BatchNorm + ReLU
    MaxPool 2x2
    Flatten, Dropout(0.3), Dense(64, ReLU), Dense(num_classes, softmax)

Every layer converts under all tflbench modes (BatchNorm is folded into the convolutions by the
TFLite converter). Training is seeded with ``keras.utils.set_random_seed`` and keeps the weights
of the epoch with the lowest validation loss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tflbench.data.base import Dataset
from tflbench.errors import ConfigError, DataError
from tflbench.models.determinism import seed_everything

if TYPE_CHECKING:
    import keras


def _check_params(epochs: Any, batch_size: Any, learning_rate: Any, seed: Any) -> None:
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                f"Recipe 'digits-cnn' expected a positive integer. Received: {name}={value!r}."
            )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"Recipe 'digits-cnn' expected an integer. Received: seed={seed!r}.")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not (
        0 < float(learning_rate) < 1
    ):
        raise ConfigError(
            "Recipe 'digits-cnn' expected a learning rate between 0 and 1. "
            f"Received: learning_rate={learning_rate!r}."
        )


def _check_dataset(dataset: Dataset) -> None:
    shape = dataset.input_shape
    if len(shape) != 3 or shape[0] < 4 or shape[1] < 4:
        raise DataError(
            f"Recipe 'digits-cnn' needs images shaped (height, width, channels) of at least "
            f"4x4. Received: input_shape={shape} from dataset '{dataset.name}'."
        )
    if len(dataset.train) == 0 or len(dataset.val) == 0:
        raise DataError(
            f"Recipe 'digits-cnn' needs non-empty train and val splits. Received: "
            f"{len(dataset.train)} train and {len(dataset.val)} val samples in '{dataset.name}'."
        )


def build(input_shape: tuple[int, ...], num_classes: int) -> keras.Model:
    """The untrained network (weights drawn from the current Keras seed)."""
    import keras
    from keras import layers

    def conv(x: Any, filters: int) -> Any:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        return layers.ReLU()(x)

    inputs = keras.Input(shape=input_shape, name="image")
    x = conv(inputs, 32)
    x = conv(x, 32)
    x = layers.MaxPooling2D(2)(x)
    x = conv(x, 64)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


def train(
    dataset: Dataset,
    *,
    progress: bool = True,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> keras.Model:
    """Train the CNN on ``dataset.train``, validated on ``dataset.val``.

    Parameters come from the registry defaults (``get_recipe("digits-cnn").params(...)``).
    Returns a compiled model whose output is softmax probabilities over ``dataset.class_names``.
    """
    _check_params(epochs, batch_size, learning_rate, seed)
    _check_dataset(dataset)

    seed_everything(seed)
    model = build(dataset.input_shape, dataset.num_classes)
    return fit_classifier(
        model, dataset, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        seed=seed, progress=progress,
    )


def fit_classifier(
    model: keras.Model,
    dataset: Dataset,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    progress: bool,
) -> keras.Model:
    """Seeded training shared by the digits recipes; returns ``model`` with its best weights.

    Adam with a cosine-decayed learning rate and sparse categorical cross-entropy. The training
    split is reshuffled every epoch (seeded) and cut into full batches only, and the validation
    split is one batch, so each step function is traced once. The optimizer is built before
    ``fit`` for the same reason. The weights of the epoch with the lowest validation loss are kept.
    """
    import keras
    import tensorflow as tf

    n = len(dataset.train)
    batch_size = min(batch_size, n)
    steps_per_epoch = n // batch_size
    train_data = (
        tf.data.Dataset.from_tensor_slices((dataset.train.x, dataset.train.y))
        .shuffle(n, seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
    )
    val_data = tf.data.Dataset.from_tensor_slices((dataset.val.x, dataset.val.y)).batch(
        len(dataset.val)
    )
    schedule = keras.optimizers.schedules.CosineDecay(
        float(learning_rate), decay_steps=epochs * steps_per_epoch
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_epoch,
    )
    model.optimizer.build(model.trainable_variables)
    best = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=epochs, restore_best_weights=True
    )
    model.fit(
        train_data,
        epochs=epochs,
        validation_data=val_data,
        callbacks=[best],
        shuffle=False,  # train_data reshuffles itself, seeded
        verbose=2 if progress else 0,
    )
    return model
