"""Reading and validating a configuration: TOML into a :class:`ProjectConfig`.

Unknown keys and wrong types raise :class:`~tflbench.errors.ConfigError` naming the file, the
full key path and what was received. Relative paths are made absolute against the
configuration file's directory. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tflbench import gates
from tflbench.config.model import (
    DEFAULT_REPORT_DIR,
    BaselineConfig,
    ModelEntry,
    ProjectConfig,
    mode_list,
    show,
)
from tflbench.errors import ConfigError

try:  # Python 3.11+
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ModuleNotFoundError:
        _toml = None  # type: ignore[assignment]

CONFIG_FILE = "tflbench.toml"
PYPROJECT = "pyproject.toml"

_TOP_KEYS = ("models", "modes", "thresholds", "runtime", "latency", "report_dir", "cache_dir",
             "baseline", "representative_samples", "top_k", "device", "max_eval_samples",
             "targets")
_MODEL_KEYS = ("name", "recipe", "path", "data", "preprocessing", "class_names", "safe_mode",
               "params", "thresholds")
_RUNTIME_KEYS = ("threads", "xnnpack")
_LATENCY_KEYS = ("warmup_runs", "warmup_seconds", "min_runs", "min_seconds", "max_runs",
                 "max_seconds")
_BASELINE_KEYS = ("path", "max_accuracy_drop", "max_agreement_drop", "max_latency_increase",
                  "alpha")


class _Reader:
    """Validates raw TOML and builds error messages with full key paths."""

    def __init__(self, file: Path | None, prefix: str) -> None:
        self.file = file
        self.prefix = prefix
        self.root = file.parent if file else Path.cwd()

    def table(self, *parts: str) -> str:
        name = ".".join(p for p in (self.prefix, *parts) if p)
        return f"[{name}]" if name else "[top level]"

    def error(self, table: str, key: str, problem: str) -> ConfigError:
        where = f"{self.file}: " if self.file else ""
        return ConfigError(f"{where}{table} {key}: {problem}.")

    def keys(self, raw: Mapping[str, Any], allowed: Sequence[str], table: str) -> None:
        for k in raw:
            if k not in allowed:
                raise self.error(table, k, f"unknown key; expected one of: {', '.join(allowed)}")

    def mapping(self, value: Any, table: str, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(table, key, f"expected a table. Received: {show(value)}")
        return value

    def string(self, value: Any, table: str, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(table, key, f"expected a non-empty string. Received: {show(value)}")
        return value

    def boolean(self, value: Any, table: str, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(table, key, f"expected true or false. Received: {show(value)}")
        return value

    def integer(self, value: Any, table: str, key: str, minimum: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(table, key,
                             f"expected an integer >= {minimum}. Received: {show(value)}")
        return value

    def number(self, value: Any, table: str, key: str, low: float = 0.0,
               high: float | None = None) -> float:
        bad = isinstance(value, bool) or not isinstance(value, (int, float)) or value != value
        if not bad and (value < low or (high is not None and value > high)):
            bad = True
        if not bad and isinstance(value, int) and abs(value) > 1e308:  # float() would overflow
            bad = True
        if bad:
            rng = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
            raise self.error(table, key, f"expected a number {rng}. Received: {show(value)}")
        return float(value)

    def path(self, value: Any, table: str, key: str) -> Path:
        return self._absolute(self.string(value, table, key), table, key)

    def _absolute(self, text: str, table: str, key: str) -> Path:
        p = Path(os.path.expanduser(text))
        if p.is_absolute():
            return p
        try:
            return (self.root / p).resolve()
        except (OSError, ValueError) as exc:  # NUL bytes, lone surrogates, names too long
            raise self.error(table, key, f"not a usable path ({exc}). "
                             f"Received: {show(text)}") from None

    def data_spec(self, value: Any, table: str, key: str) -> str:
        """Data specs with a path part are made absolute against the config directory."""
        spec = self.string(value, table, key)
        head, qm, options = spec.partition("?")
        kind, sep, rest = head.partition(":")
        if sep and kind in ("npz", "folder") and rest:
            prefix, target = f"{kind}:", rest
        elif not sep and head != "digits" and (head.endswith(".npz")
                                                or _is_dir(self.root / head)):
            prefix, target = "", head
        else:
            return spec
        return f"{prefix}{self._absolute(target, table, key)}{qm}{options}"


def _is_dir(p: Path) -> bool:
    try:
        return p.is_dir()
    except (OSError, ValueError):  # a name too long, a lone surrogate: not a folder
        return False


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except (OSError, ValueError):  # a name too long, a lone surrogate: not there
        return False


def _thresholds_layers(
    r: _Reader, raw: Any, parts: tuple[str, ...], key: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Split a thresholds table into (all-modes limits, per-mode limits), validating both."""
    from tflbench.modes import MODES

    table = r.table(*parts)
    raw = r.mapping(raw, r.table(*parts[:-1]), key)
    allowed = list(gates.THRESHOLD_NAMES) + list(MODES)
    everywhere: dict[str, Any] = {}
    per_mode: dict[str, dict[str, Any]] = {}
    for k, v in raw.items():
        if k in MODES:
            sub_table = r.table(*parts, k)
            sub = r.mapping(v, table, k)
            for name, value in sub.items():
                if name not in gates.THRESHOLD_NAMES:
                    raise r.error(sub_table, name, "unknown key; expected one of: "
                                  + ", ".join(gates.THRESHOLD_NAMES))
                per_mode.setdefault(k, {})[name] = _threshold(r, sub_table, name, value)
        elif k in gates.THRESHOLD_NAMES:
            everywhere[k] = _threshold(r, table, k, v)
        else:
            raise r.error(table, k, "unknown key; expected a threshold ("
                          + ", ".join(gates.THRESHOLD_NAMES) + ") or a mode table ("
                          + ", ".join(MODES) + f"); allowed: {len(allowed)} names")
    return everywhere, per_mode


def _threshold(r: _Reader, table: str, name: str, value: Any) -> Any:
    try:
        gates.validate_threshold(name, value)
    except ValueError as exc:
        raise r.error(table, name, str(exc)) from None
    return value


def _model_entry(r: _Reader, raw: Any, index: int, seen: set[str]) -> tuple[ModelEntry, Any]:
    from tflbench.models.recipes import RECIPES

    label = r.table("models") + f" entry {index + 1}"
    table = f"[[{r.table('models')[1:-1]}]] entry {index + 1}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{r.file or ''}: {label}: expected a table with 'recipe' or 'path'. "
                          f"Received: {show(raw)}.")
    r.keys(raw, _MODEL_KEYS, table)
    has_recipe, has_path = "recipe" in raw, "path" in raw
    if has_recipe == has_path:
        raise r.error(table, "recipe/path", "give exactly one of 'recipe' (a built-in recipe) "
                      "or 'path' (a .keras/.h5 file or SavedModel directory). Received: "
                      + ("both" if has_recipe else "neither"))
    recipe = path = None
    if has_recipe:
        recipe = r.string(raw["recipe"], table, "recipe")
        if recipe not in RECIPES:
            raise r.error(table, "recipe", f"unknown recipe {recipe!r}; expected one of: "
                          + ", ".join(RECIPES))
        for k in ("preprocessing", "class_names", "safe_mode"):
            if k in raw:
                raise r.error(table, k, "applies to model files ('path') only; a recipe "
                              "prepares its own data")
    else:
        path = r.path(raw["path"], table, "path")
        if not _exists(path):
            raise r.error(table, "path", f"model not found: {path}. Check the path (relative "
                          "paths are relative to the configuration file)")
        if "params" in raw:
            raise r.error(table, "params", "applies to recipes only")
    stem = path.name[: -len(path.suffix)] if path is not None and path.suffix else (
        path.name if path is not None else "")
    name = r.string(raw["name"], table, "name") if "name" in raw else (recipe or stem)
    if name in seen:
        raise r.error(table, "name", f"duplicate model name {name!r}; give each model a "
                      "unique 'name'")
    seen.add(name)
    data = r.data_spec(raw["data"], table, "data") if "data" in raw else None
    preprocessing: Any = None
    if "preprocessing" in raw:
        pre = raw["preprocessing"]
        if not isinstance(pre, (str, Mapping)):
            raise r.error(table, "preprocessing", "expected a named preprocessing (string) or a "
                          f"table. Received: {show(pre)}")
        preprocessing = pre if isinstance(pre, str) else dict(pre)
    class_names = None
    if "class_names" in raw:
        cn = raw["class_names"]
        if not isinstance(cn, list) or not cn or not all(isinstance(c, str) for c in cn):
            raise r.error(table, "class_names", "expected a non-empty list of strings. "
                          f"Received: {show(cn)}")
        class_names = tuple(cn)
    safe_mode = r.boolean(raw["safe_mode"], table, "safe_mode") if "safe_mode" in raw else True
    params: dict[str, Any] = {}
    if "params" in raw:
        params = dict(r.mapping(raw["params"], table, "params"))
        try:
            RECIPES[recipe or ""].params(**params)
        except ConfigError as exc:
            raise r.error(table, "params", str(exc).rstrip(".")) from None
    thresholds = raw.get("thresholds", {})
    return ModelEntry(name=name, recipe=recipe, path=path, data=data,
                      preprocessing=preprocessing, class_names=class_names,
                      safe_mode=safe_mode, params=params), thresholds


def parse(raw: Mapping[str, Any], file: Path | None = None, prefix: str = "") -> ProjectConfig:
    """Validate a configuration table (already parsed from TOML) into a :class:`ProjectConfig`."""
    r = _Reader(file, prefix)
    top = r.table()
    r.keys(raw, _TOP_KEYS, top)
    kw: dict[str, Any] = {"source": file, "root": r.root}

    per_model: dict[str, dict[str, Any]] = {}
    per_model_mode: dict[tuple[str, str], dict[str, Any]] = {}
    if "models" in raw:
        models = raw["models"]
        if not isinstance(models, list) or not models:
            raise r.error(top, "models", "expected a non-empty array of tables "
                          f"([[{r.table('models')[1:-1]}]]). Received: {show(models)}")
        entries: list[ModelEntry] = []
        seen: set[str] = set()
        for i, m in enumerate(models):
            entry, thr = _model_entry(r, m, i, seen)
            if thr:
                parts = ("models", entry.name, "thresholds")
                every, per_mode = _thresholds_layers(r, thr, parts, "thresholds")
                if every:
                    per_model[entry.name] = every
                for mode, layer in per_mode.items():
                    per_model_mode[(entry.name, mode)] = layer
            entries.append(entry)
        kw["models"] = tuple(entries)
    if "modes" in raw:
        kw["modes"] = tuple(mode_list(raw["modes"], f"{r.file or ''}: {top} modes".lstrip(": ")))
    everywhere: dict[str, Any] = {}
    per_mode_thr: dict[str, dict[str, Any]] = {}
    if "thresholds" in raw:
        everywhere, per_mode_thr = _thresholds_layers(r, raw["thresholds"], ("thresholds",),
                                                      "thresholds")
    kw["thresholds"] = gates.Thresholds(all_modes=everywhere, per_mode=per_mode_thr,
                                        per_model=per_model, per_model_mode=per_model_mode)
    if "runtime" in raw:
        t = r.table("runtime")
        rt = r.mapping(raw["runtime"], top, "runtime")
        r.keys(rt, _RUNTIME_KEYS, t)
        if "threads" in rt:
            kw["threads"] = r.integer(rt["threads"], t, "threads")
        if "xnnpack" in rt:
            kw["xnnpack"] = r.boolean(rt["xnnpack"], t, "xnnpack")
    if "latency" in raw:
        t = r.table("latency")
        lat = r.mapping(raw["latency"], top, "latency")
        r.keys(lat, _LATENCY_KEYS, t)
        latency: dict[str, Any] = {}
        for k, v in lat.items():
            if k.endswith("_runs"):
                latency[k] = r.integer(v, t, k, minimum=1 if k == "max_runs" else 0)
            else:
                latency[k] = r.number(v, t, k)
        try:
            from tflbench.timing import LatencySettings

            LatencySettings(**latency)
        except ConfigError as exc:
            raise r.error(t, ", ".join(latency), str(exc).rstrip(".")) from None
        kw["latency"] = latency
    if "report_dir" in raw:
        kw["report_dir"] = r.path(raw["report_dir"], top, "report_dir")
    else:
        kw["report_dir"] = r.root / DEFAULT_REPORT_DIR
    if "cache_dir" in raw:
        kw["cache_dir"] = r.path(raw["cache_dir"], top, "cache_dir")
    if "baseline" in raw:
        kw["baseline"] = _baseline(r, raw["baseline"], top)
    for key in ("representative_samples", "top_k", "max_eval_samples"):
        if key in raw:
            kw[key] = r.integer(raw[key], top, key)
    if "device" in raw:
        kw["device"] = r.string(raw["device"], top, "device")
    if "targets" in raw:
        kw["targets"] = _targets(r, raw["targets"], top)
    return ProjectConfig(**kw)


def _targets(r: _Reader, value: Any, top: str) -> tuple[str, ...]:
    """The runtime targets (``require_compatible``), each parsed; errors name the key."""
    from tflbench.compat.gate import target_list

    if isinstance(value, list) and any(not isinstance(v, str) or not v.strip() for v in value):
        bad = next(v for v in value if not isinstance(v, str) or not v.strip())
        raise r.error(top, "targets", "expected a list of runtime targets such as "
                      "[\"ai-edge-litert>=2.3\", \"tflite-runtime==2.14\"]; every entry a "
                      f"non-empty string. Received: {show(bad)}")
    try:
        return target_list(value, "targets")
    except ConfigError as exc:
        problem = str(exc).removeprefix("targets: ").rstrip(".")
        raise r.error(top, "targets", problem) from None


def _baseline(r: _Reader, value: Any, top: str) -> BaselineConfig:
    if isinstance(value, str):
        return BaselineConfig(path=r.path(value, top, "baseline"))
    t = r.table("baseline")
    raw = r.mapping(value, top, "baseline")
    r.keys(raw, _BASELINE_KEYS, t)
    kw: dict[str, Any] = {}
    if "path" in raw:
        kw["path"] = r.path(raw["path"], t, "path")
    for k in ("max_accuracy_drop", "max_agreement_drop"):
        if k in raw:
            kw[k] = r.number(raw[k], t, k, 0.0, 1.0)
    if "max_latency_increase" in raw:
        v = raw["max_latency_increase"]
        if v is False or (isinstance(v, str) and v.strip().lower() == "none"):
            kw["max_latency_increase"] = None  # the latency check is off
        else:
            try:
                kw["max_latency_increase"] = r.number(v, t, "max_latency_increase")
            except ConfigError:
                raise r.error(t, "max_latency_increase",
                              f"expected a number >= 0, or false (or \"none\") to turn the "
                              f"latency check off. Received: {show(v)}") from None
    if "alpha" in raw:
        a = r.number(raw["alpha"], t, "alpha", 0.0, 1.0)
        if not 0 < a < 1:
            raise r.error(t, "alpha", f"expected a number strictly between 0 and 1. "
                          f"Received: {a!r}")
        kw["alpha"] = a
    return BaselineConfig(**kw)


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; one :class:`ConfigError` naming the file when it cannot be read."""
    if _toml is None:  # pragma: no cover - Python 3.10 without tomli
        raise ConfigError(f"Reading {path} needs a TOML parser on Python 3.10: "
                          "pip install tomli.")
    try:
        with path.open("rb") as fh:
            return _toml.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Configuration file not found: {path}. Check the path.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read configuration file {path}: {exc}.") from None
    except _toml.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the syntax.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: it is not UTF-8 text ({exc.reason} at "
                          f"byte {exc.start}). Save it as UTF-8.") from None
    except RecursionError:
        raise ConfigError(f"{path} is not a usable configuration: its arrays or tables are "
                          "nested too deeply to read. Fix the file.") from None


def load_file(path: str | os.PathLike[str]) -> ProjectConfig:
    """Read ``tflbench.toml`` (top-level keys) or ``pyproject.toml`` (``[tool.tflbench]``)."""
    p = Path(path).resolve()
    data = read_toml(p)
    if p.name == PYPROJECT:
        section = tool_section(data)
        if section is None:
            raise ConfigError(f"{p} has no [tool.tflbench] table. Add one (see docs/gating.md) "
                              f"or use a {CONFIG_FILE}.")
        if not isinstance(section, Mapping):
            raise ConfigError(f"{p}: [tool.tflbench] must be a table. "
                              f"Received: {show(section)}.")
        return parse(section, p, "tool.tflbench")
    return parse(data, p, "")


def tool_section(pyproject: Mapping[str, Any]) -> Any:
    """The ``[tool.tflbench]`` value of a parsed ``pyproject.toml``, or None."""
    tool = pyproject.get("tool")
    return tool.get("tflbench") if isinstance(tool, Mapping) else None
