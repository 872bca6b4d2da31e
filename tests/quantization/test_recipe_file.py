"""Recipe files: a tuned mode saved, committed and converted again (tflbench.quant_recipe)."""

from __future__ import annotations

import json

import pytest

from tflbench.errors import ConfigError
from tflbench.modes import MODES, get_mode, resolve_modes
from tflbench.quant_recipe import load_recipe, recipe_dict, save_recipe, tuned_mode


def test_round_trip(tmp_path):
    mode = tuned_mode("int8", ["squash", "head", "squash"])
    assert mode.name == "int8-tuned" and mode.base == "int8"
    assert mode.float_layers == ("squash", "head")
    path = save_recipe(mode, tmp_path / "quant" / "int8-tuned.json", {"agreement": 0.99})
    data = json.loads(path.read_text())
    assert data["float_layers"] == ["squash", "head"] and data["tuning"]["agreement"] == 0.99
    again = load_recipe(path)
    assert again == mode
    # every converter setting of the base is kept: the same conversion plus the float layers
    assert again.supported_ops == MODES["int8"].supported_ops
    assert again.inference_input_type == "int8"


def test_quantizer_recipes_round_trip_through_toml(tmp_path):
    path = tmp_path / "lq.toml"
    path.write_text('format = "tflbench.quantization-recipe"\nversion = 1\n'
                    'name = "lq-static-int8-tuned"\nbase = "lq-static-int8"\n'
                    'float_layers = ["squash"]\n')
    mode = load_recipe(path)
    assert mode.tool == "quantizer" and mode.recipe == "static_wi8_ai8"
    assert mode.float_layers == ("squash",)


def test_a_recipe_path_is_a_mode_name(tmp_path):
    path = save_recipe(tuned_mode("int8-float-io", ["a"]), tmp_path / "t.json")
    modes = resolve_modes(f"fp32,{path}")
    assert [m.name for m in modes] == ["fp32", "int8-float-io-tuned"]
    assert get_mode("int8-float-io-tuned").float_layers == ("a",)  # registered by name


@pytest.mark.parametrize(("change", "message"), [
    ({"format": "other"}, "not a tflbench recipe. Received: format='other'"),
    ({"version": 9}, "Received: version=9"),
    ({"name": "int8"}, "Received: name='int8'"),
    ({"float_layers": "squash"}, "Received: float_layers='squash'"),
    ({"base": "dynamic"}, "Received: base='dynamic'"),
    ({"base": "int16x8"}, "use lq-static-int16x8 instead"),
    ({"extra_key": 1}, "unknown recipe field"),
])
def test_malformed_recipes_say_what_was_received(tmp_path, change, message):
    data = {**recipe_dict(tuned_mode("int8", ["a"])), **change}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_recipe(path)


def test_missing_file_and_non_json_target(tmp_path):
    with pytest.raises(ConfigError, match="Recipe file not found"):
        load_recipe(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="name it \\*.json"):
        save_recipe(tuned_mode("int8", []), tmp_path / "r.yaml")
