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
import reprlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from tflbench.errors import ConfigError, GateError
from tflbench.records import ModeRecord, ResultsDocument, iter_mode_records

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
    #: "point" compares point estimates; "confident" fails an accuracy drop only when it is
    #: significant (exact McNemar p < alpha; per class after a Holm correction) and gates
    #: agreement on the lower bound of its 95% interval.
    accuracy_gate: str = "point"
    #: Significance level of the "confident" accuracy gate.
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: Every threshold key a configuration may set.
THRESHOLD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Limits))
#: Keys that say how to gate rather than set a limit.
GATE_SETTINGS = ("accuracy_gate", "alpha")
ACCURACY_GATES = ("point", "confident")

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
# quantization: each LiteRT Quantizer mode gates like its converter counterpart (modes.COUNTERPARTS)
DEFAULT_LIMITS.update({
    "lq-weight-int8": DEFAULT_LIMITS["dynamic"], "lq-dynamic-int8": DEFAULT_LIMITS["dynamic"],
    "lq-weight-int4": {**DEFAULT_LIMITS["*"], "max_size_ratio": 0.75},
    "lq-dynamic-int4": {**DEFAULT_LIMITS["*"], "max_size_ratio": 0.75},
    "lq-static-int8": DEFAULT_LIMITS["int8"], "lq-static-int16x8": DEFAULT_LIMITS["int16x8"],
})


def _shown(value: Any) -> str:
    """``repr(value)`` for a message: shortened, and depth-limited when nested too deeply."""
    try:
        text = repr(value)
    except RecursionError:
        text = reprlib.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_threshold(name: str, value: Any) -> Any:
    """Check one configured threshold; returns the value (``False`` disables a numeric limit).

    Raises :class:`ValueError` with a message saying what was expected and received; the caller
    adds where the value came from.
    """
    if name not in THRESHOLD_NAMES:
        raise ValueError(f"unknown threshold; expected one of: {', '.join(THRESHOLD_NAMES)}")
    if name == REQUIRE_CONVERSION:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false. Received: {_shown(value)}")
        return value
    if name == "accuracy_gate":
        if value not in ACCURACY_GATES:
            raise ValueError(f"expected one of {', '.join(map(repr, ACCURACY_GATES))}. "
                             f"Received: {_shown(value)}")
        return value
    if name == "alpha":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not 0.0 < value < 1.0:
            raise ValueError(f"expected a significance level between 0 and 1. "
                             f"Received: {_shown(value)}")
        return float(value)
    if value is False or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number (or false to disable). Received: {_shown(value)}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer beyond the float range
        finite = False
    if not finite:
        raise ValueError(f"expected a finite number. Received: {_shown(value)}")
    if name in _FRACTIONS and not 0.0 <= value <= 1.0:
        raise ValueError(f"expected a fraction between 0 and 1. Received: {_shown(value)}")
    if name == "max_size_bytes":
        if not isinstance(value, int) or value <= 0:
            raise ValueError("expected a positive whole number of bytes. "
                             f"Received: {_shown(value)}")
        return int(value)
    if name in ("max_size_ratio", "max_latency_p90_us") and value <= 0:
        raise ValueError(f"expected a positive number. Received: {_shown(value)}")
    if name == "max_mean_abs_diff" and value < 0:
        raise ValueError(f"expected a number >= 0. Received: {_shown(value)}")
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
            # quantization: a tuned mode (<base>-tuned) gates like its base by default
            merged.update(DEFAULT_LIMITS.get(mode, DEFAULT_LIMITS.get(
                mode.removesuffix("-tuned"), DEFAULT_LIMITS["*"])))
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


#: ``extract(mode_record, limits)`` -> (value gated, label, explanation after the value).
Extractor = Callable[[ModeRecord, Limits], "tuple[float | None, str, str]"]


@dataclass(frozen=True)
class Check:
    """Compare one measured number of a mode record with one limit.

    ``extract(mode_record, limits)`` returns ``(value, label, detail)``; value ``None`` means
    not measured; ``detail`` (the interval, the test) is printed next to the value.
    ``significant(mode_record, limits)``, when set, must also hold for a failure (the
    "confident" accuracy gate).
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
    significant: Callable[[ModeRecord, Limits], tuple[bool, str]] | None = None

    def __call__(self, model: str, rec: ModeRecord, limits: Limits) -> CheckResult | None:
        limit = getattr(limits, self.name)
        value, label, detail = (None, self.label, "")
        if getattr(rec, self.section) is not None:
            value, label, detail = self.extract(rec, limits)
        where = f"{model}/{rec.mode}"
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if self.missing == "skip":
                return None
            lim = _fmt(limit, self.decimals, self.unit)
            return CheckResult(self.name, model, rec.mode, False, None, limit,
                               f"{where}: {label} not measured (needs {self.name} = {lim})")
        ok = value >= limit if self.kind == "min" else value <= limit
        op = (">=" if ok else "<") if self.kind == "min" else ("<=" if ok else ">")
        m, lim = _fmt_pair(float(value), float(limit), self.decimals, self.unit)
        note = ""
        if not ok and self.significant is not None and limits.accuracy_gate == "confident":
            sig, why = self.significant(rec, limits)
            if not sig:
                ok, note = True, f"; not significant ({why}), passes the confident gate"
            else:
                note = f"; significant ({why})"
        detail = f" {detail}" if detail else ""
        return CheckResult(self.name, model, rec.mode, ok, value, limit,
                           f"{where}: {label} {m}{detail} {op} {lim} ({self.name}){note}")


def _ci(ci: list[float] | None, decimals: int = 3, scale: float = 1.0) -> str:
    if not ci:
        return ""
    lo, hi = sorted((ci[0] * scale, ci[1] * scale))
    return f"[95% CI {lo:.{decimals}f}, {hi:.{decimals}f}]"


def _agreement_top1(r: ModeRecord, limits: Limits) -> tuple[float | None, str, str]:
    a = r.agreement
    assert a is not None
    if limits.accuracy_gate == "confident" and a.top1_ci95:
        return a.top1_ci95[0], "top-1 agreement lower bound", f"(point {a.top1:.3f}, n={a.n:,})"
    return a.top1, "top-1 agreement", f"{_ci(a.top1_ci95)} {_n(a.n)}".strip()


def _n(n: int) -> str:
    return f"(n={n:,})" if n else ""


def _kind(r: ModeRecord) -> str:
    kind = r.agreement.output_kind if r.agreement else None
    return " of softmax(logits)" if kind == "logits" else ""


def _mean_abs_diff(r: ModeRecord, limits: Limits) -> tuple[float | None, str, str]:
    assert r.agreement is not None
    return r.agreement.mean_abs_diff, f"mean |TFLite - Keras|{_kind(r)}", ""


def _sqnr(r: ModeRecord, limits: Limits) -> tuple[float | None, str, str]:
    a = r.agreement
    assert a is not None
    v = a.sqnr_db
    if v is None and a.max_abs_diff == 0:
        v = math.inf  # identical outputs: infinite SQNR, stored as null in JSON
    return v, f"SQNR{_kind(r)}", ""


def _accuracy_drop(r: ModeRecord, limits: Limits) -> tuple[float | None, str, str]:
    acc = r.accuracy
    assert acc is not None
    d = acc.accuracy_delta
    detail = ""
    if acc.delta_ci95:
        detail = _ci([-acc.delta_ci95[1], -acc.delta_ci95[0]])
    if acc.mcnemar_p is not None:
        detail += f" (McNemar p={acc.mcnemar_p:.3g}, lost {acc.lost}, gained {acc.gained})"
    return (None if d is None else 0.0 - float(d)), "accuracy drop", detail.strip()


def _accuracy_significant(r: ModeRecord, limits: Limits) -> tuple[bool, str]:
    p = r.accuracy.mcnemar_p if r.accuracy else None
    if p is None:
        return True, "no paired test recorded"
    return p < limits.alpha, f"McNemar p={p:.3g} {'<' if p < limits.alpha else '>='} " \
                             f"alpha={limits.alpha:g}"


def _class_drop(r: ModeRecord, limits: Limits) -> tuple[float | None, str, str]:
    acc = r.accuracy
    assert acc is not None
    worst = acc.worst_class
    if worst is None or worst.delta is None:
        return None, "worst class accuracy drop", ""
    change = next((c for c in acc.per_class_change or [] if c.index == worst.index), None)
    detail = ""
    if change is not None and change.delta_ci95:
        detail = _ci([-change.delta_ci95[1], -change.delta_ci95[0]])
        detail += f" {_n(change.n)}"
    return 0.0 - float(worst.delta), f"worst class {worst.name!r} accuracy drop", detail


def _class_significant(r: ModeRecord, limits: Limits) -> tuple[bool, str]:
    acc = r.accuracy
    changes = acc.per_class_change if acc else None
    if not changes:
        return True, "no per-class test recorded"
    limit = limits.max_class_accuracy_drop or 0.0
    bad = [c for c in changes if c.delta is not None and -c.delta > limit
           and c.holm_p is not None and c.holm_p < limits.alpha]
    if bad:
        c = bad[0]
        return True, f"class {c.name!r} Holm-adjusted p={c.holm_p:.3g} < alpha={limits.alpha:g}"
    return False, f"no class with a drop over the limit has Holm-adjusted p < {limits.alpha:g}"


def _size_bytes(r: ModeRecord, limits: Limits) -> tuple[float | None, str, str]:
    assert r.file is not None
    return r.file.size_bytes, "file size", ""


def _size_ratio(r: ModeRecord, limits: Limits) -> tuple[float | None, str, str]:
    assert r.file is not None
    return r.file.size_ratio, "size ratio", ""


def _latency_p90(r: ModeRecord, limits: Limits) -> tuple[float | None, str, str]:
    lat = r.latency
    assert lat is not None
    return lat.p90, "latency p90", _n(lat.n)


#: The numeric checks, in report order. The conversion check is separate (it is not a number).
CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        Check("min_top1_agreement", "min", "agreement", "top-1 agreement", _agreement_top1),
        Check("max_accuracy_drop", "max", "accuracy", "accuracy drop", _accuracy_drop,
              significant=_accuracy_significant),
        Check("max_class_accuracy_drop", "max", "accuracy", "worst class accuracy drop",
              _class_drop, significant=_class_significant),
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


def _typed(rec: ModeRecord | Mapping[str, Any]) -> ModeRecord:
    return rec if isinstance(rec, ModeRecord) else ModeRecord.from_dict(rec, "mode record")


def check_conversion(model: str, mode_record: ModeRecord | Mapping[str, Any],
                     required: bool) -> CheckResult:
    """The mode converted and ran (status "ok"); a failure is allowed when not ``required``."""
    rec = _typed(mode_record)
    where = f"{model}/{rec.mode}"
    if rec.ok:
        return CheckResult(REQUIRE_CONVERSION, model, rec.mode, True, "ok", required,
                           f"{where}: converted and ran ({REQUIRE_CONVERSION})")
    stage = rec.stage or "convert"
    error = rec.error or "no error message recorded"
    if required:
        return CheckResult(REQUIRE_CONVERSION, model, rec.mode, False, "failed", required,
                           f"{where}: failed at stage {stage}: {error} ({REQUIRE_CONVERSION})")
    return CheckResult(REQUIRE_CONVERSION, model, rec.mode, True, "failed", required,
                       f"{where}: failed at stage {stage} (allowed: {REQUIRE_CONVERSION} = "
                       f"false): {error}")


def check_one(model: str, mode_record: ModeRecord | Mapping[str, Any], limits: Limits,
              name: str) -> CheckResult | None:
    """Run the check ``name`` on one record; ``None`` when its limit is off or it cannot apply.

    A numeric check does not apply to a failed mode that never measured its metric (the
    conversion check already fails for it).
    """
    rec = _typed(mode_record)
    if name == REQUIRE_CONVERSION:
        return check_conversion(model, rec, limits.require_conversion)
    if name in GATE_SETTINGS:
        return None
    try:
        check = CHECKS[name]
    except KeyError:
        raise ConfigError(f"Unknown check. Received: {name!r}. Expected one of: "
                          f"{', '.join(THRESHOLD_NAMES)}.") from None
    if getattr(limits, name) is None:
        return None
    if not rec.ok and getattr(rec, check.section) is None:
        return None
    if check.section == "latency" and rec.latency is not None and rec.latency.emulated:
        return None  # latency under emulation is no latency figure: never gated
    return check(model, rec, limits)


def check_record(model: str, mode_record: ModeRecord | Mapping[str, Any],
                 limits: Limits) -> list[CheckResult]:
    """Every applicable check for one model/mode record, conversion first."""
    rec = _typed(mode_record)
    out = []
    for name in THRESHOLD_NAMES:
        r = check_one(model, rec, limits, name)
        if r is not None:
            out.append(r)
    return out


def evaluate(doc: ResultsDocument | Mapping[str, Any],
             thresholds: Thresholds | None = None) -> list[CheckResult]:
    """Evaluate every model/mode of a results document against ``thresholds``."""
    thresholds = thresholds or Thresholds()
    out: list[CheckResult] = []
    for model, rec in iter_mode_records(doc):
        checks = check_record(model.name, rec, thresholds.limits(model.name, rec.mode))
        if rec.device is not None:  # a merged document: say which device each line is about
            checks = [replace(c, line=c.line.replace(f"{model.name}/{rec.mode}:",
                                                     f"{model.name}/{rec.mode}@{rec.device}:",
                                                     1)) for c in checks]
        out.extend(checks)
    return out


def apply(doc: dict[str, Any], thresholds: Thresholds | None = None) -> list[CheckResult]:
    """Evaluate ``doc`` and store the results in ``doc["gates"]`` and the resolution warnings
    in ``doc["warnings"]`` (both read by the reports)."""
    results = evaluate(doc, thresholds)
    doc["gates"] = [r.to_dict() for r in results]
    warnings = list(doc.get("warnings") or [])
    from tflbench.resolution import resolution_warnings

    for line in resolution_warnings(doc, thresholds or Thresholds()):
        if line not in warnings:
            warnings.append(line)
    if warnings:
        doc["warnings"] = warnings
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
