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
    #: What produces the file: ``"converter"`` (``tf.lite.TFLiteConverter``, the legacy path) or
    #: ``"quantizer"`` (LiteRT Quantizer applied to the mode ``fp32`` file).
    tool: str = "converter"
    #: The LiteRT Quantizer recipe (a function name in ``litert_quantizer.recipe``); quantizer
    #: modes only.
    recipe: str | None = None
    #: Keras layers kept in float (a tuned mode): a converter denylist or quantizer
    #: ``no_quantize`` entries for those layers' tensors.
    float_layers: tuple[str, ...] = ()
    #: The mode a tuned mode was derived from (``None`` for registry modes).
    base: str | None = None

    def __post_init__(self) -> None:
        if self.tool not in TOOLS:
            raise ConfigError(f"Mode {self.name!r}: tool must be one of {', '.join(TOOLS)}. "
                              f"Received: tool={self.tool!r}.")
        if (self.tool == "quantizer") != (self.recipe is not None):
            raise ConfigError(f"Mode {self.name!r}: a quantizer mode names a recipe and a "
                              f"converter mode does not. Received: tool={self.tool!r}, "
                              f"recipe={self.recipe!r}.")


#: The tools that produce a mode's file, in the order ``tflbench modes`` groups them.
TOOLS = ("converter", "quantizer")
TOOL_TITLES = {"converter": "TFLiteConverter (legacy path)", "quantizer": "LiteRT Quantizer"}


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
        # LiteRT Quantizer modes: a recipe applied to the fp32 file (tflbench.quantizer).
        Mode(
            name="lq-weight-int8",
            description="LiteRT Quantizer: int8 weights dequantized to float, float compute.",
            tool="quantizer", recipe="weight_only_wi8_afp32", weights="int8",
        ),
        Mode(
            name="lq-weight-int4",
            description="LiteRT Quantizer: int4 weights dequantized to float, float compute.",
            tool="quantizer", recipe="weight_only_wi4_afp32", weights="int4",
        ),
        Mode(
            name="lq-dynamic-int8",
            description="LiteRT Quantizer: int8 weights, activations quantized at run time.",
            tool="quantizer", recipe="dynamic_wi8_afp32", weights="int8",
        ),
        Mode(
            name="lq-dynamic-int4",
            description="LiteRT Quantizer: int4 weights, activations quantized at run time.",
            tool="quantizer", recipe="dynamic_wi4_afp32", weights="int4",
        ),
        Mode(
            name="lq-static-int8",
            description="LiteRT Quantizer: int8 weights and calibrated int8 activations.",
            tool="quantizer", recipe="static_wi8_ai8", needs_representative_data=True,
            inference_input_type="int8", inference_output_type="int8",
            weights="int8", activations="int8",
        ),
        Mode(
            name="lq-static-int16x8",
            description="LiteRT Quantizer: int8 weights and calibrated int16 activations.",
            tool="quantizer", recipe="static_wi8_ai16", needs_representative_data=True,
            inference_input_type="int16", inference_output_type="int16",
            weights="int8", activations="int16",
        ),
    )
}

#: The converter mode each quantizer mode is compared with side by side in reports.
COUNTERPARTS: dict[str, str] = {
    "lq-weight-int8": "dynamic",
    "lq-weight-int4": "dynamic",
    "lq-dynamic-int8": "dynamic",
    "lq-dynamic-int4": "dynamic",
    "lq-static-int8": "int8",
    "lq-static-int16x8": "int16x8",
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


#: Modes read from recipe files (``tflbench tune`` writes them), by name.
RECIPE_MODES: dict[str, Mode] = {}


def modes_by_tool(tool: str) -> list[Mode]:
    """The registry's modes produced by ``tool`` (``"converter"`` or ``"quantizer"``)."""
    return [m for m in MODES.values() if m.tool == tool]


def is_recipe_path(name: str) -> bool:
    return name.endswith((".json", ".toml")) or "/" in name or name.startswith("recipe:")


def get_mode(name: str) -> Mode:
    """Return the registered mode for ``name`` or an alias of it.

    A path to a recipe file (``quant/int8-tuned.json``, or ``recipe:PATH``) loads the tuned mode
    it describes (:func:`tflbench.quant_recipe.load_recipe`) and registers it under its name, so a
    project config can list it among its modes.
    """
    if is_recipe_path(name):
        from tflbench.quant_recipe import load_recipe

        mode = load_recipe(name.removeprefix("recipe:"))
        RECIPE_MODES[mode.name] = mode
        return mode
    key = ALIASES.get(name, ALIASES.get(name.upper(), name))
    found = MODES.get(key) or RECIPE_MODES.get(key)
    if found is None:
        raise ConfigError(
            f"Unknown optimization mode. Received: {name!r}. "
            f"Expected one of: {', '.join(MODES)} (aliases: {', '.join(ALIASES)}), or the path "
            "of a recipe file written by 'tflbench tune'."
        ) from None
    return found


def default_modes() -> list[Mode]:
    """The modes a run covers when none are named: the converter's. The LiteRT Quantizer
    (``lq-``) modes are named explicitly, or all at once with ``all``."""
    return [m for m in MODES.values() if m.tool == "converter"]


def resolve_modes(names: Iterable[str] | str | None) -> list[Mode]:
    """Resolve a list (or comma-separated string) of names; None (or nothing) means the
    default modes (:func:`default_modes`), ``all`` every registered mode.

    Duplicates (e.g. an alias and its target) are kept once, in first-seen order.
    """
    if names is None:
        return default_modes()
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names)
    if not names:
        return default_modes()
    if names == ["all"]:
        return list(MODES.values())
    out: list[Mode] = []
    for n in names:
        m = get_mode(n)
        if m not in out:
            out.append(m)
    return out
