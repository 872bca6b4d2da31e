"""Optimization modes as data: one frozen record per mode in one registry.

Adding a mode is one entry here (plus its default thresholds in :mod:`tflbench.gates`).
The converter reads only these records; nothing else in tflbench special-cases a mode name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tflbench.errors import ConfigError


@dataclass(frozen=True)
class Mode:
    """How to convert a Keras model to TFLite.

    Attributes mirror ``tf.lite.TFLiteConverter`` settings as plain strings so this module does
    not import TensorFlow.
    """

    name: str
    description: str
    #: ``tf.lite.Optimize`` members, e.g. ``("DEFAULT",)``.
    optimizations: tuple[str, ...] = ()
    #: ``tf.lite.OpsSet`` members for ``target_spec.supported_ops``; empty = converter default.
    supported_ops: tuple[str, ...] = ()
    #: ``target_spec.supported_types`` as dtype names, e.g. ``("float16",)``.
    supported_types: tuple[str, ...] = ()
    #: ``inference_input_type`` / ``inference_output_type`` dtype names; None = float32.
    inference_input_type: str | None = None
    inference_output_type: str | None = None
    #: Whether a representative dataset must be given to the converter.
    needs_representative_data: bool = False
    #: Expected dtype of weights after conversion, for documentation and reports.
    weights: str = "float32"
    #: Expected dtype of activations.
    activations: str = "float32"


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode(
            name="fp32",
            description="No optimization: float32 weights and activations.",
        ),
        Mode(
            name="dynamic",
            description="Dynamic-range quantization: int8 weights, float activations.",
            optimizations=("DEFAULT",),
            weights="int8",
        ),
        Mode(
            name="fp16",
            description="Float16 weights, float32 compute on CPU.",
            optimizations=("DEFAULT",),
            supported_types=("float16",),
            weights="float16",
        ),
        Mode(
            name="int8",
            description="Full-integer quantization with int8 input and output.",
            optimizations=("DEFAULT",),
            supported_ops=("TFLITE_BUILTINS_INT8",),
            inference_input_type="int8",
            inference_output_type="int8",
            needs_representative_data=True,
            weights="int8",
            activations="int8",
        ),
        Mode(
            name="int8-float-io",
            description="Full-integer kernels with float32 input and output.",
            optimizations=("DEFAULT",),
            supported_ops=("TFLITE_BUILTINS_INT8",),
            needs_representative_data=True,
            weights="int8",
            activations="int8",
        ),
        Mode(
            name="int16x8",
            description="int16 activations, int8 weights (float32 input and output).",
            optimizations=("DEFAULT",),
            supported_ops=("EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8",),
            needs_representative_data=True,
            weights="int8",
            activations="int16",
        ),
    )
}

#: Legacy names accepted on input. TensorFlow treats OPTIMIZE_FOR_SIZE and OPTIMIZE_FOR_LATENCY
#: exactly like DEFAULT (both are deprecated), which without a representative dataset is
#: dynamic-range quantization.
ALIASES: dict[str, str] = {
    "OPTIMIZE_FOR_SIZE": "dynamic",
    "OPTIMIZE_FOR_LATENCY": "dynamic",
    "DEFAULT": "dynamic",
    "float32": "fp32",
    "float16": "fp16",
    "dynamic-range": "dynamic",
    "full-int8": "int8",
}

ALIAS_NOTE = (
    "TensorFlow treats OPTIMIZE_FOR_SIZE and OPTIMIZE_FOR_LATENCY as DEFAULT; "
    "they run as mode 'dynamic'."
)


def get_mode(name: str) -> Mode:
    """Return the registered mode for ``name`` or an alias of it."""
    key = ALIASES.get(name, ALIASES.get(name.upper(), name))
    try:
        return MODES[key]
    except KeyError:
        raise ConfigError(
            f"Unknown optimization mode. Received: {name!r}. "
            f"Expected one of: {', '.join(MODES)} (aliases: {', '.join(ALIASES)})."
        ) from None


def resolve_modes(names: Iterable[str] | str | None) -> list[Mode]:
    """Resolve a list (or comma-separated string) of names; None or 'all' means every mode.

    Duplicates (e.g. an alias and its target) are kept once, in first-seen order.
    """
    if names is None:
        return list(MODES.values())
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names)
    if not names or names == ["all"]:
        return list(MODES.values())
    out: list[Mode] = []
    for n in names:
        m = get_mode(n)
        if m not in out:
            out.append(m)
    return out
