"""The records of a project configuration: :class:`ProjectConfig`, :class:`ModelEntry` and
:class:`BaselineConfig` (read by :mod:`tflbench.config.parse`, found by
:mod:`tflbench.config.discover`, turned into pipeline objects by :mod:`tflbench.config.bridge`)."""

from __future__ import annotations

import dataclasses
import os
import reprlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tflbench import gates
from tflbench.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from tflbench.pipeline import RunSettings, Subject
    from tflbench.timing import LatencySettings

#: Defaults of the top-level scalar keys.
DEFAULT_REPORT_DIR = "reports"
DEFAULT_CACHE_DIR = ".tflbench-cache"


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
    #: Runtime releases the models must load on (``require_compatible``), e.g.
    #: ``("ai-edge-litert>=2.3", "tflite-runtime==2.14")``; empty: no compatibility gate.
    targets: tuple[str, ...] = ()

    # -- derived -------------------------------------------------------------------------
    def mode_names(self) -> list[str]:
        from tflbench.modes import default_modes

        return list(self.modes) if self.modes else [m.name for m in default_modes()]

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
        targets: Sequence[str] | None = None,
    ) -> ProjectConfig:
        """Apply command-line overrides (paths relative to the current directory)."""
        cfg = self
        if targets:
            from tflbench.compat.gate import target_list

            cfg = cfg.replace(targets=target_list(list(targets), "--targets"))
        if modes:
            cfg = cfg.replace(modes=tuple(mode_list(modes, "--tflbench-modes")))
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

    def latency_settings(self) -> LatencySettings:
        from tflbench.config.bridge import latency_settings

        return latency_settings(self)

    # -- bridge to the pipeline (tflbench.config.bridge) -------------------------------------
    def to_run_settings(self) -> RunSettings:
        from tflbench.config.bridge import run_settings

        return run_settings(self)

    def to_subjects(self) -> list[Subject]:
        from tflbench.config.bridge import subjects

        return subjects(self)

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
            "max_eval_samples": self.max_eval_samples, "targets": list(self.targets),
        }


def show(value: Any) -> str:
    """A received value for an error message: its repr (shortened) and its type."""
    try:
        text = repr(value)
    except RecursionError:  # nested too deeply for repr(): a depth-limited one
        text = reprlib.repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def mode_list(value: Any, where: str) -> list[str]:
    """Mode names from a list or a comma-separated string (or "all"), validated; ``where``
    names the setting in the error."""
    from tflbench.modes import resolve_modes

    if isinstance(value, str):
        names: Any = value
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        names = list(value)
    else:
        raise ConfigError(f"{where}: expected a list of mode names or 'all'. "
                          f"Received: {show(value)}.")
    try:
        return [m.name for m in resolve_modes(names)]
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
