"""How much each layer's int8 weights alone cost: the Keras model with one layer's kernel
rounded to int8 (symmetric, per output channel, as the converter and the LiteRT Quantizer store
it), top-1 agreement with the float model on samples.

Activation statistics (:mod:`tflbench.diagnose`) compare each op's output with its float twin;
a layer whose *weights* do not survive int8 (a depthwise kernel with one huge channel, a
projection with a wide spread) can look unremarkable there and still flip many predictions. This
probe needs only Keras: one ``predict`` per weighted layer.

:func:`fused_names` maps weighted layers to the name the converter gives its op's output (the
last of the BatchNormalization and activation layers that follow it one to one, which the
converter fuses into the op), so the results line up with the attribution's layer names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

#: Kernel layouts by Keras layer type: the axis of the output channels.
KERNEL_AXIS = {"Conv1D": -1, "Conv2D": -1, "Conv3D": -1, "Dense": -1, "DepthwiseConv2D": 2}
#: Layers the converter fuses into the op that precedes them.
FUSED = frozenset({"BatchNormalization", "ReLU", "Activation", "LeakyReLU"})


def fake_quantized(kernel: np.ndarray, axis: int, bits: int = 8) -> np.ndarray:
    """``kernel`` rounded to signed ``bits``-bit integers with one symmetric scale per channel
    of ``axis`` (max |w| / (2^(bits-1) - 1)), then scaled back."""
    levels = 2 ** (bits - 1) - 1
    moved = np.moveaxis(np.asarray(kernel, np.float64), axis, -1)
    peak = np.abs(moved).reshape(-1, moved.shape[-1]).max(axis=0)
    scale = np.where(peak > 0, peak / levels, 1.0)
    q = np.clip(np.round(moved / scale), -levels, levels) * scale
    return np.moveaxis(q, -1, axis).astype(np.asarray(kernel).dtype)


def walk(layers: Any) -> Iterator[Any]:
    """Every leaf layer, nested models (a backbone inside a classifier) included."""
    for layer in layers:
        inner = getattr(layer, "layers", None)
        if inner:
            yield from walk(inner)
        else:
            yield layer


def _successors(model: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for layer in walk(model.layers):
        for node in getattr(layer, "_inbound_nodes", []) or []:
            for parent in getattr(node, "parent_nodes", []) or []:
                op = getattr(parent, "operation", None)
                if op is not None:
                    out.setdefault(op.name, []).append(layer)
    return out


def fused_names(model: Any, layers: Iterable[str], known: set[str] | frozenset[str]
                ) -> dict[str, str]:
    """For each weighted layer of ``layers``, the name among ``known`` that the converter's op
    for it carries: the layer itself or one of the BatchNormalization/activation layers that
    follow it one to one (the last such name in ``known``); layers with none are left out."""
    succ = _successors(model)
    out: dict[str, str] = {}
    for layer in layers:
        chain = [layer]
        while len(nxt := succ.get(chain[-1], [])) == 1 and type(nxt[0]).__name__ in FUSED:
            chain.append(nxt[0].name)
        found = [name for name in chain if name in known]
        if found:
            out[layer] = found[-1]
    return out


def weight_sensitivity(model: Any, samples: np.ndarray, reference: np.ndarray, *,
                       bits: int = 8, progress: Callable[[str], None] | None = None
                       ) -> dict[str, float]:
    """Top-1 agreement with ``reference`` on ``samples`` when only one weighted layer's kernel
    is fake-quantized, for every Conv/Dense/DepthwiseConv layer (weights restored after)."""
    ref_top1 = np.argmax(reference, axis=-1)
    weighted = [layer for layer in walk(model.layers)
                if type(layer).__name__ in KERNEL_AXIS and layer.get_weights()]
    out: dict[str, float] = {}
    for i, layer in enumerate(weighted):
        if progress:
            progress(f"weights of layer {i + 1}/{len(weighted)} as int8: {layer.name}")
        original = layer.get_weights()
        axis = KERNEL_AXIS[type(layer).__name__]
        try:
            layer.set_weights([fake_quantized(original[0], axis, bits), *original[1:]])
            pred = np.asarray(model.predict(samples, batch_size=256, verbose=0))
        finally:
            layer.set_weights(original)
        out[layer.name] = float(np.mean(np.argmax(pred, axis=-1) == ref_top1))
    return out
