"""Reference training is deterministic: the same recipe, data and seed give the same weights."""

from __future__ import annotations

import numpy as np


def test_same_seed_same_weights(digits) -> None:
    from tflbench.models.recipes import get_recipe

    recipe = get_recipe("digits-cnn")
    train = recipe.load_module().train
    params = recipe.params(epochs=1, seed=3)
    a = train(digits, progress=False, **params)
    b = train(digits, progress=False, **params)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
