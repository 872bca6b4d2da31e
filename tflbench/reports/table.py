"""One row per (model, mode, device): the extraction every renderer shares.

Renderers never dig into the results document themselves; they call :func:`build_rows`,
:func:`model_infos`, :func:`latency_series`, :func:`class_drops`, :func:`significant_classes`,
:func:`notes` and :func:`verdict` and format the values with the ``fmt_*`` helpers, so the
terminal, Markdown and HTML reports always show the same numbers, with the same intervals,
significance marks and notes.

Every figure is read defensively: documents of schema version 1 have no intervals, tests,
calibration record or ``n_eval``; their rows show the point figures and :func:`notes` says the
intervals were not recorded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tflbench.modes import MODES

DASH = "—"
MINUS = "\u2212"
#: Significance level of the marks: the paired change (exact McNemar) and the per-class change
#: (after Holm's correction across classes).
ALPHA = 0.05
#: Marks the accuracy change of a mode when McNemar's p < ALPHA.
SIGNIFICANT = "*"
#: Marks a class whose change is significant after Holm's correction.
CLASS_SIGNIFICANT = "\u2020"

INTERVAL_NOTE = ("[lo, hi]: 95% interval (Wilson for accuracy and agreement, Newcombe's paired "
                 "interval for Δ acc)")
SIGNIFICANT_NOTE = f"{SIGNIFICANT} McNemar p < {ALPHA:g} (exact, paired on the same samples)"
CLASS_NOTE = (f"{CLASS_SIGNIFICANT} the class's change is significant after Holm's correction "
              f"across classes (p < {ALPHA:g})")
NO_INTERVALS_NOTE = ("Intervals and significance tests were not recorded in these results "
                     "(schema version 1); re-run with this tflbench to get them")


@dataclass(frozen=True)
class Row:
    """The numbers one report row shows for one mode of one model on one device."""

    model: str
    mode: str
    device: str
    status: str
    error: str | None
    stage: str | None
    keras_accuracy: float | None
    top1: float | None
    top_k: float | None
    k: int | None
    accuracy: float | None
    accuracy_delta: float | None
    worst_class: str | None
    worst_class_delta: float | None
    size_bytes: int | None
    size_ratio: float | None
    p50_us: float | None
    p90_us: float | None
    p99_us: float | None
    threads: int | None
    samples: tuple[float, ...]
    latency_warnings: tuple[str, ...]
    #: Rows this mode was evaluated on (its agreement's n, else the model's n_eval).
    n: int | None = None
    top1_ci95: tuple[float, float] | None = None
    accuracy_ci95: tuple[float, float] | None = None
    #: Newcombe interval of accuracy_delta (candidate minus Keras, same rows).
    delta_ci95: tuple[float, float] | None = None
    mcnemar_p: float | None = None
    #: Discordant counts: Keras right and this mode wrong, and the reverse.
    lost: int | None = None
    gained: int | None = None
    output_kind: str | None = None
    #: The classes whose change is significant after Holm, with their change.
    significant_classes: tuple[tuple[str, float | None], ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def significant(self) -> bool:
        """True when the accuracy change is larger than chance (McNemar p < :data:`ALPHA`)."""
        return self.mcnemar_p is not None and self.mcnemar_p < ALPHA

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.model, self.mode, self.device)

    @property
    def accuracy_drop(self) -> float | None:
        """Keras accuracy minus this mode's accuracy (positive = worse than Keras)."""
        return None if self.accuracy_delta is None else -self.accuracy_delta


@dataclass(frozen=True)
class LatencySeries:
    """One latency measurement (main or sweep entry) with its raw samples."""

    model: str
    mode: str
    device: str
    threads: int | None
    xnnpack: bool | None
    median: float | None
    p90: float | None
    samples: tuple[float, ...]

    @property
    def label(self) -> str:
        parts = [self.mode]
        if self.threads is not None:
            parts.append(f"{self.threads}t")
        if self.xnnpack is False:
            parts.append("no-xnnpack")
        return " ".join(parts)


@dataclass(frozen=True)
class ClassDrop:
    """A class whose accuracy fell under one mode, and the class it is now mistaken for."""

    model: str
    mode: str
    device: str
    index: int
    name: str
    keras_accuracy: float | None
    accuracy: float | None
    delta: float
    confused_with: str | None
    confused_extra: int
    #: every device showing this same drop (merged documents repeat it per device)
    devices: tuple[str, ...] = ()
    delta_ci95: tuple[float, float] | None = None
    holm_p: float | None = None
    significant: bool = False


@dataclass(frozen=True)
class Reference:
    """The Keras reference of one model on the rows one device evaluated."""

    device: str | None
    n_eval: int | None
    keras_accuracy: float | None
    keras_ci95: tuple[float, float] | None


@dataclass(frozen=True)
class ModelInfo:
    """What every report says about one model besides its rows."""

    name: str
    #: One entry, or one per device when the devices evaluated different rows.
    references: tuple[Reference, ...]
    #: "full-integer modes calibrated on ..." (None when the model has no full-integer mode).
    calibration: str | None
    #: The calibration samples were drawn from the evaluation set.
    calibration_overlaps: bool
    #: "the model outputs logits: ..." (None for probabilities or when not recorded).
    logits: str | None
    #: "inputs: uint8 values -> float32, preprocessing 'unit', x * 0.00392157" when the data's
    #: raw values were scaled on the way in (None otherwise).
    inputs: str | None = None

    @property
    def n_eval(self) -> int | None:
        return self.references[0].n_eval if self.references else None


@dataclass(frozen=True)
class Verdict:
    passed: bool
    line: str
    failures: tuple[str, ...]


# --- small accessors -------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ci(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    lo, hi = _num(value[0]), _num(value[1])
    return None if lo is None or hi is None else (lo, hi)


def _samples(latency: dict[str, Any]) -> tuple[float, ...]:
    raw = latency.get("samples")
    if not isinstance(raw, list):
        return ()
    return tuple(v for v in (_num(s) for s in raw) if v is not None)


def record_device(doc: dict[str, Any], mode: dict[str, Any]) -> str:
    """The device a mode record was measured on (merged records carry their own)."""
    dev = mode.get("device")
    if isinstance(dev, str) and dev:
        return dev
    return str(doc.get("device") or "host")


def devices(doc: dict[str, Any]) -> list[str]:
    """Every device label in document order."""
    seen: list[str] = []
    for entry in doc.get("devices") or []:
        if isinstance(entry, dict) and isinstance(entry.get("device"), str):
            if entry["device"] not in seen:
                seen.append(entry["device"])
    for model in doc.get("models", []):
        for mode in model.get("modes", []):
            d = record_device(doc, mode)
            if d not in seen:
                seen.append(d)
    if not seen:
        seen.append(str(doc.get("device") or "host"))
    return seen


def class_names(model: dict[str, Any]) -> list[str]:
    names = _obj(model.get("dataset")).get("class_names")
    if isinstance(names, list):
        return [str(n) for n in names]
    acc = _obj(model.get("keras")).get("per_class_accuracy")
    return [str(i) for i in range(len(acc))] if isinstance(acc, list) else []


def mode_order(names: Iterable[str]) -> dict[str, int]:
    order = {name: i for i, name in enumerate(MODES)}
    for name in names:
        order.setdefault(name, len(order))
    return order


def ordered_modes(doc: dict[str, Any], model: dict[str, Any]) -> list[dict[str, Any]]:
    """The model's mode records sorted by registry order, then device order."""
    recs = [r for r in model.get("modes", []) if isinstance(r, dict)]
    order = mode_order(r["mode"] for r in recs)
    dev_order = {d: i for i, d in enumerate(devices(doc))}
    return sorted(recs, key=lambda r: (order[r["mode"]],
                                       dev_order.get(record_device(doc, r), len(dev_order))))


def _threads(doc: dict[str, Any], mode: dict[str, Any], latency: dict[str, Any]) -> int | None:
    t = _int(latency.get("threads"))
    if t is not None:
        return t
    settings = _obj(mode.get("settings")) or _obj(doc.get("settings"))
    return _int(settings.get("num_threads"))


def _model_n(dataset: dict[str, Any], keras: dict[str, Any]) -> int | None:
    """Rows evaluated: ``n_eval``, else (schema 1) the Keras reference's class support."""
    n = _int(dataset.get("n_eval"))
    if n is not None:
        return n
    support = keras.get("support")
    if isinstance(support, list) and support:
        counts = [_int(v) for v in support]
        if all(c is not None for c in counts):
            return sum(c for c in counts if c is not None)
    return None


def _device_models(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(device, model) -> the per-device summary a merge recorded in ``devices[].models``."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in doc.get("devices") or []:
        if not isinstance(entry, dict):
            continue
        for name, info in _obj(entry.get("models")).items():
            if isinstance(info, dict):
                out[(str(entry.get("device")), str(name))] = info
    return out


def _reference(device: str | None, dataset: dict[str, Any],
               keras: dict[str, Any]) -> Reference:
    return Reference(device=device, n_eval=_model_n(dataset, keras),
                     keras_accuracy=_num(keras.get("accuracy")), keras_ci95=_ci(keras.get("ci95")))


def references(doc: dict[str, Any], model: dict[str, Any]) -> tuple[Reference, ...]:
    """The model's Keras reference and rows evaluated: one entry, or one per device of a merged
    document when the devices evaluated different rows (a device runs the bundle's subset)."""
    own = _reference(None, _obj(model.get("dataset")), _obj(model.get("keras")))
    per_device = _device_models(doc)
    name = str(model.get("name"))
    refs = []
    for dev in devices(doc):
        info = per_device.get((dev, name))
        if info is not None:
            refs.append(_reference(dev, _obj(info.get("dataset")), _obj(info.get("keras"))))
    if not refs or all((r.n_eval, r.keras_accuracy) == (refs[0].n_eval, refs[0].keras_accuracy)
                       for r in refs):
        if refs and own.n_eval is None and own.keras_accuracy is None:
            return (replace(refs[0], device=None),)
        return (own,)
    return tuple(refs)


def _reference_for(refs: Sequence[Reference], device: str) -> Reference:
    return next((r for r in refs if r.device == device), refs[0])


def _significant_classes(accuracy: dict[str, Any]) -> tuple[tuple[str, float | None], ...]:
    out = []
    for change in accuracy.get("per_class_change") or []:
        if isinstance(change, dict) and change.get("significant") is True:
            out.append((str(change.get("name", change.get("index"))), _num(change.get("delta"))))
    return tuple(out)


def build_rows(doc: dict[str, Any]) -> list[Row]:
    """One :class:`Row` per mode record, models in document order, modes in registry order."""
    rows: list[Row] = []
    for model in doc.get("models", []):
        refs = references(doc, model)
        for rec in ordered_modes(doc, model):
            agreement = _obj(rec.get("agreement"))
            accuracy = _obj(rec.get("accuracy"))
            worst = _obj(accuracy.get("worst_class"))
            file = _obj(rec.get("file"))
            latency = _obj(rec.get("latency"))
            error = rec.get("error")
            device = record_device(doc, rec)
            ref = _reference_for(refs, device)
            n = _int(agreement.get("n"))
            kind = agreement.get("output_kind")
            rows.append(Row(
                model=str(model["name"]),
                mode=str(rec["mode"]),
                device=device,
                status=str(rec.get("status")),
                error=" ".join(str(error).split()) if error else None,
                stage=str(rec["stage"]) if rec.get("stage") else None,
                keras_accuracy=ref.keras_accuracy,
                top1=_num(agreement.get("top1")),
                top_k=_num(agreement.get("top_k")),
                k=_int(agreement.get("k")),
                accuracy=_num(accuracy.get("accuracy")),
                accuracy_delta=_num(accuracy.get("accuracy_delta")),
                worst_class=str(worst["name"]) if worst.get("name") is not None else None,
                worst_class_delta=_num(worst.get("delta")),
                size_bytes=_int(file.get("size_bytes")),
                size_ratio=_num(file.get("size_ratio")),
                p50_us=_num(latency.get("median")),
                p90_us=_num(latency.get("p90")),
                p99_us=_num(latency.get("p99")),
                threads=_threads(doc, rec, latency),
                samples=_samples(latency),
                latency_warnings=tuple(str(w) for w in latency.get("warnings") or []),
                n=n if n is not None else (ref.n_eval if rec.get("status") == "ok" else None),
                top1_ci95=_ci(agreement.get("top1_ci95")),
                accuracy_ci95=_ci(accuracy.get("ci95")),
                delta_ci95=_ci(accuracy.get("delta_ci95")),
                mcnemar_p=_num(accuracy.get("mcnemar_p")),
                lost=_int(accuracy.get("lost")),
                gained=_int(accuracy.get("gained")),
                output_kind=str(kind) if isinstance(kind, str) else None,
                significant_classes=_significant_classes(accuracy),
            ))
    return rows


def _full_integer_modes() -> set[str]:
    return {name for name, m in MODES.items() if m.needs_representative_data}


def calibration_note(doc: dict[str, Any], model: dict[str, Any]) -> tuple[str | None, bool]:
    """Where the model's full-integer modes got their calibration samples, as one phrase, and
    whether those samples came from the evaluation set. ``(None, False)`` when the model has no
    full-integer mode."""
    if not any(r.get("mode") in _full_integer_modes() for r in model.get("modes", [])
               if isinstance(r, dict)):
        return None, False
    cal = _obj(_obj(model.get("dataset")).get("calibration"))
    if not cal:
        for info in _device_models(doc).values():
            cal = _obj(_obj(info.get("dataset")).get("calibration"))
            if cal:
                break
    head = "full-integer modes calibrated on"
    if not cal:
        k = _int(_obj(doc.get("settings")).get("representative_samples"))
        size = f"up to {k:,} representative samples" if k else "representative samples"
        return f"{head} {size} (where they came from was not recorded)", False
    n = _int(cal.get("n"))
    size = f"{n:,} samples" if n is not None else "samples"
    source = " ".join(str(cal.get("source") or "an unrecorded source").split())
    disjoint = cal.get("disjoint")
    if disjoint is False:
        return (f"{head} {size} sampled from the evaluation set (not disjoint: the "
                "full-integer accuracy may be optimistic)"), True
    if source.split(" ", 1)[0] in ("training", "validation", "test", "evaluation"):
        source = "the " + source
    if disjoint is True:
        return f"{head} {size} of {source}", False
    return f"{head} {size} of {source} (overlap with the evaluated rows not checked)", False


def logits_note(model: dict[str, Any]) -> str | None:
    """A note when the model outputs logits: its probability metrics compare softmax(logits)."""
    kinds = {_obj(model.get("keras")).get("output_kind")}
    kinds |= {_obj(r.get("agreement")).get("output_kind") for r in model.get("modes", [])
              if isinstance(r, dict)}
    if "logits" not in kinds:
        return None
    return ("outputs are logits: the probability metrics (mean and max abs difference, "
            "KL divergence, cosine, SQNR) compare softmax(logits); the raw logits' SQNR is "
            "recorded as logit_sqnr_db")


def model_infos(doc: dict[str, Any]) -> list[ModelInfo]:
    """One :class:`ModelInfo` per model, in document order."""
    out = []
    for model in doc.get("models", []):
        cal, overlaps = calibration_note(doc, model)
        from tflbench.inputs import preprocessing_line

        pre = (model.get("dataset") or {}).get("preprocessing")
        out.append(ModelInfo(name=str(model["name"]), references=references(doc, model),
                             calibration=cal, calibration_overlaps=overlaps,
                             logits=logits_note(model),
                             inputs=preprocessing_line(pre) if isinstance(pre, dict) else None))
    return out


def latency_series(doc: dict[str, Any], model_name: str) -> list[LatencySeries]:
    """Every latency measurement of one model: the main one plus each sweep entry, deduplicated."""
    out: list[LatencySeries] = []
    seen: set[tuple[str, str, int | None, bool | None]] = set()
    for model in doc.get("models", []):
        if model.get("name") != model_name:
            continue
        for rec in ordered_modes(doc, model):
            if rec.get("status") != "ok":
                continue
            device = record_device(doc, rec)
            entries = [_obj(rec.get("latency"))]
            entries += [_obj(e) for e in rec.get("latency_sweep") or []]
            for lat in entries:
                if not lat:
                    continue
                xnn = lat.get("xnnpack")
                s = LatencySeries(
                    model=model_name, mode=str(rec["mode"]), device=device,
                    threads=_threads(doc, rec, lat),
                    xnnpack=xnn if isinstance(xnn, bool) else None,
                    median=_num(lat.get("median")), p90=_num(lat.get("p90")),
                    samples=_samples(lat),
                )
                key = (s.mode, s.device, s.threads, s.xnnpack)
                if key in seen:
                    continue
                seen.add(key)
                out.append(s)
    return out


def _class_change(accuracy: dict[str, Any], index: int) -> dict[str, Any]:
    changes = accuracy.get("per_class_change")
    if not isinstance(changes, list):
        return {}
    for c in changes:
        if isinstance(c, dict) and c.get("index") == index:
            return c
    return _obj(changes[index]) if index < len(changes) else {}


def _collect_classes(doc: dict[str, Any], keep: Any) -> list[ClassDrop]:
    """A :class:`ClassDrop` for every (model, mode, class) whose change ``keep(delta, change)``
    accepts, with the class's interval and Holm p when recorded."""
    out: list[ClassDrop] = []
    per_device = _device_models(doc)
    for model in doc.get("models", []):
        names = class_names(model)
        for rec in ordered_modes(doc, model):
            device = record_device(doc, rec)
            keras = _obj(_obj(per_device.get((device, str(model.get("name"))))).get("keras"))
            if "per_class_accuracy" not in keras:
                keras = _obj(model.get("keras"))
            keras_pca = keras.get("per_class_accuracy") or []
            keras_conf = keras.get("confusion")
            acc = _obj(rec.get("accuracy"))
            deltas = acc.get("per_class_delta")
            if rec.get("status") != "ok" or not isinstance(deltas, list):
                continue
            pca = acc.get("per_class_accuracy") or []
            conf = acc.get("confusion")
            for i, d in enumerate(deltas):
                dv = _num(d)
                change = _class_change(acc, i)
                if dv is None or not keep(dv, change):
                    continue
                target, extra = _confused_with(keras_conf, conf, i, names)
                out.append(ClassDrop(
                    model=str(model["name"]), mode=str(rec["mode"]),
                    device=device, index=i,
                    name=names[i] if i < len(names) else str(i),
                    keras_accuracy=_num(keras_pca[i]) if i < len(keras_pca) else None,
                    accuracy=_num(pca[i]) if i < len(pca) else None,
                    delta=dv, confused_with=target, confused_extra=extra,
                    delta_ci95=_ci(change.get("delta_ci95")),
                    holm_p=_num(change.get("holm_p")),
                    significant=change.get("significant") is True,
                ))
    out.sort(key=lambda c: (c.delta, c.model, c.mode, c.device, c.index))
    unique: dict[tuple[str, str, int, float, float | None], ClassDrop] = {}
    for c in out:  # a merged document repeats the same accuracy once per device
        key = (c.model, c.mode, c.index, c.delta, c.accuracy)
        prev = unique.get(key)
        unique[key] = replace(c, devices=(prev.devices if prev else ()) + (c.device,))
    return list(unique.values())


def class_drops(doc: dict[str, Any], limit: int = 5, min_drop: float = 1e-9) -> list[ClassDrop]:
    """The classes that lost the most accuracy under any mode, worst first.

    ``confused_with`` is the predicted class whose count grew most in that class's confusion row
    compared with the Keras reference. ``significant`` marks a change that is significant after
    Holm's correction across the classes of that mode (schema 2).
    """
    return _collect_classes(doc, lambda d, _c: d <= -min_drop)[:limit]


def significant_classes(doc: dict[str, Any]) -> list[ClassDrop]:
    """Every class whose change (loss or gain) is significant after Holm, largest loss first."""
    return _collect_classes(doc, lambda _d, c: c.get("significant") is True)


def failed_groups(rows: Sequence[Row]) -> list[tuple[Row, list[str]]]:
    """Failed rows grouped by (model, mode, stage, error), with the devices each failed on."""
    groups: dict[tuple[str, str, str | None, str | None], tuple[Row, list[str]]] = {}
    for r in rows:
        if r.ok:
            continue
        key = (r.model, r.mode, r.stage, r.error)
        if key in groups:
            groups[key][1].append(r.device)
        else:
            groups[key] = (r, [r.device])
    return list(groups.values())


def _confused_with(reference: Any, candidate: Any, row: int,
                   names: Sequence[str]) -> tuple[str | None, int]:
    try:
        ref = [int(v) for v in reference[row]]
        cand = [int(v) for v in candidate[row]]
    except (TypeError, IndexError, ValueError):
        return None, 0
    best, best_gain = None, 0
    for j, (a, b) in enumerate(zip(ref, cand, strict=False)):
        if j != row and b - a > best_gain:
            best, best_gain = j, b - a
    if best is None:
        return None, 0
    return (names[best] if best < len(names) else str(best)), best_gain


def verdict(doc: dict[str, Any], rows: Sequence[Row] | None = None) -> Verdict:
    """Pass/fail with one line: from ``doc["gates"]`` when present, else from failed modes.

    A recommendation in the document that found no mode meeting the limits also fails.
    """
    rows = build_rows(doc) if rows is None else rows
    failures: list[str] = []
    gates = doc.get("gates")
    if isinstance(gates, list) and gates:
        failed = [g for g in gates if isinstance(g, dict) and not g.get("passed")]
        failures += [str(g.get("line") or g.get("name") or "gate failed") for g in failed]
        head = (f"{len(failed)} of {len(gates)} gates failed" if failed
                else f"all {len(gates)} gates passed")
    else:
        failed_rows = [r for r in rows if not r.ok]
        failures += [f"{r.model} / {r.mode}" + (f" on {', '.join(on)}" if _multi(rows) else "")
                     + f": {r.error or 'failed'}" for r, on in failed_groups(rows)]
        head = (f"{len(failed_rows)} of {len(rows)} modes failed" if failed_rows
                else f"all {len(rows)} modes ran")
    rec = doc.get("recommendation")
    if isinstance(rec, dict):
        for name, r in rec.items():
            if isinstance(r, dict) and r.get("mode") is None and r.get("limits"):
                failures.append(f"{name}: {r.get('reason')}")
                head += f"; no mode of {name} meets the limits"
    passed = not failures
    return Verdict(passed=passed, line=("PASS" if passed else "FAIL") + f": {head}",
                   failures=tuple(failures))


def _multi(rows: Sequence[Row]) -> bool:
    return len({r.device for r in rows}) > 1


# --- formatting ------------------------------------------------------------------------------


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return DASH if x is None else f"{100.0 * x:.{digits}f}%"


def fmt_pp(delta: float | None, digits: int = 1) -> str:
    """A signed accuracy difference in percentage points, with a real minus sign."""
    if delta is None:
        return DASH
    v = round(100.0 * delta, digits)
    if v == 0:
        return f"{0:.{digits}f} pp"
    return ("+" if v > 0 else "\u2212") + f"{abs(v):.{digits}f} pp"


def _signed(v: float) -> str:
    return (MINUS if v < 0 else "") + f"{abs(v):.1f}"


def fmt_ci(ci: tuple[float, float] | None, *, signed: bool = False) -> str:
    """A 95% interval of fractions in percent (points), e.g. ``[97.4, 99.6]`` or, for a change,
    ``[−2.4, −0.2]``; empty when not recorded."""
    if ci is None:
        return ""
    lo, hi = (round(100.0 * v, 1) for v in ci)
    if signed:
        return f"[{_signed(lo)}, {_signed(hi)}]"
    return f"[{lo:.1f}, {hi:.1f}]"


def fmt_pct_ci(x: float | None, ci: tuple[float, float] | None) -> str:
    """``98.9% [97.4, 99.6]``: a proportion with its 95% interval (the point alone when the
    interval was not recorded)."""
    if x is None:
        return DASH
    return fmt_pct(x) + (f" {fmt_ci(ci)}" if ci is not None else "")


def fmt_delta(row: Row, *, interval: bool = True) -> str:
    """``−1.1 pp [−2.4, −0.2] *``: the accuracy change, its paired interval and the
    significance mark (McNemar p < :data:`ALPHA`)."""
    if row.accuracy_delta is None:
        return DASH
    text = fmt_pp(row.accuracy_delta)
    if interval and row.delta_ci95 is not None:
        text += " " + fmt_ci(row.delta_ci95, signed=True)
    if row.significant:
        text += " " + SIGNIFICANT
    return text


def fmt_p(p: float | None) -> str:
    if p is None:
        return DASH
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def fmt_class_change(c: ClassDrop) -> str:
    """``−18.5 pp [−33.4, −5.2] †``: a class's change, its interval and the Holm mark."""
    text = fmt_pp(c.delta)
    if c.delta_ci95 is not None:
        text += " " + fmt_ci(c.delta_ci95, signed=True)
    if c.significant:
        text += " " + CLASS_SIGNIFICANT
    return text


def fmt_n(info: ModelInfo) -> str:
    """``n = 270`` or, when devices evaluated different rows, ``n = 270 on build-host, 98 on
    rpi4``."""
    refs = info.references
    if len(refs) == 1:
        return "n = " + (f"{refs[0].n_eval:,}" if refs[0].n_eval is not None else "?")
    return "n = " + ", ".join(
        (f"{r.n_eval:,}" if r.n_eval is not None else "?") + f" on {r.device}" for r in refs)


def fmt_evaluated(info: ModelInfo) -> str:
    """``n = 270 evaluated`` or ``n = 270 evaluated on build-host, 98 on rpi4``."""
    refs = info.references

    def n(r: Reference) -> str:
        return f"{r.n_eval:,}" if r.n_eval is not None else "?"

    if len(refs) == 1:
        return f"n = {n(refs[0])} evaluated"
    return (f"n = {n(refs[0])} evaluated on {refs[0].device}, "
            + ", ".join(f"{n(r)} on {r.device}" for r in refs[1:]))


def fmt_keras(info: ModelInfo) -> str:
    """``Keras accuracy 98.5% [96.3, 99.4]`` (per device when they evaluated different rows)."""
    refs = info.references
    if len(refs) == 1:
        return "Keras accuracy " + fmt_pct_ci(refs[0].keras_accuracy, refs[0].keras_ci95)
    return "Keras accuracy " + ", ".join(
        f"{fmt_pct_ci(r.keras_accuracy, r.keras_ci95)} on {r.device}" for r in refs)


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return DASH
    if abs(n) < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024.0
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
    return DASH  # pragma: no cover


def fmt_ratio(r: float | None) -> str:
    return DASH if r is None else f"{r:.2f}\u00d7"


def fmt_us(us: float | None) -> str:
    if us is None:
        return DASH
    if us >= 10_000:
        return f"{us / 1000.0:.1f} ms"
    if us >= 1000:
        return f"{us / 1000.0:.2f} ms"
    if us >= 100:
        return f"{us:.0f} \u00b5s"
    return f"{us:.1f} \u00b5s"


def fmt_worst(row: Row) -> str:
    """``8 (−11.1 pp)``, marked when the class's change is significant after Holm."""
    if row.worst_class is None or row.worst_class_delta is None or row.worst_class_delta >= 0:
        return DASH  # no class lost accuracy
    mark = (f" {CLASS_SIGNIFICANT}" if any(name == row.worst_class
                                            for name, _ in row.significant_classes) else "")
    return f"{row.worst_class} ({fmt_pp(row.worst_class_delta)}){mark}"


#: (key, header) of the summary table, in order. ``device`` is dropped for one-device documents.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("model", "model"),
    ("mode", "mode"),
    ("device", "device"),
    ("status", "status"),
    ("n", "n"),
    ("agreement", "top-1 agree"),
    ("accuracy", "accuracy"),
    ("delta", "Δ acc"),
    ("worst", "worst class Δ"),
    ("size", "size"),
    ("ratio", "ratio"),
    ("p50", "p50"),
    ("p90", "p90"),
)


def _varying_n(rows: Sequence[Row]) -> bool:
    """True when some model's modes were evaluated on different numbers of rows (a device
    measured the bundle's subset): each row then shows its own n."""
    by_model: dict[str, set[int]] = {}
    for r in rows:
        if r.n is not None:
            by_model.setdefault(r.model, set()).add(r.n)
    return any(len(ns) > 1 for ns in by_model.values())


def columns(rows: Sequence[Row]) -> list[tuple[str, str]]:
    """The summary-table columns for these rows: ``device`` only for several devices, ``n``
    only when a model's rows were evaluated on different numbers of samples."""
    return [c for c in COLUMNS if (c[0] != "device" or _multi(rows))
            and (c[0] != "n" or _varying_n(rows))]


def format_row(row: Row, *, intervals: bool = True) -> dict[str, str]:
    """Every summary-table cell of ``row`` as plain (unescaped) text; accuracy, agreement and
    Δ acc carry their 95% intervals unless ``intervals`` is False."""
    return {
        "model": row.model,
        "mode": row.mode,
        "device": row.device,
        "status": "ok" if row.ok else "FAILED",
        "n": f"{row.n:,}" if row.n is not None else DASH,
        "agreement": fmt_pct_ci(row.top1, row.top1_ci95 if intervals else None),
        "accuracy": fmt_pct_ci(row.accuracy, row.accuracy_ci95 if intervals else None),
        "delta": fmt_delta(row, interval=intervals),
        "worst": fmt_worst(row),
        "size": fmt_bytes(row.size_bytes),
        "ratio": fmt_ratio(row.size_ratio),
        "p50": fmt_us(row.p50_us),
        "p90": fmt_us(row.p90_us),
    }


def fmt_time(created: object) -> str:
    """``2026-11-24T15:00:00+00:00`` as ``2026-11-24 15:00 UTC``."""
    s = str(created or "")
    if len(s) >= 16 and s[10] == "T":
        tail = " UTC" if s.endswith(("+00:00", "Z")) else ""
        return s[:10] + " " + s[11:16] + tail
    return s or DASH


def model_names(doc: dict[str, Any]) -> list[str]:
    return [str(m["name"]) for m in doc.get("models", [])]


def merge_warnings(doc: dict[str, Any]) -> list[str]:
    merged = _obj(doc.get("merged"))
    return [str(w) for w in merged.get("warnings") or []]


def document_warnings(doc: dict[str, Any]) -> list[str]:
    """The document's ``warnings`` (schema 2): lines every report shows near the verdict."""
    raw = doc.get("warnings")
    return [" ".join(str(w).split()) for w in raw] if isinstance(raw, list) else []


def notes(doc: dict[str, Any], rows: Sequence[Row] | None = None) -> list[str]:
    """The footnotes of the results table, in order: what the intervals are, what the marks
    mean (only when used), and that intervals were not recorded (schema 1 rows)."""
    rows = build_rows(doc) if rows is None else rows
    ok = [r for r in rows if r.ok and r.accuracy is not None]
    out = []
    if any(r.accuracy_ci95 or r.top1_ci95 or r.delta_ci95 for r in ok):
        out.append(INTERVAL_NOTE)
    if any(r.significant for r in ok):
        out.append(SIGNIFICANT_NOTE)
    if any(r.significant_classes for r in ok):
        out.append(CLASS_NOTE)
    if any(r.accuracy_ci95 is None and r.delta_ci95 is None for r in ok):
        out.append(NO_INTERVALS_NOTE)
    return out
