"""Data scaled twice, or raw pixels fed to a model without a rescaling layer, are named."""

from __future__ import annotations

from tflbench.inputs import input_warnings, preprocessing_line

UNIT = {"named": "unit", "scale": 1 / 255, "offset": 0.0, "raw_dtype": "uint8"}
RAW = {"scale": 1.0, "offset": 0.0, "raw_dtype": "uint8"}
RESCALE = [{"class": "Rescaling", "name": "rescaling", "scale": 1 / 255}]


def test_a_rescaling_model_fed_scaled_data_is_warned_naming_both() -> None:
    (line,) = input_warnings("m", RESCALE, UNIT, "npz:x.npz", sample_max=1.0)
    assert "m: the model rescales its inputs itself (Rescaling(scale=0.00392157) layer " \
           "'rescaling')" in line
    assert "'npz:x.npz' was already scaled (preprocessing 'unit', x * 0.00392157)" in line
    assert "preprocess=raw" in line


def test_raw_pixels_to_a_model_without_rescaling_are_warned() -> None:
    (line,) = input_warnings("m", [], RAW, "folder:photos", sample_max=255.0)
    assert "raw 0..255 pixels (max 255)" in line and "no Rescaling or Normalization" in line


def test_matching_inputs_give_no_warning() -> None:
    assert input_warnings("m", RESCALE, RAW, "d", sample_max=255.0) == []
    asked = {**RAW, "named": "raw"}  # '?preprocess=raw': the user says the model wants 0..255
    assert input_warnings("m", [], asked, "d", sample_max=255.0) == []
    assert input_warnings("m", [], UNIT, "d", sample_max=1.0) == []


def test_scaled_uint8_data_is_shown_in_the_header_line() -> None:
    assert preprocessing_line(UNIT) == ("inputs: uint8 values -> float32, preprocessing 'unit', "
                                        "x * 0.00392157")
    assert preprocessing_line({"scale": 1.0}) is None


def test_input_layers_reads_a_keras_model() -> None:
    import keras

    from tflbench.inputs import input_layers

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255.0),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    (layer,) = input_layers(model)
    assert layer["class"] == "Rescaling" and abs(layer["scale"] - 1 / 255) < 1e-9
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert input_layers(plain) == []
