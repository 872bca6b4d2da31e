"""Recipe ``fashion-mnist-cnn``: the classic five-layer Fashion-MNIST CNN for TFLite.

::

    Conv2D(16, 3x3, ReLU)
    MaxPooling2D(2x2)
    Conv2D(32, 3x3, ReLU)
    Flatten
    Dense(64, ReLU)
    Dense(num_classes, softmax)

Default data: ``tfds:fashion_mnist`` split 80/10/10 from the official training split
(``train[:80%]``, ``train[80%:90%]``, ``train[90%:]``), 28x28 grayscale scaled to ``[0, 1]``.
Any other image dataset works too: :func:`prepare` resizes it to ``input_size`` and applies the
``preprocessing`` parameter (default ``unit``, ``x / 255``), keeping its channels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tflbench.data.base import Dataset
from tflbench.models.determinism import seed_everything
from tflbench.models.recipes import _transfer as tr

if TYPE_CHECKING:
    import keras

NAME = "fashion-mnist-cnn"


def params(**overrides: Any) -> dict[str, Any]:
    """The registry defaults of this recipe with ``overrides`` (unknown names raise)."""
    from tflbench.models.recipes import get_recipe

    return get_recipe(NAME).params(**overrides)


def prepare(dataset: Dataset, **overrides: Any) -> Dataset:
    """``dataset`` at ``input_size`` with the recipe's preprocessing (a no-op for the default
    data, which is 28x28 and ``x / 255`` already)."""
    p = params(**overrides)
    size = tr.check_input_size(NAME, p["input_size"], minimum=8)
    spec = tr.check_preprocessing(NAME, p["preprocessing"])
    return tr.reprocess(dataset, NAME, spec, size)


def build(input_shape: tuple[int, ...], num_classes: int) -> keras.Model:
    """The untrained network (weights drawn from the current Keras seed)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(16, 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(name="pool")(x)
    x = layers.Conv2D(32, 3, activation="relu", name="conv2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name="dense")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="fashion_mnist_cnn")


def train(dataset: Dataset, *, progress: bool = True, **overrides: Any) -> keras.Model:
    """Train on ``dataset.train`` (validated on ``dataset.val``).

    Parameters (registry defaults in brackets): ``epochs`` (10), ``batch_size`` (32),
    ``learning_rate`` (1e-3), ``optimizer`` (adam), ``seed`` (0), ``input_size`` (28),
    ``preprocessing`` (unit). Returns a model whose output is softmax probabilities over
    ``dataset.class_names``.
    """
    p = params(**overrides)
    epochs = tr.check_int(NAME, "epochs", p["epochs"])
    batch_size = tr.check_int(NAME, "batch_size", p["batch_size"])
    learning_rate = tr.check_float(NAME, "learning_rate", p["learning_rate"], 0.0, 10.0)
    opt_name = tr.check_optimizer(NAME, p["optimizer"])
    seed = tr.check_seed(NAME, p["seed"])
    dataset = prepare(dataset, **overrides)
    tr.check_dataset(NAME, dataset)

    seed_everything(seed)
    model = build(dataset.input_shape, dataset.num_classes)
    tr.fit(model, dataset, epochs=epochs, batch_size=batch_size,
           optimizer=tr.make_optimizer(opt_name, learning_rate), label_smoothing=0.0,
           progress=progress)
    return model
