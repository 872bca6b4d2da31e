"""One row per (model, mode, device): the extraction every renderer shares.

Renderers never dig into the results document themselves; they call :func:`build_rows`,
:func:`latency_series`, :func:`class_drops` and :func:`verdict` and format the values with the
``fmt_*`` helpers, so the terminal, Markdown and HTML reports always show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tflbench.modes import MODES

DASH = "—"


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

    @property
    def ok(self) -> bool:
        return self.status == "ok"

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


def build_rows(doc: dict[str, Any]) -> list[Row]:
    """One :class:`Row` per mode record, models in document order, modes in registry order."""
    rows: list[Row] = []
    for model in doc.get("models", []):
        keras_acc = _num(_obj(model.get("keras")).get("accuracy"))
        for rec in ordered_modes(doc, model):
            agreement = _obj(rec.get("agreement"))
            accuracy = _obj(rec.get("accuracy"))
            worst = _obj(accuracy.get("worst_class"))
            file = _obj(rec.get("file"))
            latency = _obj(rec.get("latency"))
            error = rec.get("error")
            rows.append(Row(
                model=str(model["name"]),
                mode=str(rec["mode"]),
                device=record_device(doc, rec),
                status=str(rec.get("status")),
                error=" ".join(str(error).split()) if error else None,
                stage=str(rec["stage"]) if rec.get("stage") else None,
                keras_accuracy=keras_acc,
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
            ))
    return rows


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


def class_drops(doc: dict[str, Any], limit: int = 5, min_drop: float = 1e-9) -> list[ClassDrop]:
    """The classes that lost the most accuracy under any mode, worst first.

    ``confused_with`` is the predicted class whose count grew most in that class's confusion row
    compared with the Keras reference.
    """
    drops: list[ClassDrop] = []
    for model in doc.get("models", []):
        names = class_names(model)
        keras = _obj(model.get("keras"))
        keras_pca = keras.get("per_class_accuracy") or []
        keras_conf = keras.get("confusion")
        for rec in ordered_modes(doc, model):
            acc = _obj(rec.get("accuracy"))
            deltas = acc.get("per_class_delta")
            if rec.get("status") != "ok" or not isinstance(deltas, list):
                continue
            pca = acc.get("per_class_accuracy") or []
            conf = acc.get("confusion")
            for i, d in enumerate(deltas):
                dv = _num(d)
                if dv is None or dv > -min_drop:
                    continue
                target, extra = _confused_with(keras_conf, conf, i, names)
                drops.append(ClassDrop(
                    model=str(model["name"]), mode=str(rec["mode"]),
                    device=record_device(doc, rec), index=i,
                    name=names[i] if i < len(names) else str(i),
                    keras_accuracy=_num(keras_pca[i]) if i < len(keras_pca) else None,
                    accuracy=_num(pca[i]) if i < len(pca) else None,
                    delta=dv, confused_with=target, confused_extra=extra,
                ))
    drops.sort(key=lambda c: (c.delta, c.model, c.mode, c.device, c.index))
    unique: dict[tuple[str, str, int, float, float | None], ClassDrop] = {}
    for c in drops:  # a merged document repeats the same accuracy once per device
        key = (c.model, c.mode, c.index, c.delta, c.accuracy)
        prev = unique.get(key)
        unique[key] = replace(c, devices=(prev.devices if prev else ()) + (c.device,))
    return list(unique.values())[:limit]


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
    if row.worst_class is None or row.worst_class_delta is None or row.worst_class_delta >= 0:
        return DASH  # no class lost accuracy
    return f"{row.worst_class} ({fmt_pp(row.worst_class_delta)})"


#: (key, header) of the summary table, in order. ``device`` is dropped for one-device documents.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("model", "model"),
    ("mode", "mode"),
    ("device", "device"),
    ("status", "status"),
    ("agreement", "top-1 agree"),
    ("accuracy", "accuracy"),
    ("delta", "Δ acc"),
    ("worst", "worst class Δ"),
    ("size", "size"),
    ("ratio", "ratio"),
    ("p50", "p50"),
    ("p90", "p90"),
)


def columns(rows: Sequence[Row]) -> list[tuple[str, str]]:
    """The summary-table columns for these rows."""
    return [c for c in COLUMNS if c[0] != "device" or _multi(rows)]


def format_row(row: Row) -> dict[str, str]:
    """Every summary-table cell of ``row`` as plain (unescaped) text."""
    return {
        "model": row.model,
        "mode": row.mode,
        "device": row.device,
        "status": "ok" if row.ok else "FAILED",
        "agreement": fmt_pct(row.top1),
        "accuracy": fmt_pct(row.accuracy),
        "delta": fmt_pp(row.accuracy_delta),
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
