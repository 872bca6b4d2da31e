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
            defaults={"epochs": 30, "batch_size": 32, "learning_rate": 3e-3, "seed": 0},
            module=f"{_PKG}.digits_cnn",
        ),
        Recipe(
            name="digits-mobilenet",
            description="MobileNetV2-style network (inverted residual, depthwise-separable "
            "blocks) on the embedded digits, upsampled.",
            dataset="digits",
            defaults={"epochs": 30, "batch_size": 32, "learning_rate": 3e-3, "seed": 0,
                      "input_size": 32, "alpha": 0.35},
            module=f"{_PKG}.digits_mobilenet",
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
