"""The built-in digits recipes: digits-cnn and digits-mobilenet.

Fast tests train one epoch; the slow ones train with the registry defaults and check the
accuracy bars (CNN >= 95%, MobileNetV2-style >= 90% on the test split) and that the trained
MobileNetV2-style model converts under every mode.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tflbench.data.base import Split
from tflbench.errors import ConfigError, DataError
from tflbench.models.recipes import get_recipe

RECIPE_NAMES = ("digits-cnn", "digits-mobilenet")
ACCURACY_BARS = {"digits-cnn": 0.95, "digits-mobilenet": 0.90}


def _train(name: str, dataset, **overrides):
    recipe = get_recipe(name)
    return recipe.load_module().train(dataset, progress=False, **recipe.params(**overrides))


@pytest.fixture(scope="module", params=RECIPE_NAMES)
def quick(request, digits):
    """(name, model) trained for one epoch."""
    return request.param, _train(request.param, digits, epochs=1)


def test_model_input_is_the_dataset_input(quick, digits) -> None:
    _, model = quick
    assert tuple(model.input_shape[1:]) == digits.input_shape == (8, 8, 1)


def test_outputs_are_probabilities_over_the_classes(quick, digits) -> None:
    _, model = quick
    probs = np.asarray(model.predict(digits.test.x[:32], verbose=0))
    assert probs.shape == (32, digits.num_classes)
    assert np.all(probs >= 0.0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_same_seed_gives_same_weights(quick, digits) -> None:
    name, model = quick
    again = _train(name, digits, epochs=1)
    first, second = model.get_weights(), again.get_weights()
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_other_seed_gives_other_weights(digits) -> None:
    model = _train("digits-cnn", digits, epochs=1)
    other = _train("digits-cnn", digits, epochs=1, seed=1)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(model.get_weights(), other.get_weights(), strict=True)
    )


@pytest.mark.parametrize("name", RECIPE_NAMES)
@pytest.mark.parametrize(
    "bad",
    [{"epochs": 0}, {"batch_size": -1}, {"learning_rate": 0.0}, {"seed": "x"},
     {"epochs": 2.5}],
)
def test_bad_parameters_raise_config_error(name, bad, digits) -> None:
    key = next(iter(bad))
    with pytest.raises(ConfigError, match=key):
        _train(name, digits, **bad)


@pytest.mark.parametrize("bad", [{"input_size": 8}, {"alpha": 0}, {"alpha": "wide"}])
def test_bad_mobilenet_parameters_raise_config_error(bad, digits) -> None:
    key = next(iter(bad))
    with pytest.raises(ConfigError, match=key):
        _train("digits-mobilenet", digits, **bad)


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_flat_inputs_raise_data_error(name, digits) -> None:
    flat = replace(
        digits,
        train=Split(digits.train.x.reshape(len(digits.train), -1), digits.train.y),
        val=Split(digits.val.x.reshape(len(digits.val), -1), digits.val.y),
        test=Split(digits.test.x.reshape(len(digits.test), -1), digits.test.y),
    )
    with pytest.raises(DataError, match=r"\(64,\)"):
        _train(name, flat)


@pytest.fixture(scope="module")
def trained(digits):
    """Models trained with the registry defaults, by recipe name (trained on first use)."""
    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = _train(name, digits)
        return cache[name]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_default_training_reaches_the_accuracy_bar(name, trained, digits) -> None:
    model = trained(name)
    probs = np.asarray(model.predict(digits.test.x, verbose=0))
    accuracy = float(np.mean(probs.argmax(axis=1) == digits.test.y))
    assert accuracy >= ACCURACY_BARS[name], f"{name}: test accuracy {accuracy:.4f}"


@pytest.mark.slow
def test_mobilenet_converts_under_every_mode(trained, digits) -> None:
    from tflbench.convert import convert
    from tflbench.modes import MODES

    model = trained("digits-mobilenet")
    for mode in MODES.values():
        outcome = convert(model, mode, digits.train.x[:100], name="digits-mobilenet")
        assert outcome.tflite[:8][4:8] == b"TFL3", mode.name
