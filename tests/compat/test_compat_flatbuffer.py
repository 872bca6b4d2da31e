"""The op/version reader: the committed bundle, synthetic files, truncated and corrupt files."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tflbench.compat.builtin_ops import BUILTIN_OPS
from tflbench.compat.flatbuffer import OpUsage, builtin_name, read_ops
from tflbench.compat.synthetic import OpCode, minimal_model
from tflbench.errors import ModelFileError

BUNDLE = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"
MODELS = BUNDLE / "digits-mini"
FC = BUILTIN_OPS.index("FULLY_CONNECTED")


def _versions(path: Path) -> dict[str, int]:
    return {op.name: op.version for op in read_ops(path).ops}


def test_names_table_matches_the_schema_numbers() -> None:
    assert BUILTIN_OPS[0] == "ADD"
    assert BUILTIN_OPS[3] == "CONV_2D"
    assert BUILTIN_OPS[9] == "FULLY_CONNECTED"
    assert BUILTIN_OPS[32] == "CUSTOM"
    assert BUILTIN_OPS[127] == "PLACEHOLDER_FOR_GREATER_OP_CODES"
    assert len(set(BUILTIN_OPS)) == len(BUILTIN_OPS)
    assert builtin_name(100_000) == "BUILTIN_100000"


def test_committed_bundle_modes() -> None:
    fp32, dynamic, int8 = (_versions(MODELS / f"{m}.tflite") for m in ("fp32", "dynamic", "int8"))
    assert set(fp32) == set(dynamic) == set(int8)
    assert {"CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "SOFTMAX"} <= set(fp32)
    assert fp32["FULLY_CONNECTED"] == 1
    # Dynamic-range FULLY_CONNECTED (int8 weights, float activations) needs a newer kernel.
    assert dynamic["FULLY_CONNECTED"] > 11
    assert int8["CONV_2D"] >= 3 and int8["FULLY_CONNECTED"] >= 4


def test_counts_and_metadata_of_the_fp32_model() -> None:
    ops = read_ops(MODELS / "fp32.tflite")
    assert ops.schema_version == 3
    assert ops.subgraphs == 1
    assert ops.source.endswith("fp32.tflite")
    counts = {op.name: op.count for op in ops.ops}
    assert counts["FULLY_CONNECTED"] == 2 and counts["CONV_2D"] == 1
    assert all(not op.custom for op in ops.ops)
    assert [op.name for op in ops.ops] == sorted(op.name for op in ops.ops)


def test_agrees_with_the_generated_schema_reader() -> None:
    """Cross-check against the flatbuffers code generated from the schema, when installed."""
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    for path in sorted(MODELS.glob("*.tflite")):
        m = schema.Model.GetRootAs(path.read_bytes(), 0)
        expected: dict[tuple[str, int], int] = {}
        codes = [m.OperatorCodes(i) for i in range(m.OperatorCodesLength())]
        for s in range(m.SubgraphsLength()):
            sg = m.Subgraphs(s)
            for i in range(sg.OperatorsLength()):
                oc = codes[sg.Operators(i).OpcodeIndex()]
                code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
                key = (BUILTIN_OPS[code], oc.Version())
                expected[key] = expected.get(key, 0) + 1
        got = {(op.name, op.version): op.count for op in read_ops(path).ops}
        assert got == expected, path.name


def test_synthetic_model_codes_above_127_custom_ops_and_unused_codes() -> None:
    gelu = BUILTIN_OPS.index("GELU")
    assert gelu > 127  # stored with the placeholder in the deprecated int8 field
    data = minimal_model([OpCode(FC, 12), OpCode(32, 1, custom="MyOp"), OpCode(gelu, 2)],
                         operators=[0, 0, 1])
    ops = read_ops(data).ops
    assert ops == (
        OpUsage("FULLY_CONNECTED", 12, 2, FC),
        OpUsage("GELU", 2, 0, gelu),  # unused, still resolved by a runtime
        OpUsage("MyOp", 1, 1, None),
    )
    assert ops[2].custom and str(ops[0]) == "FULLY_CONNECTED v12"


def test_same_op_version_in_two_codes_is_one_row() -> None:
    data = minimal_model([OpCode(FC, 3), OpCode(FC, 3)], operators=[0, 1, 1])
    assert read_ops(data).ops == (OpUsage("FULLY_CONNECTED", 3, 3, FC),)


def test_op_usage_round_trip_and_validation() -> None:
    op = OpUsage("CONV_2D", 3, 2, 3)
    assert OpUsage.from_dict(op.to_dict()) == op
    with pytest.raises(ValueError, match="'version' must be an integer >= 1. Received: 0"):
        OpUsage.from_dict({"name": "ADD", "version": 0})
    with pytest.raises(ValueError, match="'name'"):
        OpUsage.from_dict({"version": 1})


@pytest.mark.parametrize("cut", [0, 3, 7, 8, 16, 100, 0.5, -1])
def test_truncated_file_raises_one_line_naming_the_file(tmp_path: Path, cut: float) -> None:
    data = (MODELS / "dynamic.tflite").read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else cut % len(data)
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[:n])
    with pytest.raises(ModelFileError) as info:
        read_ops(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


def test_every_truncation_fails_cleanly_or_reads_the_same_table() -> None:
    data = (MODELS / "int8.tflite").read_bytes()
    full = read_ops(data).ops
    for n in range(0, len(data), 7):
        try:
            ops = read_ops(data[:n]).ops
        except ModelFileError:
            continue
        assert ops == full, n


def test_corrupt_bytes_never_raise_anything_but_model_file_error() -> None:
    data = (MODELS / "dynamic.tflite").read_bytes()
    rng = random.Random(0)
    for _ in range(500):
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            read_ops(bytes(b))
        except ModelFileError:
            pass


def test_other_files(tmp_path: Path) -> None:
    other = tmp_path / "model.onnx"
    other.write_bytes(b"\x08\x07\x12\x04onnx" + b"\0" * 40)
    with pytest.raises(ModelFileError, match="not a TFLite flatbuffer"):
        read_ops(other)
    with pytest.raises(ModelFileError, match="not found"):
        read_ops(tmp_path / "missing.tflite")
    with pytest.raises(ModelFileError, match="directory"):
        read_ops(tmp_path)
