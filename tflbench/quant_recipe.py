"""Recipe files: a tuned mode saved as data (``tflbench tune`` writes them, projects commit them).

A recipe file names a base mode of the registry and the Keras layers kept in float. CI converts
exactly that configuration from then on: list the file among the project's modes
(``modes = ["fp32", "int8", "quant/int8-tuned.json"]``) or on the command line
(``--modes fp32,quant/int8-tuned.json``). JSON is written; JSON and TOML are read::

    {"format": "tflbench.quantization-recipe", "version": 1, "name": "int8-tuned",
     "base": "int8", "float_layers": ["squash"]}
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tflbench.errors import ConfigError
from tflbench.modes import MODES, Mode

FORMAT = "tflbench.quantization-recipe"
VERSION = 1
_KEYS = {"format", "version", "name", "base", "float_layers", "description", "tuning"}


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
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": mode.name,
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
    if data.get("format") != FORMAT:
        raise ConfigError(f"{where}: not a tflbench recipe. Received: format="
                          f"{data.get('format')!r}; expected {FORMAT!r}.")
    if data.get("version") != VERSION:
        raise ConfigError(f"{where}: unsupported recipe version. Received: version="
                          f"{data.get('version')!r}; expected {VERSION}. Upgrade tflbench or "
                          "tune again.")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown recipe field(s): {', '.join(unknown)}. "
                          f"Expected: {', '.join(sorted(_KEYS))}.")
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
