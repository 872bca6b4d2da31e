"""Int8 weights one layer at a time: the fake quantization, the layer walk and the names the
converter gives fused ops."""

from __future__ import annotations

import numpy as np
import pytest

from tflbench.weight_sensitivity import fake_quantized, fused_names, walk, weight_sensitivity


def test_fake_quantization_is_per_channel_and_symmetric():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3, 4, 2)).astype(np.float32)
    w[..., 1] *= 1000.0  # one huge channel must not coarsen the other
    q = fake_quantized(w, -1)
    assert q.dtype == w.dtype and q.shape == w.shape
    for c in range(2):
        step = np.abs(w[..., c]).max() / 127
        assert np.abs(q[..., c] - w[..., c]).max() <= step / 2 + 1e-6 * step
        assert np.allclose(np.abs(q[..., c]).max(), np.abs(w[..., c]).max())
    # depthwise kernels (h, w, channels, multiplier) keep one scale per channel of axis 2
    dw = rng.normal(size=(3, 3, 5, 1)).astype(np.float32)
    assert np.unique(np.round(fake_quantized(dw, 2)[..., 0, 0] / (np.abs(dw[..., 0, 0]).max()
                                                                  / 127), 4)).size <= 255
    assert np.array_equal(fake_quantized(np.zeros((2, 3), np.float32), -1), np.zeros((2, 3)))
    q4 = fake_quantized(w, -1, bits=4)  # 15 levels a channel: -7..7 steps
    assert all(np.unique(q4[..., c]).size <= 15 for c in range(2))


def cancelling(digits):
    """A Dense layer whose outputs are the small difference of two huge weights (+1000 a and
    -1000 a + b on two copies of the input): int8 rounding of its kernel erases b."""
    import keras

    rng = np.random.default_rng(1)
    a = rng.normal(size=(64, 10)).astype(np.float32)
    b = rng.normal(scale=0.1, size=(64, 10)).astype(np.float32)
    inputs = keras.Input((8, 8, 1))
    flat = keras.layers.Flatten(name="flat")(inputs)
    twice = keras.layers.Dense(128, use_bias=False, name="dup")(flat)
    outputs = keras.layers.Dense(10, activation="softmax", name="cancel")(twice)
    model = keras.Model(inputs, outputs)
    model.get_layer("dup").set_weights([np.concatenate([np.eye(64), np.eye(64)], 1)])
    model.get_layer("cancel").set_weights([np.concatenate([1000 * a, -1000 * a + b]),
                                           np.zeros(10, np.float32)])
    return model


@pytest.fixture(scope="module")
def nested():
    import keras

    keras.utils.set_random_seed(0)
    backbone = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, padding="same", name="stem"),
        keras.layers.BatchNormalization(name="stem_bn"),
        keras.layers.ReLU(name="stem_relu"),
        keras.layers.DepthwiseConv2D(3, padding="same", name="dw"),
        keras.layers.BatchNormalization(name="dw_bn"),
    ], name="backbone")
    inputs = keras.Input((8, 8, 1))
    x = backbone(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs)


def test_walk_reaches_the_layers_of_nested_models(nested):
    names = [layer.name for layer in walk(nested.layers)]
    assert {"stem", "stem_bn", "stem_relu", "dw", "dw_bn", "pool", "head"} <= set(names)


def test_fused_name_follows_batchnorm_and_activation(nested):
    known = {"stem_relu", "dw_bn", "head", "stem_bn"}
    assert fused_names(nested, ["stem", "dw", "head"], known) == {
        "stem": "stem_relu", "dw": "dw_bn", "head": "head"}
    assert fused_names(nested, ["dw"], {"other"}) == {}


def test_the_layer_whose_weights_break_is_found(digits):
    model = cancelling(digits)
    x = digits.test.x[:200]
    reference = model.predict(x, verbose=0)
    before = [v.copy() for v in model.get_weights()]
    found = weight_sensitivity(model, x, reference)
    assert set(found) == {"dup", "cancel"}
    assert found["dup"] == 1.0  # an identity is exact in int8
    assert found["cancel"] < 0.5
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # every layer restored
