"""The classic reference recipes: one short epoch each on small data made here, no network.

Tiny input sizes (32) and MobileNetV2 width 0.35 keep this fast; DenseNet121 trains and converts
in the slow run only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tflbench.data import preprocess as pp
from tflbench.data.base import Dataset, Split
from tflbench.errors import ConfigError, DataError, ModelLoadError
from tflbench.models.recipes import RECIPES, get_recipe

TRANSFER = ("fashion-mnist-cnn", "cifar10-mobilenetv2", "cats-vs-dogs-densenet121",
            "image-folder-mobilenetv2")
DOWNLOAD_ERROR = (
    "URL fetch failure on https://storage.googleapis.com/tensorflow/keras-applications/"
    "mobilenet_v2/weights.h5: None -- [Errno -2] Name or service not known"
)


def random_dataset(shape: tuple[int, int, int], num_classes: int, n_train: int = 32,
                   n_eval: int = 12, seed: int = 0) -> tuple[Dataset, dict[str, np.ndarray]]:
    """Random uint8 images stored as ``x / 255`` (what the data sources produce by default),
    with the raw pixels of each split for checking recorded preprocessing specs."""
    rng = np.random.default_rng(seed)
    raws: dict[str, np.ndarray] = {}
    splits = []
    for name, n in (("train", n_train), ("val", n_eval), ("test", n_eval)):
        raw = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
        raws[name] = raw
        splits.append(Split((raw / 255.0).astype(np.float32), np.arange(n) % num_classes))
    spec = pp.resolve({"named": "unit", "resize": list(shape[:2])})
    spec.update({"input_shape": list(shape), "raw_dtype": "uint8"})
    ds = Dataset(name="random", class_names=tuple(f"class{i}" for i in range(num_classes)),
                 train=splits[0], val=splits[1], test=splits[2], preprocessing=spec)
    return ds, raws


def dense_kernel(model) -> np.ndarray:
    return np.asarray(model.get_layer("probabilities").get_weights()[0])


def check_probabilities(model, ds: Dataset) -> np.ndarray:
    probs = np.asarray(model.predict(ds.test.x, verbose=0))
    assert probs.shape == (len(ds.test), ds.num_classes)
    assert np.all(probs >= 0) and np.all(probs <= 1)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    return probs


def check_converts(model, ds: Dataset, probs: np.ndarray) -> None:
    """fp32 TFLite conversion works and agrees with Keras on the test images."""
    import tensorflow as tf

    from tflbench.runtime import Runner

    tflite = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    out = Runner(tflite).predict(ds.test.x)
    np.testing.assert_allclose(out, probs, atol=1e-4)


def train_recipe(name: str, ds: Dataset, **params):
    recipe = get_recipe(name)
    module = recipe.load_module()
    full = recipe.params(epochs=1, **params)
    prepared = module.prepare(ds, **full)
    return module.train(prepared, progress=False, **full), prepared


def write_image_folder(root: Path, classes: int = 3, per_class: int = 10, size: int = 40) -> Path:
    from PIL import Image

    rng = np.random.default_rng(1)
    for c in range(classes):
        d = root / f"class{c}"
        d.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
            pixels[..., c % 3] = 255 - 20 * c  # one bright channel per class
            Image.fromarray(pixels).save(d / f"{i}.png")
    return root


def save_backbone_weights(path: Path, alpha: float, size: int, seed: int) -> list[np.ndarray]:
    import keras

    keras.utils.set_random_seed(seed)
    bb = keras.applications.MobileNetV2(include_top=False, weights=None, alpha=alpha,
                                        input_shape=(size, size, 3))
    bb.save_weights(path)
    return [np.asarray(w) for w in bb.get_weights()]


# --------------------------------------------------------------------------------- registry


def test_recipes_are_registered_with_their_modules() -> None:
    for name in TRANSFER:
        recipe = RECIPES[name]
        module = recipe.load_module()
        assert callable(module.train) and callable(module.prepare)
        assert recipe.defaults["seed"] == 0 and recipe.defaults["epochs"] >= 1
        assert "learning_rate" in recipe.defaults and "optimizer" in recipe.defaults
        assert "input_size" in recipe.defaults and "preprocessing" in recipe.defaults
    for name in TRANSFER[1:]:
        assert RECIPES[name].defaults["weights"] == "imagenet"
    assert RECIPES["fashion-mnist-cnn"].dataset == (
        "tfds:fashion_mnist?split=train[:80%],train[80%:90%],train[90%:]")
    assert RECIPES["cifar10-mobilenetv2"].dataset.startswith("keras:cifar10")
    assert RECIPES["cats-vs-dogs-densenet121"].dataset.startswith("tfds:cats_vs_dogs")
    assert RECIPES["image-folder-mobilenetv2"].dataset.startswith("folder:")


def test_default_data_specs_parse() -> None:
    from tflbench.data.sources import parse_spec

    fashion = parse_spec(RECIPES["fashion-mnist-cnn"].dataset)
    assert fashion.kind == "tfds" and fashion.target == "fashion_mnist"
    assert fashion.options["split"] == ["train[:80%]", "train[80%:90%]", "train[90%:]"]
    cats = parse_spec(RECIPES["cats-vs-dogs-densenet121"].dataset)
    assert cats.options["preprocess"] == "densenet" and cats.options["size"] == [160, 160]
    assert parse_spec(RECIPES["cifar10-mobilenetv2"].dataset).options["preprocess"] == (
        "mobilenet_v2")


@pytest.mark.parametrize("name", TRANSFER)
def test_unknown_parameter_is_a_config_error(name: str) -> None:
    ds, _ = random_dataset((32, 32, 3), 2)
    with pytest.raises(ConfigError, match="learning_rat"):
        get_recipe(name).load_module().train(ds, progress=False, learning_rat=0.1)


@pytest.mark.parametrize(("param", "value"), [
    ("epochs", 0), ("learning_rate", -1.0), ("optimizer", "adagrad"), ("seed", "x"),
    ("input_size", 16), ("alpha", 0.0), ("weights", "/no/such/file.weights.h5"),
    ("preprocessing", "no_such_family"), ("augment", "yes"), ("fine_tune_layers", -1),
])
def test_bad_parameters_name_themselves(param: str, value: object) -> None:
    ds, _ = random_dataset((32, 32, 3), 2)
    module = get_recipe("image-folder-mobilenetv2").load_module()
    with pytest.raises(ConfigError, match=param if param != "preprocessing" else "named"):
        module.train(ds, progress=False, **{param: value})


# ---------------------------------------------------------------------------- preprocessing


def test_prepare_records_a_spec_that_reproduces_the_inputs_from_raw_pixels() -> None:
    ds, raws = random_dataset((20, 24, 1), 2)
    module = get_recipe("image-folder-mobilenetv2").load_module()
    out = module.prepare(ds, input_size=32)
    spec = out.preprocessing
    assert out.input_shape == (32, 32, 3)
    assert spec["named"] == "mobilenet_v2" and spec["resize"] == [32, 32]
    assert spec["color"] == "rgb" and spec["input_shape"] == [32, 32, 3]
    assert out.test.x.min() >= -1.0 and out.test.x.max() <= 1.0
    again = pp.apply_preprocessing(raws["test"], spec)
    np.testing.assert_allclose(again, out.test.x, atol=1e-6)
    np.testing.assert_array_equal(out.train.y, ds.train.y)
    assert any("image-folder-mobilenetv2" in note for note in out.notes)


def test_prepare_densenet_uses_imagenet_mean_and_std() -> None:
    ds, raws = random_dataset((32, 32, 3), 2)
    out = get_recipe("cats-vs-dogs-densenet121").load_module().prepare(ds, input_size=32)
    assert out.preprocessing["named"] == "densenet"
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    expected = (raws["val"].astype(np.float32) / 255.0 - mean) / std
    np.testing.assert_allclose(out.val.x, expected, atol=1e-5)


def test_prepare_is_a_no_op_on_prepared_data() -> None:
    ds, _ = random_dataset((32, 32, 3), 2)
    module = get_recipe("cifar10-mobilenetv2").load_module()
    once = module.prepare(ds)
    assert once is not ds and once.preprocessing["named"] == "mobilenet_v2"
    assert module.prepare(once) is once
    fashion = get_recipe("fashion-mnist-cnn").load_module()
    gray, _ = random_dataset((28, 28, 1), 10)
    assert fashion.prepare(gray) is gray


def test_prepare_reads_lazily_loaded_folders_into_memory(tmp_path: Path) -> None:
    from tflbench.data.sources import load_dataset

    root = write_image_folder(tmp_path / "photos", per_class=4, size=32)
    lazy = load_dataset(f"folder:{root}?size=32&preprocess=mobilenet_v2&fractions=0.5/0.25/0.25",
                        lazy=True)
    assert not isinstance(lazy.train.x, np.ndarray)
    out = get_recipe("image-folder-mobilenetv2").load_module().prepare(lazy, input_size=32)
    for split, source in ((out.train, lazy.train), (out.test, lazy.test)):
        assert isinstance(split.x, np.ndarray)
        np.testing.assert_allclose(split.x, np.asarray(source.x), atol=1e-6)


def test_prepare_rejects_non_image_data() -> None:
    flat = Dataset(name="flat", class_names=("a", "b"),
                   train=Split(np.zeros((4, 8), np.float32), np.array([0, 1, 0, 1])),
                   val=Split(np.zeros((2, 8), np.float32), np.array([0, 1])),
                   test=Split(np.zeros((2, 8), np.float32), np.array([0, 1])))
    with pytest.raises(DataError, match="height, width"):
        get_recipe("cifar10-mobilenetv2").load_module().prepare(flat)


# --------------------------------------------------------------------------------- weights


@pytest.mark.parametrize(("name", "ctor"), [
    ("cifar10-mobilenetv2", "MobileNetV2"),
    ("image-folder-mobilenetv2", "MobileNetV2"),
    ("cats-vs-dogs-densenet121", "DenseNet121"),
])
def test_imagenet_weights_offline_is_one_clear_error(name: str, ctor: str, monkeypatch) -> None:
    import keras

    calls = []

    def offline(*args, **kwargs):
        calls.append(kwargs.get("weights"))
        raise Exception(DOWNLOAD_ERROR)  # what keras raises when the download fails

    monkeypatch.setattr(keras.applications, ctor, offline)
    ds, _ = random_dataset((32, 32, 3), 2)
    with pytest.raises(ModelLoadError) as info:
        get_recipe(name).load_module().train(ds, progress=False, input_size=32,
                                             weights="imagenet")
    message = str(info.value)
    assert calls == ["imagenet"]
    assert "weights='none'" in message and "weights=PATH" in message
    assert "URL fetch failure" in message and name in message


def test_imagenet_weights_need_a_published_alpha() -> None:
    ds, _ = random_dataset((32, 32, 3), 2)
    with pytest.raises(ConfigError, match="alpha=0.6"):
        get_recipe("cifar10-mobilenetv2").load_module().train(
            ds, progress=False, input_size=32, alpha=0.6, weights="imagenet")


def test_local_weights_file_is_loaded(tmp_path: Path) -> None:
    from tflbench.models.recipes import _transfer as tr

    path = tmp_path / "mbv2_035.weights.h5"
    saved = save_backbone_weights(path, alpha=0.35, size=32, seed=7)
    loaded = tr.build_backbone("test", "mobilenet_v2", (48, 48, 3), path, alpha=0.35)
    got = loaded.get_weights()
    assert len(got) == len(saved)
    for a, b in zip(got, saved, strict=True):
        np.testing.assert_array_equal(a, b)
    fresh = tr.build_backbone("test", "mobilenet_v2", (48, 48, 3), None, alpha=0.35)
    assert any(not np.array_equal(a, b) for a, b in zip(fresh.get_weights(), saved,
                                                         strict=True))


def test_mismatched_weights_file_is_a_model_load_error(tmp_path: Path) -> None:
    from tflbench.models.recipes import _transfer as tr

    path = tmp_path / "mbv2_035.weights.h5"
    save_backbone_weights(path, alpha=0.35, size=32, seed=0)
    with pytest.raises(ModelLoadError, match="mbv2_035.weights.h5"):
        tr.build_backbone("test", "mobilenet_v2", (32, 32, 3), path, alpha=0.5)


# -------------------------------------------------------------------------------- training


def test_unfreeze_top_keeps_batchnorm_frozen() -> None:
    import keras

    from tflbench.models.recipes import _transfer as tr

    backbone = tr.build_backbone("t", "mobilenet_v2", (32, 32, 3), None, alpha=0.35)
    backbone.trainable = False
    count = tr.unfreeze_top(backbone, 12)
    top, rest = backbone.layers[-12:], backbone.layers[:-12]
    assert not any(layer.trainable for layer in rest)
    assert not any(layer.trainable for layer in top
                   if isinstance(layer, keras.layers.BatchNormalization))
    unfrozen = [layer for layer in top if layer.trainable and layer.weights]
    assert unfrozen and len(unfrozen) == count


def test_augmented_batches_keep_labels_and_cover_every_sample() -> None:
    from tflbench.models.recipes import _transfer as tr

    x = np.zeros((10, 8, 8, 3), np.float32)
    x[np.arange(10), 0, 0, 0] = np.arange(10)  # sample id in a pixel that a flip moves
    y = tr.one_hot(np.arange(10) % 2, 2)
    batches = tr.augmented_batches(x, y, 4, tr.augmentation(rotation=0, zoom=0), seed=0)
    assert len(batches) == 3
    seen = []
    for i in range(len(batches)):
        xb, yb = batches[i]
        assert xb.shape[1:] == (8, 8, 3) and len(xb) == len(yb)
        ids = np.rint(np.maximum(xb[:, 0, 0, 0], xb[:, 0, -1, 0])).astype(int)
        np.testing.assert_array_equal(yb.argmax(1), ids % 2)
        seen.extend(ids)
    assert sorted(seen) == list(range(10))


def test_fashion_cnn_trains_and_converts() -> None:
    import keras

    from tflbench.models.recipes import fashion_cnn

    ds, _ = random_dataset((28, 28, 1), 10, n_train=64)
    model, prepared = train_recipe("fashion-mnist-cnn", ds)
    assert model.input_shape == (None, 28, 28, 1)
    keras.utils.set_random_seed(0)
    untrained = fashion_cnn.build((28, 28, 1), 10)
    assert not np.allclose(dense_kernel(model), dense_kernel(untrained))
    check_converts(model, prepared, check_probabilities(model, prepared))


def backbone_of(model):
    import keras

    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def test_cifar10_mobilenet_trains_a_head_on_the_frozen_backbone_and_converts(
    tmp_path: Path,
) -> None:
    ds, _ = random_dataset((32, 32, 3), 10)
    path = tmp_path / "backbone.weights.h5"
    saved = save_backbone_weights(path, alpha=0.35, size=48, seed=2)
    model, prepared = train_recipe("cifar10-mobilenetv2", ds, input_size=48, alpha=0.35,
                                   weights=str(path))
    assert model.input_shape == (None, 32, 32, 3)  # upsampled inside the model
    assert model.get_layer("upsample").output.shape[1:3] == (48, 48)
    backbone = backbone_of(model)
    assert not backbone.trainable
    for a, b in zip(backbone.get_weights(), saved, strict=True):  # frozen: still the file's
        np.testing.assert_array_equal(a, b)
    bias = model.get_layer("probabilities").get_weights()[1]
    assert not np.allclose(bias, 0.0)  # the head trained (its bias starts at zero)
    check_converts(model, prepared, check_probabilities(model, prepared))


def test_image_folder_recipe_on_a_synthetic_folder_with_local_weights(tmp_path: Path) -> None:
    import keras

    from tflbench.data.sources import load_dataset

    root = write_image_folder(tmp_path / "photos")
    ds = load_dataset(f"folder:{root}?fractions=0.6/0.2/0.2")
    assert ds.class_names == ("class0", "class1", "class2")
    weights = tmp_path / "backbone.weights.h5"
    saved = save_backbone_weights(weights, alpha=0.35, size=32, seed=3)
    model, prepared = train_recipe("image-folder-mobilenetv2", ds, input_size=32, alpha=0.35,
                                   weights=str(weights))
    assert prepared.input_shape == (32, 32, 3)
    assert prepared.preprocessing["named"] == "mobilenet_v2"
    for a, b in zip(backbone_of(model).get_weights(), saved, strict=True):
        np.testing.assert_array_equal(a, b)
    assert model.get_layer("dropout").rate == pytest.approx(0.2)
    assert not np.allclose(model.get_layer("probabilities").get_weights()[1], 0.0)
    probs = check_probabilities(model, prepared)
    path = tmp_path / "folder.keras"  # how the pipeline caches trained recipes
    model.save(path)
    again = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(again.predict(prepared.test.x, verbose=0), probs, atol=1e-6)


@pytest.mark.slow
def test_cifar10_mobilenet_without_weights_trains_from_scratch_and_converts() -> None:
    ds, _ = random_dataset((32, 32, 3), 10)
    model, prepared = train_recipe("cifar10-mobilenetv2", ds, input_size=48, alpha=0.35,
                                   weights="none")
    backbone = backbone_of(model)
    assert backbone.trainable  # weights="none": nothing to transfer, trained from scratch
    bn = backbone.get_layer("bn_Conv1")  # BatchNorm statistics start at mean 0, variance 1
    assert not np.allclose(np.asarray(bn.moving_mean), 0.0)
    check_converts(model, prepared, check_probabilities(model, prepared))


@pytest.mark.slow
def test_image_folder_fine_tunes_the_top_layers(tmp_path: Path) -> None:

    ds, _ = random_dataset((32, 32, 3), 3)
    path = tmp_path / "backbone.weights.h5"
    before = save_backbone_weights(path, alpha=0.35, size=32, seed=5)
    model, prepared = train_recipe("image-folder-mobilenetv2", ds, input_size=32, alpha=0.35,
                                   weights=str(path), fine_tune_layers=10, fine_tune_epochs=1,
                                   fine_tune_learning_rate=1e-2, label_smoothing=0.0)
    backbone = backbone_of(model)
    changed = [not np.array_equal(a, b) for a, b in zip(backbone.get_weights(), before,
                                                        strict=True)]
    assert any(changed[-10:]) and not any(changed[:-30])
    check_converts(model, prepared, check_probabilities(model, prepared))


def test_densenet_augmentation_is_inactive_at_inference() -> None:
    from tflbench.models.recipes import catsdogs_densenet

    model, _ = catsdogs_densenet.build((32, 32, 3), 2, dropout=0.2, weights=None,
                                       flip="horizontal", rotation=0.1)
    assert model.get_layer("augment_flip") and model.get_layer("augment_rotation")
    x = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype(np.float32)
    first = np.asarray(model(x, training=False))
    np.testing.assert_array_equal(first, np.asarray(model(x, training=False)))
    assert not np.allclose(np.asarray(model.get_layer("augment_flip")(x, training=True)), x) \
        or not np.allclose(np.asarray(model.get_layer("augment_rotation")(x, training=True)), x)


@pytest.mark.slow
def test_cats_vs_dogs_densenet_trains_fine_tunes_and_converts(tmp_path: Path) -> None:
    import keras

    keras.utils.set_random_seed(4)
    source = keras.applications.DenseNet121(include_top=False, weights=None,
                                            input_shape=(32, 32, 3))
    path = tmp_path / "densenet121.weights.h5"
    source.save_weights(path)
    before = [np.asarray(w) for w in source.get_weights()]
    ds, _ = random_dataset((32, 32, 3), 2, n_train=16, n_eval=4)
    model, prepared = train_recipe("cats-vs-dogs-densenet121", ds, input_size=32,
                                   weights=str(path), fine_tune_layers=5, fine_tune_epochs=1,
                                   fine_tune_learning_rate=1e-2, batch_size=8)
    assert prepared.preprocessing["named"] == "densenet"
    changed = [not np.array_equal(a, b) for a, b in zip(backbone_of(model).get_weights(),
                                                        before, strict=True)]
    assert any(changed[-6:]) and not any(changed[:-12])  # only the top layers trained
    probs = check_probabilities(model, prepared)
    np.testing.assert_array_equal(probs, model.predict(prepared.test.x, verbose=0))
    check_converts(model, prepared, probs)


def test_cats_vs_dogs_needs_some_training() -> None:
    ds, _ = random_dataset((32, 32, 3), 2)
    with pytest.raises(ConfigError, match="epochs=0"):
        get_recipe("cats-vs-dogs-densenet121").load_module().train(
            ds, progress=False, epochs=0, fine_tune_epochs=0, input_size=32, weights="none")
