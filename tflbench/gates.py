"""Release gates: thresholds as objects, one readable line per failure.

A :class:`Check` is a tiny frozen object that reads one number from a mode record of the results
document (``docs/results-schema.md``) and compares it with one limit. Evaluating a document gives
a list of :class:`CheckResult` objects, truthy when they pass, each carrying the measured value,
the limit and one line that explains it, e.g.::

    digits-cnn/int8: top-1 agreement 0.941 < 0.950 (min_top1_agreement)

All lines are collected first; :func:`enforce` then raises one :class:`~tflbench.errors.GateError`
holding every failing line. Limits come from :data:`DEFAULT_LIMITS` (one table, per mode) and are
overridden by the project configuration for all modes, per mode, per model and per model+mode.

This module never imports TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from tflbench.errors import ConfigError, GateError

#: The name of the check that requires a mode to convert and run.
REQUIRE_CONVERSION = "require_conversion"


@dataclass(frozen=True)
class Limits:
    """The resolved limits for one model under one mode. ``None`` disables a check."""

    #: The mode must convert, load, evaluate and time without error (status "ok").
    require_conversion: bool = True
    #: Minimum fraction of test samples whose TFLite top-1 class equals the Keras top-1 class.
    min_top1_agreement: float | None = None
    #: Maximum drop of test accuracy vs Keras, as a fraction (0.02 = 2 percentage points).
    max_accuracy_drop: float | None = None
    #: Maximum accuracy drop of the worst class vs Keras, as a fraction.
    max_class_accuracy_drop: float | None = None
    #: Maximum ``.tflite`` file size in bytes.
    max_size_bytes: int | None = None
    #: Maximum ``file.size_ratio`` of the results document (mode file size / float32 reference).
    max_size_ratio: float | None = None
    #: Maximum 90th-percentile single-sample invoke latency in microseconds.
    max_latency_p90_us: float | None = None
    #: Maximum mean absolute difference between TFLite and Keras outputs (probabilities).
    max_mean_abs_diff: float | None = None
    #: Minimum signal-to-quantization-noise ratio of TFLite vs Keras outputs, in dB.
    min_sqnr_db: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: Every threshold key a configuration may set.
THRESHOLD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Limits))

_FRACTIONS = ("min_top1_agreement", "max_accuracy_drop", "max_class_accuracy_drop")

#: Default limits per mode: one table, data only. Modes missing here get ``DEFAULT_LIMITS["*"]``.
#: Size and latency depend on the model and the device, so they are off unless configured.
DEFAULT_LIMITS: dict[str, dict[str, Any]] = {
    "*": {"min_top1_agreement": 0.95, "max_accuracy_drop": 0.03,
          "max_class_accuracy_drop": 0.10},
    "fp32": {"min_top1_agreement": 0.999, "max_accuracy_drop": 0.005,
             "max_class_accuracy_drop": 0.02, "max_mean_abs_diff": 1e-4, "min_sqnr_db": 40.0},
    "fp16": {"min_top1_agreement": 0.995, "max_accuracy_drop": 0.01,
             "max_class_accuracy_drop": 0.04, "max_mean_abs_diff": 1e-3, "min_sqnr_db": 30.0,
             "max_size_ratio": 0.75},
    "dynamic": {"min_top1_agreement": 0.98, "max_accuracy_drop": 0.02,
                "max_class_accuracy_drop": 0.08, "max_mean_abs_diff": 0.01,
                "min_sqnr_db": 20.0, "max_size_ratio": 0.75},
    "int8": {"min_top1_agreement": 0.95, "max_accuracy_drop": 0.03,
             "max_class_accuracy_drop": 0.10, "max_mean_abs_diff": 0.02, "min_sqnr_db": 12.0,
             "max_size_ratio": 0.75},
    "int8-float-io": {"min_top1_agreement": 0.95, "max_accuracy_drop": 0.03,
                      "max_class_accuracy_drop": 0.10, "max_mean_abs_diff": 0.02,
                      "min_sqnr_db": 12.0, "max_size_ratio": 0.75},
    "int16x8": {"min_top1_agreement": 0.98, "max_accuracy_drop": 0.02,
                "max_class_accuracy_drop": 0.08, "max_mean_abs_diff": 0.01, "min_sqnr_db": 20.0,
                "max_size_ratio": 0.75},
}


def validate_threshold(name: str, value: Any) -> Any:
    """Check one configured threshold; returns the value (``False`` disables a numeric limit).

    Raises :class:`ValueError` with a message saying what was expected and received; the caller
    adds where the value came from.
    """
    if name not in THRESHOLD_NAMES:
        raise ValueError(f"unknown threshold; expected one of: {', '.join(THRESHOLD_NAMES)}")
    if name == REQUIRE_CONVERSION:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false. Received: {value!r}")
        return value
    if value is False or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number (or false to disable). Received: {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number. Received: {value!r}")
    if name in _FRACTIONS and not 0.0 <= value <= 1.0:
        raise ValueError(f"expected a fraction between 0 and 1. Received: {value!r}")
    if name == "max_size_bytes":
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"expected a positive whole number of bytes. Received: {value!r}")
        return int(value)
    if name in ("max_size_ratio", "max_latency_p90_us") and value <= 0:
        raise ValueError(f"expected a positive number. Received: {value!r}")
    if name == "max_mean_abs_diff" and value < 0:
        raise ValueError(f"expected a number >= 0. Received: {value!r}")
    return float(value)


def _validated(layer: Mapping[str, Any], where: str) -> dict[str, Any]:
    out = {}
    for k, v in layer.items():
        try:
            out[k] = validate_threshold(k, v)
        except ValueError as exc:
            raise ConfigError(f"{where} {k}: {exc}.") from None
    return out


@dataclass(frozen=True)
class Thresholds:
    """Layers of configured limits over :data:`DEFAULT_LIMITS`.

    Resolution for (model, mode), later wins: defaults for the mode, ``all_modes``,
    ``per_mode[mode]``, ``per_model[model]``, ``per_model_mode[(model, mode)]``.
    """

    all_modes: Mapping[str, Any] = field(default_factory=dict)
    per_mode: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    per_model: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    per_model_mode: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    #: Start from :data:`DEFAULT_LIMITS`; when false only configured limits apply.
    use_defaults: bool = True

    def __post_init__(self) -> None:
        _validated(self.all_modes, "[thresholds]")
        for mode, layer in self.per_mode.items():
            _validated(layer, f"[thresholds.{mode}]")
        for model, layer in self.per_model.items():
            _validated(layer, f"[models '{model}' thresholds]")
        for (model, mode), layer in self.per_model_mode.items():
            _validated(layer, f"[models '{model}' thresholds.{mode}]")

    def limits(self, model: str, mode: str) -> Limits:
        merged: dict[str, Any] = {}
        if self.use_defaults:
            merged.update(DEFAULT_LIMITS.get(mode, DEFAULT_LIMITS["*"]))
        for layer in (self.all_modes, self.per_mode.get(mode, {}), self.per_model.get(model, {}),
                      self.per_model_mode.get((model, mode), {})):
            for k, v in layer.items():
                merged[k] = validate_threshold(k, v)
        return replace(Limits(), **merged)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one model/mode; truthy when it passed."""

    name: str
    model: str
    mode: str
    passed: bool
    measured: float | str | None
    limit: float | bool | None
    line: str

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        measured = self.measured
        if isinstance(measured, float) and not math.isfinite(measured):
            measured = None
        return {"name": self.name, "model": self.model, "mode": self.mode,
                "passed": self.passed, "measured": measured, "limit": self.limit,
                "line": self.line}


def _fmt(value: float, decimals: int, unit: str) -> str:
    if isinstance(value, float) and math.isinf(value):
        text = "inf" if value > 0 else "-inf"
    elif decimals < 0:  # whole numbers with thousands separators
        text = f"{int(round(value)):,}"
    else:
        text = f"{value:.{decimals}f}"
    return f"{text} {unit}".rstrip() if unit else text


def _fmt_pair(measured: float, limit: float, decimals: int, unit: str) -> tuple[str, str]:
    """Format both numbers, adding digits until they differ when the numbers do."""
    d = decimals
    while True:
        a, b = _fmt(measured, d, unit), _fmt(limit, d, unit)
        if a != b or measured == limit or d >= 9 or d < 0:
            return a, b
        d += 1


Extractor = Callable[[dict[str, Any]], "tuple[float | None, str]"]


@dataclass(frozen=True)
class Check:
    """Compare one measured number of a mode record with one limit.

    ``extract(mode_record)`` returns ``(value, label)``; value ``None`` means not measured.
    """

    name: str
    kind: str  # "min" or "max"
    section: str
    label: str
    extract: Extractor
    decimals: int = 3
    unit: str = ""
    #: When the value is missing: "fail" (not measured) or "skip" (does not apply).
    missing: str = "fail"

    def __call__(self, model: str, mode_record: dict[str, Any],
                 limit: float) -> CheckResult | None:
        mode = mode_record["mode"]
        value, label = (None, self.label)
        if mode_record.get(self.section) is not None:
            value, label = self.extract(mode_record)
        where = f"{model}/{mode}"
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if self.missing == "skip":
                return None
            lim = _fmt(limit, self.decimals, self.unit)
            return CheckResult(self.name, model, mode, False, None, limit,
                               f"{where}: {label} not measured (needs {self.name} = {lim})")
        ok = value >= limit if self.kind == "min" else value <= limit
        op = (">=" if ok else "<") if self.kind == "min" else ("<=" if ok else ">")
        m, lim = _fmt_pair(float(value), float(limit), self.decimals, self.unit)
        return CheckResult(self.name, model, mode, ok, value, limit,
                           f"{where}: {label} {m} {op} {lim} ({self.name})")


def _agreement_top1(r: dict[str, Any]) -> tuple[float | None, str]:
    return r["agreement"].get("top1"), "top-1 agreement"


def _mean_abs_diff(r: dict[str, Any]) -> tuple[float | None, str]:
    return r["agreement"].get("mean_abs_diff"), "mean |TFLite - Keras|"


def _sqnr(r: dict[str, Any]) -> tuple[float | None, str]:
    a = r["agreement"]
    v = a.get("sqnr_db")
    if v is None and a.get("max_abs_diff") == 0:
        v = math.inf  # identical outputs: infinite SQNR, stored as null in JSON
    return v, "SQNR"


def _accuracy_drop(r: dict[str, Any]) -> tuple[float | None, str]:
    d = r["accuracy"].get("accuracy_delta")
    return (None if d is None else 0.0 - float(d)), "accuracy drop"


def _class_drop(r: dict[str, Any]) -> tuple[float | None, str]:
    worst = r["accuracy"].get("worst_class") or {}
    d = worst.get("delta")
    name = worst.get("name", worst.get("index", "?"))
    return (None if d is None else 0.0 - float(d)), f"worst class {name!r} accuracy drop"


def _size_bytes(r: dict[str, Any]) -> tuple[float | None, str]:
    return r["file"].get("size_bytes"), "file size"


def _size_ratio(r: dict[str, Any]) -> tuple[float | None, str]:
    return r["file"].get("size_ratio"), "size ratio"


def _latency_p90(r: dict[str, Any]) -> tuple[float | None, str]:
    return r["latency"].get("p90"), "latency p90"


#: The numeric checks, in report order. The conversion check is separate (it is not a number).
CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        Check("min_top1_agreement", "min", "agreement", "top-1 agreement", _agreement_top1),
        Check("max_accuracy_drop", "max", "accuracy", "accuracy drop", _accuracy_drop),
        Check("max_class_accuracy_drop", "max", "accuracy", "worst class accuracy drop",
              _class_drop),
        Check("max_mean_abs_diff", "max", "agreement", "mean |TFLite - Keras|", _mean_abs_diff,
              decimals=4),
        Check("min_sqnr_db", "min", "agreement", "SQNR", _sqnr, decimals=1, unit="dB"),
        Check("max_size_bytes", "max", "file", "file size", _size_bytes, decimals=-1, unit="B"),
        # The ratio needs an fp32 file in the same run; without one it does not apply.
        Check("max_size_ratio", "max", "file", "size ratio", _size_ratio, missing="skip"),
        Check("max_latency_p90_us", "max", "latency", "latency p90", _latency_p90, decimals=1,
              unit="us"),
    )
}


def check_conversion(model: str, mode_record: dict[str, Any], required: bool) -> CheckResult:
    """The mode converted and ran (status "ok"); a failure is allowed when not ``required``."""
    mode = mode_record["mode"]
    where = f"{model}/{mode}"
    if mode_record.get("status") == "ok":
        return CheckResult(REQUIRE_CONVERSION, model, mode, True, "ok", required,
                           f"{where}: converted and ran ({REQUIRE_CONVERSION})")
    stage = mode_record.get("stage") or "convert"
    error = mode_record.get("error") or "no error message recorded"
    if required:
        return CheckResult(REQUIRE_CONVERSION, model, mode, False, "failed", required,
                           f"{where}: failed at stage {stage}: {error} ({REQUIRE_CONVERSION})")
    return CheckResult(REQUIRE_CONVERSION, model, mode, True, "failed", required,
                       f"{where}: failed at stage {stage} (allowed: {REQUIRE_CONVERSION} = "
                       f"false): {error}")


def check_one(model: str, mode_record: dict[str, Any], limits: Limits,
              name: str) -> CheckResult | None:
    """Run the check ``name`` on one record; ``None`` when its limit is off or it cannot apply.

    A numeric check does not apply to a failed mode that never measured its metric (the
    conversion check already fails for it).
    """
    if name == REQUIRE_CONVERSION:
        return check_conversion(model, mode_record, limits.require_conversion)
    try:
        check = CHECKS[name]
    except KeyError:
        raise ConfigError(f"Unknown check. Received: {name!r}. Expected one of: "
                          f"{', '.join(THRESHOLD_NAMES)}.") from None
    limit = getattr(limits, name)
    if limit is None:
        return None
    if mode_record.get("status") != "ok" and mode_record.get(check.section) is None:
        return None
    return check(model, mode_record, limit)


def check_record(model: str, mode_record: dict[str, Any], limits: Limits) -> list[CheckResult]:
    """Every applicable check for one model/mode record, conversion first."""
    out = []
    for name in THRESHOLD_NAMES:
        r = check_one(model, mode_record, limits, name)
        if r is not None:
            out.append(r)
    return out


def evaluate(doc: dict[str, Any], thresholds: Thresholds | None = None) -> list[CheckResult]:
    """Evaluate every model/mode of a results document against ``thresholds``."""
    thresholds = thresholds or Thresholds()
    out: list[CheckResult] = []
    for model in doc.get("models", []):
        for rec in model.get("modes", []):
            out.extend(check_record(model["name"], rec, thresholds.limits(model["name"],
                                                                          rec["mode"])))
    return out


def apply(doc: dict[str, Any], thresholds: Thresholds | None = None) -> list[CheckResult]:
    """Evaluate ``doc`` and store the results in ``doc["gates"]`` (read by the reports)."""
    results = evaluate(doc, thresholds)
    doc["gates"] = [r.to_dict() for r in results]
    return results


def failure_lines(results: Iterable[CheckResult | dict[str, Any]]) -> list[str]:
    """The lines of the failed checks (results or their dict form), in order."""
    lines = []
    for r in results:
        if isinstance(r, dict):
            if r.get("passed", True) is False:  # entries without a verdict never fail
                lines.append(str(r.get("line") or r))
        elif not r.passed:
            lines.append(r.line)
    return lines


def enforce(results: Iterable[CheckResult | dict[str, Any]]) -> None:
    """Raise one :class:`GateError` holding every failure line, if any check failed."""
    lines = failure_lines(results)
    if lines:
        raise GateError(lines)


def document_failures(doc: dict[str, Any]) -> list[str]:
    """Every failure line recorded in a document: its gates, then its baseline comparison."""
    lines = failure_lines(doc.get("gates") or [])
    base = doc.get("baseline") or {}
    lines += failure_lines(base.get("changes") or [])
    return lines


def default_limits_table() -> list[tuple[str, dict[str, Any]]]:
    """``(mode, limits)`` rows of the built-in defaults, for documentation and ``--help``."""
    from tflbench.modes import MODES

    return [(m, Thresholds().limits("*", m).to_dict()) for m in MODES]
