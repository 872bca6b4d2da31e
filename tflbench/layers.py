"""Tensor names of a converted model mapped back to the Keras layers that produced them.

The converter names an op's output tensor after the TensorFlow name scopes it came from, joined
with ``;`` when ops were fused: ``sequential_1/dense_1_2/MatMul;sequential_1/dense_1_2/BiasAdd``.
Keras opens one scope per layer call, and TensorFlow makes repeated scopes unique with a
``_<n>`` suffix, so a scope names layer ``L`` when it is ``L`` or ``L_<n>``. A scope that could
name two layers (layer ``dense`` traced as ``dense_1`` beside a layer named ``dense_1``) is
resolved by elimination: each layer owns one scope, each scope one layer. An op whose output
names no layer (e.g. ``StatefulPartitionedCall:0``) inherits the layer of its only computed
input, and says so; one without such an input stays unmapped, and says so.

Pure functions over names; :func:`ops_of` reads the ops of a ``.tflite`` file with the runtime.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_SUFFIX_RE = re.compile(r"^(?P<base>.+)_(?P<n>\d+)$")


@dataclass(frozen=True)
class OpInfo:
    """One op of a ``.tflite`` file: its type, output tensor name and input tensor names."""

    index: int
    op: str
    output: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class TensorLayer:
    """Where one tensor came from: ``layer`` (``None`` when unmapped) and how it was found."""

    tensor: str
    layer: str | None
    #: ``"scope"`` (named in the tensor), ``"input"`` (inherited from its input) or
    #: ``"unmapped"``.
    via: str
    #: Other layers named in a fused tensor (e.g. a convolution fused with its batch norm).
    also: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        if self.layer is None:
            return f"tensor {self.tensor!r} cannot be mapped to a Keras layer"
        if self.via == "input":
            return f"tensor {self.tensor!r} names no layer; mapped to {self.layer!r} by its input"
        return ""


@dataclass(frozen=True)
class LayerMap:
    """Every op output tensor of a model mapped to a Keras layer (or said unmapped)."""

    tensors: dict[str, TensorLayer] = field(default_factory=dict)
    layer_order: tuple[str, ...] = ()

    def layer_of(self, tensor: str) -> str | None:
        t = self.tensors.get(tensor)
        return t.layer if t else None

    def tensors_of(self, layer: str) -> list[str]:
        return [t.tensor for t in self.tensors.values() if t.layer == layer]

    @property
    def unmapped(self) -> list[str]:
        return [t.tensor for t in self.tensors.values() if t.layer is None]

    def layers(self) -> list[str]:
        """Mapped layers in Keras order."""
        present = {t.layer for t in self.tensors.values() if t.layer}
        return [name for name in self.layer_order if name in present]


def scope_segments(tensor: str) -> list[list[str]]:
    """The scope path of each fused part of a tensor name (``:0`` output suffixes dropped)."""
    parts = [p for p in tensor.split(";") if p]
    return [[s for s in re.sub(r":\d+$", "", p).split("/") if s] for p in parts]


def _candidates(segment: str, layers: set[str]) -> set[str]:
    out = {segment} & layers
    m = _SUFFIX_RE.match(segment)
    if m and m.group("base") in layers:
        out.add(m.group("base"))
    return out


def resolve_scopes(scopes: Iterable[str], layer_names: Sequence[str]) -> dict[str, str]:
    """Scope name -> layer name, by the ``L`` / ``L_<n>`` rule and elimination; a scope that
    stays ambiguous maps to its exact-name layer when there is one, else to none."""
    layers = set(layer_names)
    cands = {s: _candidates(s, layers) for s in dict.fromkeys(scopes)}
    cands = {s: c for s, c in cands.items() if c}
    out: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        taken = set(out.values())
        for s, c in cands.items():
            if s in out:
                continue
            left = c - taken
            if len(left) == 1:
                out[s] = next(iter(left))
                changed = True
                taken.add(out[s])
    for s, c in cands.items():
        if s not in out and s in c and s not in set(out.values()):
            out[s] = s
    return out


def map_tensors(ops: Sequence[OpInfo], layer_names: Sequence[str]) -> LayerMap:
    """Map each op's output tensor to the Keras layer that produced it (see the module doc).

    ``layer_names`` are the model's layers in order (nested models' layers included). A fused
    tensor naming several layers is attributed to the last of them in Keras order (the fused
    op's output is that layer's output); the others are listed in ``also``.
    """
    order = {name: i for i, name in enumerate(layer_names)}
    segs = {op.output: scope_segments(op.output) for op in ops}
    scopes = [s for parts in segs.values() for path in parts for s in path]
    scope_layer = resolve_scopes(scopes, layer_names)
    result: dict[str, TensorLayer] = {}
    for op in ops:
        named: list[str] = []
        for path in segs[op.output]:
            deepest = [scope_layer[s] for s in path if s in scope_layer]
            if deepest:
                named.append(deepest[-1])
        named = list(dict.fromkeys(named))
        if named:
            named.sort(key=lambda n: order.get(n, -1))
            result[op.output] = TensorLayer(op.output, named[-1], "scope", tuple(named[:-1]))
    producers = {op.output: op for op in ops}
    for op in ops:  # in graph order, so a chain of unnamed ops inherits transitively
        if op.output in result:
            continue
        computed = [i for i in op.inputs if i in producers]
        owners = {result[i].layer for i in computed if i in result and result[i].layer}
        if len(owners) == 1:
            result[op.output] = TensorLayer(op.output, owners.pop(), "input")
        else:
            result[op.output] = TensorLayer(op.output, None, "unmapped")
    return LayerMap(tensors={op.output: result[op.output] for op in ops},
                    layer_order=tuple(layer_names))


def keras_layer_names(model: Any) -> list[str]:
    """Every layer name of a Keras model in order, nested models' layers after their model."""
    out: list[str] = []

    def walk(m: Any) -> None:
        for layer in getattr(m, "layers", []):
            out.append(layer.name)
            if getattr(layer, "layers", None):
                walk(layer)

    walk(model)
    return list(dict.fromkeys(out))


def ops_of(tflite: bytes) -> list[OpInfo]:
    """The ops of the main subgraph of a ``.tflite`` file, in execution order."""
    from tflbench.runtime import _import_backend

    mod, _ = _import_backend()
    interp = mod.Interpreter(model_content=tflite)
    names = {d["index"]: d["name"] for d in interp.get_tensor_details()}
    out: list[OpInfo] = []
    for op in interp._get_ops_details():
        outputs = [int(i) for i in op["outputs"] if int(i) >= 0]
        if not outputs:
            continue
        inputs = tuple(names.get(int(i), "") for i in op["inputs"] if int(i) >= 0)
        out.append(OpInfo(int(op["index"]), str(op["op_name"]), names.get(outputs[0], ""),
                          inputs))
    return out


def layer_tensor_names(tflite: bytes, layer_names: Sequence[str], keep_float: Iterable[str]
                       ) -> list[str]:
    """The op output tensor names of ``tflite`` that belong to the layers ``keep_float``.

    Raises :class:`~tflbench.errors.ConversionError` naming a layer that has no tensor."""
    from tflbench.errors import ConversionError

    lmap = map_tensors(ops_of(tflite), layer_names)
    out: list[str] = []
    for layer in keep_float:
        names = lmap.tensors_of(layer)
        if not names:
            known = ", ".join(lmap.layers()) or "none"
            raise ConversionError(f"Layer {layer!r} (to keep in float) has no op in the "
                                  f"converted model. Received: {layer!r}; layers with ops: "
                                  f"{known}.")
        out.extend(names)
    return out
