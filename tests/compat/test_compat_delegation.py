"""Which nodes the XNNPACK delegate takes, from the interpreter's node list."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tflbench.compat.delegation import assign_partitions, delegated_ops
from tflbench.compat.flatbuffer import read_ops

MODELS = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"
MODELS = MODELS / "digits-mini"


def _node(index: int, op: str, inputs: list[int], outputs: list[int]) -> dict:
    return {"index": index, "op_name": op, "inputs": np.array(inputs, np.int32),
            "outputs": np.array(outputs, np.int32)}


# The shape of ai-edge-litert's list for the committed fp32 model: model nodes, then one
# DELEGATE node per partition with the partition's boundary tensors.
DETAILS = [
    _node(0, "CONV_2D", [0, 2, 1], [10]),
    _node(1, "MAX_POOL_2D", [10], [11]),
    _node(2, "SHAPE", [11], [12]),
    _node(3, "RESHAPE", [11, 12], [15]),
    _node(4, "FULLY_CONNECTED", [15, 9, -1], [16]),
    _node(5, "SOFTMAX", [16], [18]),
    _node(6, "DELEGATE", [0, 1, 2], [11]),
    _node(7, "DELEGATE", [9, 15], [18]),
]


def test_partitions_from_boundary_tensors() -> None:
    assert assign_partitions(DETAILS) == {0: 6, 1: 6, 4: 7, 5: 7}


def test_no_delegate_nodes_means_everything_on_builtin_kernels() -> None:
    assert assign_partitions(DETAILS[:6]) == {}


def test_inconsistent_partitions_are_reported_not_guessed() -> None:
    overlapping = DETAILS + [_node(8, "DELEGATE", [0, 1, 2], [10])]
    assert assign_partitions(overlapping) is None
    unknown_output = DETAILS[:6] + [_node(6, "DELEGATE", [0], [99])]
    assert assign_partitions(unknown_output) is None


def test_delegated_ops_on_the_committed_model() -> None:
    d = delegated_ops(MODELS / "fp32.tflite")
    assert d.known, d.reason
    ops = read_ops(MODELS / "fp32.tflite").ops
    total = {op.name: op.count for op in ops}
    merged = {k: d.delegated.get(k, 0) + d.fallback.get(k, 0) for k in total}
    assert merged == total
    assert d.to_dict()["partitions"] == d.partitions
    if d.runtime.startswith("ai_edge_litert"):
        # XNNPACK takes float convolutions and fully connected layers on every CPU.
        assert d.partitions >= 1
        assert d.delegated.get("CONV_2D") == 1 and d.delegated.get("FULLY_CONNECTED") == 2


def test_a_model_the_runtime_rejects_is_a_model_file_error(tmp_path: Path) -> None:
    from tflbench.errors import ModelFileError

    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\0\0\0\0TFL3" + b"\0" * 8)
    with pytest.raises(ModelFileError):
        delegated_ops(bad)
