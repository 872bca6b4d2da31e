"""Tensor names of converted models mapped back to Keras layers (tflbench.layers)."""

from __future__ import annotations

from tflbench.layers import OpInfo, map_tensors, resolve_scopes, scope_segments


def _ops(*names: str, inputs: dict[str, tuple[str, ...]] | None = None) -> list[OpInfo]:
    inputs = inputs or {}
    return [OpInfo(i, "OP", n, inputs.get(n, ())) for i, n in enumerate(names)]


def test_scope_segments_split_fused_parts_and_drop_output_index():
    assert scope_segments("m/a_1/MatMul;m/a_1/BiasAdd") == [["m", "a_1", "MatMul"],
                                                           ["m", "a_1", "BiasAdd"]]
    assert scope_segments("StatefulPartitionedCall_1:0") == [["StatefulPartitionedCall_1"]]


def test_suffixed_scopes_resolve_by_elimination():
    # Keras traces layer "dense" as scope dense_1 and layer "dense_1" as dense_1_2.
    got = resolve_scopes(["sequential_1", "dense_1", "dense_1_2"], ["dense", "dense_1"])
    assert got == {"dense_1": "dense", "dense_1_2": "dense_1"}


def test_exact_names_win_when_nothing_else_decides():
    assert resolve_scopes(["conv"], ["conv", "conv_1"]) == {"conv": "conv"}


def test_map_tensors_names_layers_and_says_what_cannot_be_mapped():
    ops = _ops("sequential_1/conv_1/Relu;sequential_1/conv_1/BiasAdd",
               "sequential_1/squash_1/MatMul;sequential_1/squash_1/BiasAdd",
               "sequential_1/squash_1/Tanh",
               "sequential_1/dense_1_2/MatMul",
               "StatefulPartitionedCall_1:0",
               "mystery_tensor",
               inputs={"StatefulPartitionedCall_1:0": ("sequential_1/dense_1_2/MatMul",)})
    lmap = map_tensors(ops, ["conv", "squash", "dense", "dense_1"])
    assert lmap.layer_of("sequential_1/conv_1/Relu;sequential_1/conv_1/BiasAdd") == "conv"
    assert lmap.tensors_of("squash") == ["sequential_1/squash_1/MatMul;sequential_1/squash_1/"
                                         "BiasAdd", "sequential_1/squash_1/Tanh"]
    assert lmap.layer_of("sequential_1/dense_1_2/MatMul") == "dense_1"
    out = lmap.tensors["StatefulPartitionedCall_1:0"]
    assert (out.layer, out.via) == ("dense_1", "input") and "by its input" in out.note
    assert lmap.unmapped == ["mystery_tensor"]
    assert "cannot be mapped" in lmap.tensors["mystery_tensor"].note
    assert lmap.layers() == ["conv", "squash", "dense_1"]


def test_fused_layers_go_to_the_last_in_keras_order():
    ops = _ops("model/conv_1/Conv2D;model/bn_1/FusedBatchNormV3")
    t = map_tensors(ops, ["conv", "bn"]).tensors[ops[0].output]
    assert (t.layer, t.also) == ("bn", ("conv",))


def test_nested_models_map_to_the_innermost_layer():
    ops = _ops("functional_1/backbone_1/block_conv_1/Relu", "functional_1/head_1/MatMul")
    lmap = map_tensors(ops, ["backbone", "block_conv", "head"])
    assert lmap.layer_of(ops[0].output) == "block_conv"
    assert lmap.layer_of(ops[1].output) == "head"


def test_a_converted_model_maps_every_computed_tensor(tiny_model):
    from tflbench.convert import convert
    from tflbench.layers import keras_layer_names, ops_of
    from tflbench.modes import MODES

    data = convert(tiny_model, MODES["fp32"]).tflite
    names = keras_layer_names(tiny_model)
    lmap = map_tensors(ops_of(data), names)
    assert lmap.unmapped == []
    assert set(lmap.layers()) == set(names)
