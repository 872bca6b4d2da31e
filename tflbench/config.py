"""The project configuration: ``tflbench.toml`` or ``[tool.tflbench]`` in ``pyproject.toml``.

Every key is documented in ``docs/gating.md``. A minimal file::

    [tool.tflbench]
    modes = ["fp32", "int8"]

    [[tool.tflbench.models]]
    path = "models/classifier.keras"
    data = "npz:data/test.npz"

    [tool.tflbench.thresholds.int8]
    min_top1_agreement = 0.97

Unknown keys and wrong types raise :class:`~tflbench.errors.ConfigError` naming the full key path
and what was received. Without a configuration file the embedded default subjects (the digits
recipes) are used. Relative paths are relative to the configuration file's directory.

Reading a configuration never imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tflbench import gates
from tflbench.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from tflbench.pipeline import RunSettings, Subject

try:  # Python 3.11+
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ModuleNotFoundError:
        _toml = None  # type: ignore[assignment]

CONFIG_FILE = "tflbench.toml"
PYPROJECT = "pyproject.toml"

#: Defaults of the top-level scalar keys.
DEFAULT_REPORT_DIR = "reports"
DEFAULT_CACHE_DIR = ".tflbench-cache"

_TOP_KEYS = ("models", "modes", "thresholds", "runtime", "latency", "report_dir", "cache_dir",
             "baseline", "representative_samples", "top_k", "device", "max_eval_samples")
_MODEL_KEYS = ("name", "recipe", "path", "data", "preprocessing", "class_names", "safe_mode",
               "params", "thresholds")
_RUNTIME_KEYS = ("threads", "xnnpack")
_LATENCY_KEYS = ("warmup_runs", "warmup_seconds", "min_runs", "min_seconds", "max_runs",
                 "max_seconds")
_BASELINE_KEYS = ("path", "max_accuracy_drop", "max_agreement_drop", "max_latency_increase",
                  "alpha")


# ------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ModelEntry:
    """One reference model: a built-in recipe or a Keras model file, with its data."""

    name: str
    recipe: str | None = None
    path: Path | None = None
    #: Data spec: "digits", "npz:PATH", "folder:PATH", "tfds:NAME", "keras:NAME".
    data: str | None = None
    preprocessing: dict[str, Any] | str | None = None
    class_names: tuple[str, ...] | None = None
    safe_mode: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    #: Per-model thresholds: threshold keys for every mode and mode tables.
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"recipe:{self.recipe}" if self.recipe else str(self.path)


@dataclass(frozen=True)
class BaselineConfig:
    """Where the previous release's results are and how much they may change."""

    path: Path | None = None
    #: Maximum accuracy drop vs the baseline, as a fraction (0.01 = 1 percentage point).
    max_accuracy_drop: float = 0.01
    #: Maximum drop of top-1 agreement vs the baseline, as a fraction.
    max_agreement_drop: float = 0.01
    #: Maximum growth of the median latency, as a fraction of the baseline (0.1 = +10 %).
    max_latency_increase: float = 0.10
    #: Significance level of the Mann-Whitney U test on the latency samples.
    alpha: float = 0.05


@dataclass(frozen=True)
class ProjectConfig:
    """The resolved configuration of a project (or the embedded default)."""

    #: The file it came from; ``None`` for the embedded default.
    source: Path | None = None
    #: Directory relative paths are resolved against.
    root: Path = field(default_factory=Path.cwd)
    #: Empty means the embedded default subjects.
    models: tuple[ModelEntry, ...] = ()
    #: Mode names, in order; empty means every registered mode.
    modes: tuple[str, ...] = ()
    thresholds: gates.Thresholds = field(default_factory=gates.Thresholds)
    threads: int = 1
    xnnpack: bool = True
    #: Overrides of :class:`tflbench.timing.LatencySettings` fields.
    latency: dict[str, Any] = field(default_factory=dict)
    report_dir: Path = field(default_factory=lambda: Path(DEFAULT_REPORT_DIR))
    cache_dir: Path | None = None
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    representative_samples: int = 200
    top_k: int = 5
    device: str | None = None
    max_eval_samples: int | None = None

    # -- derived -------------------------------------------------------------------------
    def mode_names(self) -> list[str]:
        from tflbench.modes import MODES

        return list(self.modes) if self.modes else list(MODES)

    def model_names(self) -> list[str]:
        """Names of the configured models (the embedded defaults when none are configured)."""
        if self.models:
            return [m.name for m in self.models]
        from tflbench.pipeline import default_subjects

        return [s.name for s in default_subjects()]

    def replace(self, **changes: Any) -> ProjectConfig:
        return dataclasses.replace(self, **changes)

    def with_overrides(
        self, *, modes: str | Sequence[str] | None = None,
        models: str | Sequence[str] | None = None,
        threads: int | None = None, xnnpack: bool | None = None,
        report_dir: str | os.PathLike[str] | None = None,
        baseline: str | os.PathLike[str] | None = None,
    ) -> ProjectConfig:
        """Apply command-line overrides (paths relative to the current directory)."""
        cfg = self
        if modes:
            cfg = cfg.replace(modes=tuple(_mode_list(modes, "--tflbench-modes")))
        if models:
            wanted = [m.strip() for m in models.split(",")] if isinstance(models, str) \
                else list(models)
            wanted = [w for w in wanted if w]
            known = cfg.model_names()
            unknown = [w for w in wanted if w not in known]
            if unknown:
                raise ConfigError(f"Unknown model(s) {', '.join(map(repr, unknown))} in "
                                  f"--tflbench-models. Expected some of: {', '.join(known)}.")
            entries = cfg.models or tuple(ModelEntry(name=n, recipe=n) for n in known)
            cfg = cfg.replace(models=tuple(e for e in entries if e.name in wanted))
        if threads is not None:
            if threads < 1:
                raise ConfigError(f"--tflbench-threads must be >= 1. Received: {threads}.")
            cfg = cfg.replace(threads=threads)
        if xnnpack is not None:
            cfg = cfg.replace(xnnpack=xnnpack)
        if report_dir is not None:
            cfg = cfg.replace(report_dir=Path(report_dir).resolve())
        if baseline is not None:
            cfg = cfg.replace(baseline=dataclasses.replace(self.baseline,
                                                           path=Path(baseline).resolve()))
        return cfg

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        env = os.environ.get("TFLBENCH_CACHE_DIR")
        return Path(env).resolve() if env else self.root / DEFAULT_CACHE_DIR

    def latency_settings(self) -> Any:
        from tflbench.pipeline import RUN_LATENCY

        return dataclasses.replace(RUN_LATENCY, **self.latency)

    # -- bridge to the pipeline ------------------------------------------------------------
    def to_run_settings(self) -> RunSettings:
        from tflbench.modes import resolve_modes
        from tflbench.pipeline import RunSettings

        return RunSettings(
            modes=tuple(resolve_modes(self.mode_names())),
            num_threads=self.threads,
            xnnpack=self.xnnpack,
            top_k=self.top_k,
            representative_samples=self.representative_samples,
            latency=self.latency_settings(),
            cache_dir=self.resolved_cache_dir(),
            report_dir=self.report_dir,
            device=self.device,
            max_eval_samples=self.max_eval_samples,
        )

    def to_subjects(self) -> list[Subject]:
        from tflbench import pipeline

        if not self.models:
            return pipeline.default_subjects()
        return [_subject(m) for m in self.models]

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (for cache keys and logs)."""
        return {
            "source": str(self.source) if self.source else None,
            "models": [{"name": m.name, "source": m.source, "data": m.data,
                        "preprocessing": m.preprocessing,
                        "class_names": list(m.class_names) if m.class_names else None,
                        "safe_mode": m.safe_mode, "params": m.params} for m in self.models],
            "modes": self.mode_names(), "threads": self.threads, "xnnpack": self.xnnpack,
            "latency": self.latency, "representative_samples": self.representative_samples,
            "top_k": self.top_k, "device": self.device,
            "max_eval_samples": self.max_eval_samples,
        }


def _subject(entry: ModelEntry) -> Subject:
    from tflbench import pipeline

    if entry.recipe:
        return pipeline.subject_from_recipe(entry.recipe, entry.data,
                                            subject_name=entry.name, **entry.params)
    assert entry.path is not None
    subject = pipeline.subject_from_model_file(entry.path, entry.data, name=entry.name,
                                               safe_mode=entry.safe_mode)
    if entry.preprocessing is not None or entry.class_names is not None:
        spec = entry.data or "digits"

        def load_dataset() -> Any:
            return load_data(spec, preprocessing=entry.preprocessing,
                             class_names=entry.class_names, lazy="auto")

        subject.load_dataset = load_dataset
    return subject


def load_data(spec: str, *, preprocessing: Any = None,
              class_names: Sequence[str] | None = None, lazy: bool | str = False) -> Any:
    """Load a data spec with the user's preprocessing, then name its classes. ``lazy="auto"``
    streams large folder/npz evaluation data (model-file subjects; recipes train in memory)."""
    from tflbench.data import sources
    from tflbench.errors import DataError

    kwargs: dict[str, Any] = {"lazy": lazy}
    if preprocessing is not None:
        kwargs["preprocessing"] = preprocessing
    ds = sources.load_dataset(spec, **kwargs)
    if class_names is not None:
        if len(class_names) != ds.num_classes:
            raise DataError(
                f"class_names has {len(class_names)} names but the data {spec!r} has "
                f"{ds.num_classes} classes ({', '.join(ds.class_names)}). Give one name per "
                "class, in label order."
            )
        ds = dataclasses.replace(ds, class_names=tuple(class_names))
    return ds


# ------------------------------------------------------------------------------------- reading


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
            raise self.error(table, key, f"expected a table. Received: {_show(value)}")
        return value

    def string(self, value: Any, table: str, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(table, key, f"expected a non-empty string. Received: {_show(value)}")
        return value

    def boolean(self, value: Any, table: str, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(table, key, f"expected true or false. Received: {_show(value)}")
        return value

    def integer(self, value: Any, table: str, key: str, minimum: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(table, key,
                             f"expected an integer >= {minimum}. Received: {_show(value)}")
        return value

    def number(self, value: Any, table: str, key: str, low: float = 0.0,
               high: float | None = None) -> float:
        bad = isinstance(value, bool) or not isinstance(value, (int, float)) or value != value
        if not bad and (value < low or (high is not None and value > high)):
            bad = True
        if bad:
            rng = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
            raise self.error(table, key, f"expected a number {rng}. Received: {_show(value)}")
        return float(value)

    def path(self, value: Any, table: str, key: str) -> Path:
        p = Path(os.path.expanduser(self.string(value, table, key)))
        return p if p.is_absolute() else (self.root / p).resolve()

    def data_spec(self, value: Any, table: str, key: str) -> str:
        """Data specs with a path part are made absolute against the config directory."""
        spec = self.string(value, table, key)
        head, qm, options = spec.partition("?")
        kind, sep, rest = head.partition(":")
        if sep and kind in ("npz", "folder") and rest:
            prefix, target = f"{kind}:", rest
        elif not sep and head != "digits" and (head.endswith(".npz")
                                                or (self.root / head).is_dir()):
            prefix, target = "", head
        else:
            return spec
        p = Path(os.path.expanduser(target))
        p = p if p.is_absolute() else (self.root / p).resolve()
        return f"{prefix}{p}{qm}{options}"


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _mode_list(value: Any, where: str) -> list[str]:
    from tflbench.modes import resolve_modes

    if isinstance(value, str):
        names: Any = value
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        names = list(value)
    else:
        raise ConfigError(f"{where}: expected a list of mode names or 'all'. "
                          f"Received: {_show(value)}.")
    try:
        return [m.name for m in resolve_modes(names)]
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


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
                          f"Received: {_show(raw)}.")
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
        if not path.exists():
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
                          f"table. Received: {_show(pre)}")
        preprocessing = pre if isinstance(pre, str) else dict(pre)
    class_names = None
    if "class_names" in raw:
        cn = raw["class_names"]
        if not isinstance(cn, list) or not cn or not all(isinstance(c, str) for c in cn):
            raise r.error(table, "class_names", "expected a non-empty list of strings. "
                          f"Received: {_show(cn)}")
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
                          f"([[{r.table('models')[1:-1]}]]). Received: {_show(models)}")
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
        kw["modes"] = tuple(_mode_list(raw["modes"], f"{r.file or ''}: {top} modes".lstrip(": ")))
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
    return ProjectConfig(**kw)


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
        kw["max_latency_increase"] = r.number(raw["max_latency_increase"], t,
                                              "max_latency_increase")
    if "alpha" in raw:
        a = r.number(raw["alpha"], t, "alpha", 0.0, 1.0)
        if not 0 < a < 1:
            raise r.error(t, "alpha", f"expected a number strictly between 0 and 1. "
                          f"Received: {a!r}")
        kw["alpha"] = a
    return BaselineConfig(**kw)


def _read_toml(path: Path) -> dict[str, Any]:
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


def load(path: str | os.PathLike[str]) -> ProjectConfig:
    """Read ``tflbench.toml`` (top-level keys) or ``pyproject.toml`` (``[tool.tflbench]``)."""
    p = Path(path).resolve()
    if p.is_dir():
        found = find(p, walk_up=False)
        if found is None:
            raise ConfigError(f"No {CONFIG_FILE} or {PYPROJECT} with [tool.tflbench] in {p}. "
                              f"Create one (see docs/gating.md) or give the file itself.")
        p = found
    data = _read_toml(p)
    if p.name == PYPROJECT:
        tool = data.get("tool", {})
        if not isinstance(tool, Mapping) or "tflbench" not in tool:
            raise ConfigError(f"{p} has no [tool.tflbench] table. Add one (see docs/gating.md) "
                              f"or use a {CONFIG_FILE}.")
        section = tool["tflbench"]
        if not isinstance(section, Mapping):
            raise ConfigError(f"{p}: [tool.tflbench] must be a table. "
                              f"Received: {_show(section)}.")
        return parse(section, p, "tool.tflbench")
    return parse(data, p, "")


def _has_tool_section(pyproject: Path) -> bool:
    try:
        data = _read_toml(pyproject)
    except ConfigError:
        return False
    tool = data.get("tool")
    return isinstance(tool, Mapping) and "tflbench" in tool


def find(start: str | os.PathLike[str] | None = None, walk_up: bool = True) -> Path | None:
    """The configuration file for ``start`` (default: the current directory).

    In each directory from ``start`` upwards: ``tflbench.toml`` wins, then a ``pyproject.toml``
    with ``[tool.tflbench]``. The search stops at the first directory holding a
    ``pyproject.toml`` or ``.git`` (the project root) and returns ``None`` when nothing is found.
    """
    d = Path(start or Path.cwd()).resolve()
    while True:
        candidate = d / CONFIG_FILE
        if candidate.is_file():
            return candidate
        pyproject = d / PYPROJECT
        if pyproject.is_file():
            return pyproject if _has_tool_section(pyproject) else None
        if (d / ".git").exists() or not walk_up or d.parent == d:
            return None
        d = d.parent


def default_config(root: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """The embedded default: digits recipes, every mode, default thresholds."""
    base = Path(root or Path.cwd()).resolve()
    return ProjectConfig(source=None, root=base, report_dir=base / DEFAULT_REPORT_DIR)


def load_config(path: str | os.PathLike[str] | None = None,
                start: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """Alias of :func:`load_project`."""
    return load_project(path, start)


def load_project(path: str | os.PathLike[str] | None = None,
                 start: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """``path`` when given, else the configuration found from ``start``, else the default."""
    if path is not None and str(path) != "":
        return load(path)
    found = find(start)
    return load(found) if found is not None else default_config(start)
