"""Changes against a baseline, for the reports: presentation only.

The comparison itself is :func:`tflbench.baseline.compare`; it is stored in ``doc["baseline"]``
(``docs/results-schema.md``, section Baseline) by ``tflbench run``, the pytest plugin and
``tflbench report --baseline``. This module only reads that stored object: :func:`change_rows`
groups its changes into one row per ``(model, mode, device)`` with every cell described, and
:func:`baseline_info` gives the header facts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tflbench.reports.table import devices, fmt_bytes, fmt_pct, fmt_pp, fmt_us, mode_order

# --- rows for the renderers ------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeRow:
    """The changes of one (model, mode, device), each already described in one cell."""

    model: str
    mode: str
    device: str
    status: str
    accuracy: str
    agreement: str
    size: str
    latency: str
    latency_change: int  # +1 significantly slower, -1 significantly faster, 0 otherwise
    passed: bool
    lines: tuple[str, ...]  # failure lines


def arrow(delta: float | None, eps: float = 0.0) -> str:
    if delta is None:
        return ""
    if delta > eps:
        return "▲"
    if delta < -eps:
        return "▼"
    return "="


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def describe_fraction(c: dict[str, Any] | None) -> str:
    """``97.4% → 96.9% ▼ 0.5 pp`` (or ``97.4% (=)``)."""
    if not c:
        return "—"
    before, after = _num(c.get("before")), _num(c.get("after"))
    if before is None or after is None:
        return f"{fmt_pct(before)} → {fmt_pct(after)}"
    delta = after - before
    if abs(delta) < 5e-5:
        return f"{fmt_pct(after)} (=)"
    return f"{fmt_pct(before)} → {fmt_pct(after)} {arrow(delta)} {fmt_pp(abs(delta)).lstrip('+')}"


def describe_size(c: dict[str, Any] | None) -> str:
    if not c:
        return "—"
    before, after = _num(c.get("before")), _num(c.get("after"))
    if before is None or after is None:
        return f"{fmt_bytes(before)} → {fmt_bytes(after)}"
    if before == after:
        return f"{fmt_bytes(after)} (=)"
    s = f"{fmt_bytes(before)} → {fmt_bytes(after)}"
    if before:
        pct = (after / before - 1.0) * 100.0
        s += f" {arrow(pct, 0.05)} {abs(pct):.1f}%"
    return s


def describe_latency(c: dict[str, Any] | None) -> str:
    """``36.0 µs → 40.1 µs ▲ 11.4%, significant (p=0.002)`` or ``..., within noise (p=0.4)``."""
    if not c:
        return "—"
    before, after = _num(c.get("before")), _num(c.get("after"))
    if before is None or after is None:
        return f"{fmt_us(before)} → {fmt_us(after)}"
    s = f"{fmt_us(before)} → {fmt_us(after)}"
    if before > 0:
        pct = (after / before - 1.0) * 100.0
        s += f" {arrow(pct, 0.05)} {abs(pct):.1f}%"
    sig, p = c.get("significant"), _num(c.get("p_value"))
    if sig is None or p is None:
        return s + ", not tested (no samples)"
    return s + (f", significant (p={p:.2g})" if sig else f", within noise (p={p:.2g})")


def change_rows(doc: dict[str, Any]) -> list[ChangeRow]:
    """``doc["baseline"]["changes"]`` grouped into one row per (model, mode, device)."""
    base = doc.get("baseline")
    if not isinstance(base, dict) or not isinstance(base.get("changes"), list):
        return []
    default_device = str(doc.get("device") or "host")
    groups: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for c in base["changes"]:
        if not isinstance(c, dict) or "model" not in c or "mode" not in c:
            continue
        key = (str(c["model"]), str(c["mode"]), str(c.get("device") or default_device))
        groups.setdefault(key, {})[str(c.get("metric"))] = c
    model_order = {str(m["name"]): i for i, m in enumerate(doc.get("models", []))}
    order = mode_order(k[1] for k in groups)
    dev_order = {d: i for i, d in enumerate(devices(doc))}
    keys = sorted(groups, key=lambda k: (model_order.get(k[0], len(model_order)),
                                          order[k[1]], dev_order.get(k[2], len(dev_order))))
    rows = []
    for model, mode, device in keys:
        metrics = groups[(model, mode, device)]
        lat = metrics.get("latency_p50_us")
        direction = 0
        if lat and lat.get("significant"):
            b, a = _num(lat.get("before")), _num(lat.get("after"))
            if b is not None and a is not None:
                direction = 1 if a > b else -1 if a < b else 0
        status = metrics.get("status")
        failed_lines = tuple(str(c.get("line")) for c in metrics.values()
                             if c.get("passed") is False)
        rows.append(ChangeRow(
            model=model, mode=mode, device=device,
            status=(f"{status.get('before')} → {status.get('after')}" if status else ""),
            accuracy=describe_fraction(metrics.get("accuracy")),
            agreement=describe_fraction(metrics.get("top1_agreement")),
            size=describe_size(metrics.get("size_bytes")),
            latency=describe_latency(lat),
            latency_change=direction,
            passed=not failed_lines,
            lines=failed_lines,
        ))
    return rows


def baseline_info(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Header facts of ``doc["baseline"]`` for the renderers (None when absent)."""
    base = doc.get("baseline")
    if not isinstance(base, dict):
        return None
    info = copy.deepcopy({k: base.get(k) for k in ("path", "created", "device", "warnings",
                                                  "missing", "new", "passed", "error")})
    info["source"] = base.get("path") or base.get("source") or "the baseline"
    return info
