"""Changes of a results document against a baseline document (both plain results JSON).

:func:`compare` returns the object stored as ``doc["baseline"]`` and rendered by every report::

    {"source": "base.json", "device": "...", "created": "...",
     "changes": [{"model", "mode", "device", "baseline_device",
                  "status": {"before", "after"},
                  "accuracy": {"before", "after", "delta"},
                  "top1": {"before", "after", "delta"},
                  "size_bytes": {"before", "after", "delta", "ratio"},
                  "p50_us": {"before", "after", "ratio", "p_value", "significant", "test"}}],
     "missing": ["model / mode / device", ...],   # in the baseline only
     "new": [...],                                # in this document only
     "warnings": [...]}

Latency changes are called significant only when both sides have samples and
:func:`tflbench.timing.compare_samples` says so; otherwise ``significant`` is ``None``.
"""

from __future__ import annotations

from typing import Any

from tflbench.reports.table import Row, build_rows, devices, fmt_bytes, fmt_pct, fmt_pp, fmt_us
from tflbench.timing import compare_samples


def _pair(before: float | None, after: float | None) -> dict[str, Any]:
    delta = None if before is None or after is None else after - before
    return {"before": before, "after": after, "delta": delta}


def _latency(before: Row, after: Row, alpha: float) -> dict[str, Any]:
    out: dict[str, Any] = {"before": before.p50_us, "after": after.p50_us, "ratio": None,
                           "p_value": None, "significant": None, "test": None}
    if before.p50_us and after.p50_us is not None:
        out["ratio"] = after.p50_us / before.p50_us
    if before.samples and after.samples:
        cmp = compare_samples(before.samples, after.samples, alpha=alpha)
        out.update(ratio=cmp.ratio_of_medians, p_value=cmp.p_value,
                   significant=bool(cmp.significant), test=cmp.test)
    return out


def compare(doc: dict[str, Any], baseline: dict[str, Any], source: str | None = None,
            alpha: float = 0.05) -> dict[str, Any]:
    """Per ``(model, mode, device)`` changes of ``doc`` against ``baseline``."""
    rows = build_rows(doc)
    base_rows = build_rows(baseline)
    base_by_key = {r.key: r for r in base_rows}
    base_devices = devices(baseline)
    single = len(base_devices) == 1
    base_by_mode = {(r.model, r.mode): r for r in base_rows} if single else {}
    warnings: list[str] = []
    changes: list[dict[str, Any]] = []
    used: set[tuple[str, str, str]] = set()
    new: list[str] = []
    cross_device: set[tuple[str, str]] = set()
    for r in rows:
        b = base_by_key.get(r.key) or base_by_mode.get((r.model, r.mode))
        if b is None:
            new.append(f"{r.model} / {r.mode} / {r.device}")
            continue
        used.add(b.key)
        if b.device != r.device:
            cross_device.add((b.device, r.device))
        size = _pair(b.size_bytes, r.size_bytes)
        size["ratio"] = (r.size_bytes / b.size_bytes
                         if b.size_bytes and r.size_bytes is not None else None)
        changes.append({
            "model": r.model, "mode": r.mode, "device": r.device, "baseline_device": b.device,
            "status": {"before": b.status, "after": r.status},
            "accuracy": _pair(b.accuracy, r.accuracy),
            "top1": _pair(b.top1, r.top1),
            "size_bytes": size,
            "p50_us": _latency(b, r, alpha),
        })
    for before_dev, after_dev in sorted(cross_device):
        warnings.append(f"baseline measured on {before_dev}, this run on {after_dev}: "
                        "latency changes may reflect the machine, not the model")
    missing = [f"{b.model} / {b.mode} / {b.device}" for b in base_rows if b.key not in used]
    bm = {m["name"]: m for m in baseline.get("models", [])}
    for m in doc.get("models", []):
        other = bm.get(m["name"])
        if other is None:
            continue
        fa = (m.get("dataset") or {}).get("fingerprint")
        fb = (other.get("dataset") or {}).get("fingerprint")
        if fa != fb:
            warnings.append(f"{m['name']}: dataset fingerprint differs from the baseline "
                            f"({fb} -> {fa}); accuracy changes are not comparable")
    return {"source": source, "device": baseline.get("device"),
            "created": baseline.get("created"), "changes": changes, "missing": missing,
            "new": new, "warnings": warnings}


# --- one-line descriptions used by the renderers ----------------------------------------


def arrow(delta: float | None, eps: float = 0.0) -> str:
    if delta is None:
        return ""
    if delta > eps:
        return "▲"
    if delta < -eps:
        return "▼"
    return "="


def latency_change(p50: dict[str, Any]) -> str:
    """``36.0 µs → 40.1 µs ▲ 11.4% significant (p=0.002)``."""
    before, after = p50.get("before"), p50.get("after")
    if before is None or after is None:
        return f"{fmt_us(before)} → {fmt_us(after)}"
    ratio = p50.get("ratio")
    pct = (ratio - 1.0) * 100.0 if ratio is not None else None
    head = f"{fmt_us(before)} → {fmt_us(after)}"
    if pct is not None:
        head += f" {arrow(pct, 0.05)} {abs(pct):.1f}%"
    sig = p50.get("significant")
    if sig is None:
        return head + " (no samples to test)"
    return head + (f" significant (p={p50['p_value']:.2g})" if sig
                   else f" within noise (p={p50['p_value']:.2g})")


def accuracy_change(pair: dict[str, Any]) -> str:
    before, after, delta = pair.get("before"), pair.get("after"), pair.get("delta")
    if delta is not None and abs(delta) < 5e-5:
        return f"{fmt_pct(after)} (=)"
    s = f"{fmt_pct(before)} → {fmt_pct(after)}"
    if delta is not None:
        s += f" {arrow(delta, 5e-5)} {fmt_pp(abs(delta)).lstrip('+')}"
    return s


def size_change(pair: dict[str, Any]) -> str:
    before, after, ratio = pair.get("before"), pair.get("after"), pair.get("ratio")
    if before is not None and before == after:
        return f"{fmt_bytes(after)} (=)"
    s = f"{fmt_bytes(before)} → {fmt_bytes(after)}"
    if ratio is not None:
        pct = (ratio - 1.0) * 100.0
        s += f" {arrow(pct, 0.05)} {abs(pct):.1f}%"
    return s
