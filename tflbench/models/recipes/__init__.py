"""Built-in, seeded training recipes as data.

Each recipe is one record here plus one module with
``train(dataset, *, progress=True, **params) -> keras.Model`` (and optionally
``prepare(dataset, **params) -> Dataset`` when inputs must be resized or re-scaled first).
Modules are imported only when a recipe is used, so listing recipes needs no TensorFlow.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tflbench.errors import ConfigError


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    #: Default data spec: "digits", "tfds:NAME", "keras:NAME", "folder:PATH", "npz:PATH".
    dataset: str
    #: Default parameters (epochs, seed, batch_size, learning_rate, input_size, weights, ...).
    defaults: dict[str, Any] = field(default_factory=dict)
    #: Module that implements train() (and optionally prepare()).
    module: str = ""

    def load_module(self) -> ModuleType:
        return importlib.import_module(self.module)

    def params(self, **overrides: Any) -> dict[str, Any]:
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise ConfigError(
                f"Unknown parameter(s) for recipe '{self.name}': {', '.join(unknown)}. "
                f"Expected some of: {', '.join(sorted(self.defaults))}."
            )
        return {**self.defaults, **overrides}


_PKG = "tflbench.models.recipes"

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            name="digits-cnn",
            description="Small CNN on the embedded 8x8 digits (two conv blocks, dense head).",
            dataset="digits",
            defaults={"epochs": 15, "batch_size": 64, "learning_rate": 3e-3, "seed": 0},
            module=f"{_PKG}.digits_cnn",
        ),
        Recipe(
            name="digits-mobilenet",
            description="MobileNetV2-style network (inverted residual, depthwise-separable "
            "blocks) on the embedded digits, upsampled.",
            dataset="digits",
            defaults={"epochs": 15, "batch_size": 64, "learning_rate": 3e-3, "seed": 0,
                      "input_size": 16, "alpha": 0.35},
            module=f"{_PKG}.digits_mobilenet",
        ),
        Recipe(
            name="fashion-mnist-cnn",
            description="Fashion-MNIST five-layer CNN (conv 16, max-pool, conv 32, dense 64, "
            "softmax) on 28x28 grayscale scaled to [0, 1].",
            dataset="tfds:fashion_mnist?split=train[:80%],train[80%:90%],train[90%:]",
            defaults={"epochs": 10, "batch_size": 32, "learning_rate": 1e-3,
                      "optimizer": "adam", "seed": 0, "input_size": 28,
                      "preprocessing": "unit"},
            module=f"{_PKG}.fashion_cnn",
        ),
        Recipe(
            name="cifar10-mobilenetv2",
            description="CIFAR-10 transfer learning: frozen MobileNetV2 backbone (ImageNet "
            "weights) on 32x32 images upsampled inside the model, new softmax head.",
            dataset="keras:cifar10?preprocess=mobilenet_v2",
            defaults={"epochs": 5, "batch_size": 64, "learning_rate": 1e-3,
                      "optimizer": "adam", "seed": 0, "input_size": 96, "alpha": 1.0,
                      "dropout": 0.2, "weights": "imagenet",
                      "preprocessing": "mobilenet_v2"},
            module=f"{_PKG}.cifar10_mobilenet",
        ),
        Recipe(
            name="cats-vs-dogs-densenet121",
            description="Cats vs dogs transfer learning: DenseNet121 (ImageNet weights) with "
            "flip/rotation augmentation layers, new head, then the top layers fine-tuned.",
            dataset="tfds:cats_vs_dogs?size=160&preprocess=densenet",
            defaults={"epochs": 2, "batch_size": 32, "learning_rate": 1e-3,
                      "optimizer": "adam", "seed": 0, "input_size": 160,
                      "dropout": 0.2, "weights": "imagenet", "preprocessing": "densenet",
                      "flip": "horizontal", "rotation": 0.1, "fine_tune_layers": 30,
                      "fine_tune_epochs": 1, "fine_tune_learning_rate": 1e-5},
            module=f"{_PKG}.catsdogs_densenet",
        ),
        Recipe(
            name="image-folder-mobilenetv2",
            description="Your image folder (one sub-folder per class): MobileNetV2 backbone, "
            "dropout, softmax head, as TFLite Model Maker; optional fine-tuning of the top "
            "layers.",
            dataset="folder:PATH?size=224&preprocess=mobilenet_v2&fractions=0.9/0.1",
            defaults={"epochs": 10, "batch_size": 32, "learning_rate": 1e-3,
                      "optimizer": "adam", "seed": 0, "input_size": 224, "alpha": 1.0,
                      "dropout": 0.2, "label_smoothing": 0.1, "weights": "imagenet",
                      "preprocessing": "mobilenet_v2", "fine_tune_layers": 0,
                      "fine_tune_epochs": 3, "fine_tune_learning_rate": 1e-4,
                      "augment": True},
            module=f"{_PKG}.image_folder",
        ),
    )
}


def register(recipe: Recipe) -> None:
    """Add a recipe to the registry (for built-in modules and users' plug-ins)."""
    RECIPES[recipe.name] = recipe


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise ConfigError(
            f"Unknown recipe. Received: {name!r}. Expected one of: {', '.join(RECIPES)}."
        ) from None
