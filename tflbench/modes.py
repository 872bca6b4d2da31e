"""Optimization modes as data: one frozen record per mode in one registry.

Adding a mode is one entry here (plus its default thresholds in :mod:`tflbench.gates`).
The converter reads only these records; nothing else in tflbench special-cases a mode name.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# ------------------------------------------------------------------- recipe files (tuned modes)

RECIPE_FORMAT = "tflbench.quantization-recipe"
RECIPE_VERSION = 1
_RECIPE_KEYS = {"format", "version", "name", "base", "float_layers", "description", "tuning"}


def tuned_mode(base: Mode | str, float_layers: list[str] | tuple[str, ...], *,
               name: str | None = None, description: str | None = None) -> Mode:
    """``base`` with ``float_layers`` kept in float, named ``<base>-tuned`` unless ``name``."""
    b = MODES.get(base) if isinstance(base, str) else base
    if b is None:
        raise ConfigError(f"A recipe's base must be a registered mode. Received: base={base!r}. "
                          f"Expected one of: {', '.join(MODES)}.")
    if b.base is not None:
        raise ConfigError(f"A recipe's base must be a registry mode, not a tuned one. "
                          f"Received: base={b.name!r} (itself tuned from {b.base!r}).")
    if not b.needs_representative_data and b.tool == "converter":
        raise ConfigError(f"Layers can be kept in float in the full-integer converter modes and "
                          f"in the lq- modes. Received: base={b.name!r}; use int8, "
                          "int8-float-io or an lq- mode.")
    if b.name == "int16x8":
        raise ConfigError("The converter keeps layers in float only for int8 activations. "
                          "Received: base='int16x8'; use lq-static-int16x8 instead.")
    layers = tuple(dict.fromkeys(str(x) for x in float_layers))
    text = description or (f"{b.name} with {len(layers)} layer(s) kept in float: "
                           + (", ".join(layers) if layers else "none"))
    return dataclasses.replace(b, name=name or f"{b.name}-tuned", description=text,
                               float_layers=layers, base=b.name)


def recipe_dict(mode: Mode, tuning: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The serialized form of a tuned mode (``tuning``: an optional summary kept beside it)."""
    if mode.base is None:
        raise ConfigError(f"Only tuned modes are saved as recipes. Received: mode {mode.name!r} "
                          "without a base.")
    out: dict[str, Any] = {"format": RECIPE_FORMAT, "version": RECIPE_VERSION,
                           "name": mode.name,
                           "base": mode.base, "float_layers": list(mode.float_layers),
                           "description": mode.description}
    if tuning:
        out["tuning"] = dict(tuning)
    return out


def save_recipe(mode: Mode, path: str | Path, tuning: Mapping[str, Any] | None = None) -> Path:
    """Write ``mode`` as a JSON recipe file (atomically); returns the path."""
    from tflbench.fileio import atomic_write_bytes

    p = Path(path)
    if p.suffix != ".json":
        raise ConfigError(f"Recipe files are written as JSON. Received: {str(p)!r}; "
                          "name it *.json.")
    text = json.dumps(recipe_dict(mode, tuning), indent=2) + "\n"
    atomic_write_bytes(p, text.encode())
    return p


def mode_from_dict(data: Any, where: str = "recipe") -> Mode:
    """Strictly validate a recipe's serialized form and return its mode."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table of recipe fields. "
                          f"Received: {type(data).__name__}.")
    if data.get("format") != RECIPE_FORMAT:
        raise ConfigError(f"{where}: not a tflbench recipe. Received: format="
                          f"{data.get('format')!r}; expected {RECIPE_FORMAT!r}.")
    if data.get("version") != RECIPE_VERSION:
        raise ConfigError(f"{where}: unsupported recipe version. Received: version="
                          f"{data.get('version')!r}; expected {RECIPE_VERSION}. Upgrade "
                          "tflbench or tune again.")
    unknown = sorted(set(data) - _RECIPE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown recipe field(s): {', '.join(unknown)}. "
                          f"Expected: {', '.join(sorted(_RECIPE_KEYS))}.")
    name, layers = data.get("name"), data.get("float_layers", [])
    if not isinstance(name, str) or not name or name in MODES:
        raise ConfigError(f"{where}: 'name' must be a new mode name (not a registry mode). "
                          f"Received: name={name!r}.")
    if not isinstance(layers, list) or not all(isinstance(x, str) and x for x in layers):
        raise ConfigError(f"{where}: 'float_layers' must be a list of Keras layer names. "
                          f"Received: float_layers={layers!r}.")
    desc = data.get("description")
    try:
        return tuned_mode(str(data.get("base")), layers, name=name,
                          description=desc if isinstance(desc, str) else None)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_recipe(path: str | Path) -> Mode:
    """Read a JSON or TOML recipe file and return its tuned mode."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Recipe file not found: {p}. Check the path (tflbench tune "
                          "--save-recipe writes one).")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                raise ConfigError(f"{p}: TOML recipes need Python 3.11; use the JSON form.") \
                    from None
            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{p}: not valid {p.suffix.lstrip('.').upper() or 'JSON'}: {exc}.") \
            from None
    return mode_from_dict(data, str(p))
