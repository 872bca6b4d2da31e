"""Which nodes the XNNPACK delegate takes and which run on the builtin (reference) kernels.

The Python interpreters expose no delegation API, but ``Interpreter._get_ops_details()`` lists,
after ``allocate_tensors()``, the model's nodes followed by one ``DELEGATE`` node per partition
the default delegate (XNNPACK) took, with the partition's boundary tensors as that node's inputs
and outputs. A model node belongs to a partition exactly when it is reached walking back from
the partition's outputs through producers without crossing its inputs; every other node runs on
the builtin kernels. The walk is checked for consistency (disjoint partitions, every partition
output produced inside it); when a runtime lacks the API or the check fails, the report says it
could not tell instead of guessing. Runs without TensorFlow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from tflbench.errors import ModelFileError

DELEGATE_OP = "DELEGATE"


@dataclass(frozen=True)
class NodeDelegation:
    index: int
    op: str
    #: The index of the DELEGATE node that took this node, or None (builtin kernel).
    partition: int | None

    @property
    def delegated(self) -> bool:
        return self.partition is not None


@dataclass(frozen=True)
class Delegation:
    """Where each node of one model runs under a runtime's default delegate."""

    source: str
    runtime: str
    #: False when the runtime did not tell which nodes a delegate took (see ``reason``).
    known: bool
    reason: str | None
    nodes: tuple[NodeDelegation, ...]
    partitions: int

    @property
    def delegated(self) -> dict[str, int]:
        """Op name -> number of its nodes the delegate took."""
        return _count(n.op for n in self.nodes if n.delegated)

    @property
    def fallback(self) -> dict[str, int]:
        """Op name -> number of its nodes left on the builtin kernels."""
        return _count(n.op for n in self.nodes if not n.delegated)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "runtime": self.runtime, "known": self.known,
                "reason": self.reason, "partitions": self.partitions,
                "delegated": self.delegated, "fallback": self.fallback}


def _count(names: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for n in names:
        out[n] = out.get(n, 0) + 1
    return dict(sorted(out.items()))


def _ints(a: Any) -> list[int]:
    return [int(x) for x in np.asarray(a).ravel() if int(x) >= 0]


def assign_partitions(details: list[dict[str, Any]]) -> dict[int, int] | None:
    """Node index -> DELEGATE node index, from ``_get_ops_details()``; None when the partition
    boundaries are inconsistent with the nodes."""
    model_nodes = [d for d in details if d["op_name"] != DELEGATE_OP]
    producer: dict[int, int] = {}
    for d in model_nodes:
        for t in _ints(d["outputs"]):
            producer[t] = d["index"]
    by_index = {d["index"]: d for d in model_nodes}
    owner: dict[int, int] = {}
    for part in (d for d in details if d["op_name"] == DELEGATE_OP):
        inputs = set(_ints(part["inputs"]))
        stack = [t for t in _ints(part["outputs"])]
        if any(t not in producer for t in stack):
            return None  # a partition output no model node produces
        seen: set[int] = set()
        while stack:
            t = stack.pop()
            if t in inputs or t not in producer:
                continue
            node = producer[t]
            if node in seen:
                continue
            if node in owner:
                return None  # two partitions claim one node
            seen.add(node)
            owner[node] = part["index"]
            stack.extend(_ints(by_index[node]["inputs"]))
    return owner


def delegated_ops(model: str | os.PathLike[str], *, backend: str | None = None,
                  num_threads: int = 1) -> Delegation:
    """Load ``model`` with the default delegate and report which nodes it took."""
    from tflbench.capture import captured_fds
    from tflbench.runtime import _import_backend, read_model_bytes

    data, label = read_model_bytes(model)
    mod, info = _import_backend(backend)
    runtime = f"{info['name']} {info['version']}"
    try:
        with captured_fds((2,)):
            interp = mod.Interpreter(model_content=data, num_threads=num_threads)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(f"The runtime ({runtime}) rejected {label}: "
                             f"{' '.join(str(exc).split())}") from None
    get = getattr(interp, "_get_ops_details", None)
    if get is None:
        return Delegation(source=label, runtime=runtime, known=False, partitions=0, nodes=(),
                          reason="this runtime does not list its nodes (_get_ops_details)")
    details = list(get())
    model_nodes = [d for d in details if d["op_name"] != DELEGATE_OP]
    owner = assign_partitions(details)
    if owner is None:
        return Delegation(
            source=label, runtime=runtime, known=False, partitions=0,
            nodes=tuple(NodeDelegation(d["index"], d["op_name"], None) for d in model_nodes),
            reason="the delegate partitions do not match the model's nodes")
    return Delegation(
        source=label, runtime=runtime, known=True, reason=None,
        partitions=sum(1 for d in details if d["op_name"] == DELEGATE_OP),
        nodes=tuple(NodeDelegation(d["index"], d["op_name"], owner.get(d["index"]))
                    for d in model_nodes),
    )
