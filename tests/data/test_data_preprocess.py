from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tflbench.data import preprocess as pp
from tflbench.errors import ConfigError, DataError


def _pixels(shape=(3, 7, 5, 3), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_resolve_expands_named_and_is_idempotent():
    spec = pp.resolve("mobilenet_v2")
    assert spec == {"named": "mobilenet_v2", "scale": 1 / 127.5, "offset": -1.0}
    assert pp.resolve(spec) == spec
    dense = pp.resolve({"named": "DenseNet", "resize": 224, "color": "RGB"})
    assert dense["named"] == "densenet"
    assert dense["resize"] == [224, 224] and dense["color"] == "rgb"
    assert dense["mean"] == [0.485, 0.456, 0.406] and dense["std"] == [0.229, 0.224, 0.225]
    caffe = pp.resolve("resnet50")
    assert caffe["channel_order"] == "bgr" and caffe["mean"] == [103.939, 116.779, 123.68]
    assert json.loads(json.dumps(caffe)) == caffe
    assert pp.resolve(None) == {"scale": 1.0, "offset": 0.0}


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [
        ({"sacle": 2}, "Unknown preprocessing key.*sacle"),
        ("mobilenet_v9", "Unknown named preprocessing.*mobilenet_v9"),
        ({"named": "mobilenet_v2", "scale": 2.0}, "contradicts named='mobilenet_v2'"),
        ({"scale": 0}, "must not be 0"),
        ({"scale": "big"}, "scale must be a number"),
        ({"offset": float("nan")}, "offset must be finite"),
        ({"std": [1, 0, 1]}, "std must not contain 0"),
        ({"color": "cmyk"}, "color must be 'rgb' or 'grayscale'"),
        ({"channel_order": "gbr"}, "channel_order"),
        ({"resize": [0, 4]}, "resize must be positive"),
        ({"resize": "axb"}, "resize must be a positive integer"),
        ({"interpolation": "magic"}, "interpolation must be one of"),
        ({"named": "densenet", "color": "grayscale"}, "3 \\(RGB\\) channels"),
        (42, "must be a name .* or a dict"),
    ],
)
def test_bad_specs_are_config_errors(spec, pattern):
    with pytest.raises(ConfigError, match=pattern):
        pp.resolve(spec)


def test_informational_and_unknown_keys():
    spec = {"scale": 0.5, "input_shape": [8, 8, 1], "layout": "NHWC", "dtype": "float32"}
    assert pp.resolve(spec)["input_shape"] == [8, 8, 1]
    assert pp.resolve({"scale": 0.5, "extra": 1}, strict=False) == {"scale": 0.5, "offset": 0.0}


def test_apply_numbers_in_order():
    x = _pixels()
    got = pp.apply_preprocessing(x, {"scale": 0.5, "offset": 1.0, "mean": [1, 2, 3],
                                     "std": [2, 4, 8]})
    want = ((x.astype(np.float64) * 0.5 + 1.0) - [1, 2, 3]) / [2, 4, 8]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6)
    bgr = pp.apply_preprocessing(x, {"channel_order": "bgr"})
    np.testing.assert_array_equal(bgr, x[..., ::-1].astype(np.float32))


def test_apply_leaves_the_input_untouched_and_adds_a_channel():
    x = _pixels((2, 4, 4)).astype(np.float32)
    before = x.copy()
    out = pp.apply_preprocessing(x, "mobilenet_v2")
    assert out.shape == (2, 4, 4, 1)
    np.testing.assert_array_equal(x, before)


def test_grayscale_is_bit_exact_with_pillow():
    from PIL import Image

    x = _pixels((4, 9, 11, 3))
    gray = pp.convert_color(x, "grayscale")
    for i in range(len(x)):
        want = np.asarray(Image.fromarray(x[i]).convert("L"))
        np.testing.assert_array_equal(gray[i, ..., 0], want)


def test_color_conversions():
    g = _pixels((2, 3, 3, 1))
    assert pp.convert_color(g, "rgb").shape == (2, 3, 3, 3)
    rgba = _pixels((2, 3, 3, 4))
    np.testing.assert_array_equal(pp.convert_color(rgba, "rgb"), rgba[..., :3])
    assert pp.convert_color(rgba, "grayscale").shape == (2, 3, 3, 1)
    f = np.ones((1, 2, 2, 3), np.float32) * [10, 20, 30]
    np.testing.assert_allclose(pp.convert_color(f, "grayscale")[..., 0], 0.299 * 10 + 0.587 * 20
                               + 0.114 * 30, rtol=1e-6)
    with pytest.raises(DataError, match="5 channel"):
        pp.convert_color(np.zeros((1, 2, 2, 5)), "rgb")


def test_resize_matches_pillow_for_uint8_and_float():
    from PIL import Image

    x = _pixels((2, 20, 16, 3))
    out = pp.apply_preprocessing(x, {"resize": [10, 8]})
    want = np.asarray(Image.fromarray(x[1]).resize((8, 10), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(out[1], want.astype(np.float32))
    xf = x.astype(np.float32) / 255.0
    outf = pp.apply_preprocessing(xf, {"resize": 10, "interpolation": "nearest"})
    assert outf.shape == (2, 10, 10, 3)
    assert np.isin(outf, xf).all()  # nearest neighbour keeps original values


def test_apply_rejects_bad_arrays():
    with pytest.raises(DataError, match="shape"):
        pp.apply_preprocessing(np.zeros(5), None)
    with pytest.raises(DataError, match="numeric"):
        pp.apply_preprocessing(np.array([["a"]]), None)
    with pytest.raises(DataError, match="needs 3 channels"):
        pp.apply_preprocessing(np.zeros((1, 2, 2, 1)), "caffe")
    with pytest.raises(DataError, match="2 values but the images have 3"):
        pp.apply_preprocessing(np.zeros((1, 2, 2, 3)), {"mean": [1, 2]})


def test_with_defaults():
    assert pp.with_defaults(None)["named"] == "unit"
    assert pp.with_defaults(None, default_named="raw")["scale"] == 1.0
    assert pp.with_defaults({"color": "grayscale"})["named"] == "unit"
    assert "named" not in pp.with_defaults({"scale": 2.0})
    assert pp.with_defaults(None, input_size=32, color="rgb")["resize"] == [32, 32]
    assert pp.with_defaults({"color": "grayscale"}, color="rgb")["color"] == "grayscale"
    with pytest.raises(ConfigError, match="contradicts"):
        pp.with_defaults({"resize": [8, 8]}, input_size=16)


def test_image_size_forms():
    assert pp.image_size(224) == (224, 224)
    assert pp.image_size("224x160") == (224, 160)
    assert pp.image_size("96") == (96, 96)
    assert pp.image_size((5, 6)) == (5, 6)
    with pytest.raises(ConfigError):
        pp.image_size(True)


KERAS_FAMILIES = [
    "mobilenet", "mobilenet_v2", "inception_v3", "xception", "inception_resnet_v2", "nasnet",
    "resnet_v2", "densenet", "resnet50", "resnet", "vgg16", "vgg19", "efficientnet",
    "efficientnet_v2", "mobilenet_v3", "convnext",
]


@pytest.mark.parametrize("name", KERAS_FAMILIES)
def test_named_matches_keras_applications(name):
    keras = pytest.importorskip("keras")
    module = getattr(keras.applications, name, None)
    if module is None or not hasattr(module, "preprocess_input"):
        pytest.skip(f"keras.applications.{name} not available")
    x = _pixels((4, 9, 7, 3), seed=3).astype(np.float32)
    want = np.asarray(module.preprocess_input(x.copy()))
    got = pp.apply_preprocessing(x, name)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)
    # and from uint8 input straight off a decoder
    np.testing.assert_allclose(pp.apply_preprocessing(x.astype(np.uint8), name), want,
                               rtol=1e-6, atol=1e-5)


def test_preprocessing_needs_no_tensorflow():
    code = (
        "import sys, numpy as np\n"
        "from tflbench.data import preprocess, folder, npz, stream, sources, base\n"
        "x = np.zeros((1, 4, 4, 3), np.uint8)\n"
        "preprocess.apply_preprocessing(x, {'named': 'densenet', 'resize': 2})\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.split() == ["False", "False"]
