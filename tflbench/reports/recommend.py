"""Pick the mode to ship: the smallest (or fastest) one that meets every limit.

:func:`recommend` reads only the results document. For each model it evaluates every mode
against the limits and returns::

    {"model": "digits-cnn", "mode": "int8" | None, "reason": "one readable line",
     "prefer": "size", "limits": {"max_p90_us": 500.0, ...},
     "candidates": [{"mode", "status", "devices", "size_bytes", "size_ratio", "p50_us",
                     "p90_us", "accuracy_drop", "top1_agreement", "meets", "violations"}, ...],
     "unmet": {limit: best value any mode reached}}   # limits no mode meets on its own

In a merged document a mode is judged by its worst device (largest p90, lowest agreement...),
so the recommendation holds on every device measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tflbench.errors import ConfigError
from tflbench.reports.table import Row, build_rows, fmt_bytes, fmt_pct, fmt_pp, fmt_ratio, fmt_us

#: limit name -> (candidate field, "max" or "min", formatter)
LIMITS: dict[str, tuple[str, str, Callable[[float | None], str]]] = {
    "max_size_bytes": ("size_bytes", "max", fmt_bytes),
    "max_size_ratio": ("size_ratio", "max", fmt_ratio),
    "max_p90_us": ("p90_us", "max", fmt_us),
    "max_accuracy_drop": ("accuracy_drop", "max", lambda v: fmt_pp(v).lstrip("+")),
    "min_top1_agreement": ("top1_agreement", "min", fmt_pct),
}

PREFER = ("size", "latency")


def _check_limits(limits: dict[str, float | None]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in limits.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise ConfigError(f"{name} must be a non-negative number. Received: {name}={value!r}.")
        if name in ("max_accuracy_drop", "min_top1_agreement") and value > 1:
            raise ConfigError(f"{name} is a fraction between 0 and 1. Received: {name}={value!r}. "
                              "Write 1% as 0.01 and 99% as 0.99.")
        out[name] = float(value)
    return out


def _worst(values: list[float | None], kind: str) -> float | None:
    if any(v is None for v in values) or not values:
        return None
    vals = [v for v in values if v is not None]
    return max(vals) if kind == "max" else min(vals)


def _candidate(mode: str, rows: list[Row], limits: dict[str, float]) -> dict[str, Any]:
    ok = all(r.ok for r in rows)
    cand: dict[str, Any] = {
        "mode": mode,
        "status": "ok" if ok else "failed",
        "devices": [r.device for r in rows],
        "size_bytes": _worst([r.size_bytes for r in rows], "max"),
        "size_ratio": _worst([r.size_ratio for r in rows], "max"),
        "p50_us": _worst([r.p50_us for r in rows], "max"),
        "p90_us": _worst([r.p90_us for r in rows], "max"),
        "accuracy_drop": _worst([r.accuracy_drop for r in rows], "max"),
        "top1_agreement": _worst([r.top1 for r in rows], "min"),
    }
    if cand["size_bytes"] is not None:
        cand["size_bytes"] = int(cand["size_bytes"])
    violations: dict[str, float | None] = {}
    if not ok:
        violations["status"] = None
    for name, bound in limits.items():
        field, kind, _ = LIMITS[name]
        value = cand[field]
        if value is None or (value > bound + 1e-12 if kind == "max" else value < bound - 1e-12):
            violations[name] = value
    cand["meets"] = not violations
    cand["violations"] = violations
    return cand


def _sort_key(prefer: str) -> Callable[[dict[str, Any]], tuple[float, ...]]:
    inf = math.inf

    def key(c: dict[str, Any]) -> tuple[float, ...]:
        size = c["size_bytes"] if c["size_bytes"] is not None else inf
        p50 = c["p50_us"] if c["p50_us"] is not None else inf
        drop = c["accuracy_drop"] if c["accuracy_drop"] is not None else inf
        return (size, p50, drop) if prefer == "size" else (p50, size, drop)

    return key


def _describe(c: dict[str, Any]) -> str:
    parts = [f"size {fmt_bytes(c['size_bytes'])}"]
    if c["p90_us"] is not None:
        parts.append(f"p90 {fmt_us(c['p90_us'])}")
    if c["accuracy_drop"] is not None:
        parts.append(f"accuracy drop {LIMITS['max_accuracy_drop'][2](c['accuracy_drop'])}")
    if c["top1_agreement"] is not None:
        parts.append(f"top-1 agreement {fmt_pct(c['top1_agreement'])}")
    return ", ".join(parts)


def _precise(field: str, value: float, digits: int) -> str:
    """``value`` of ``field`` with ``digits`` decimals (bytes in full)."""
    if field == "size_bytes":
        return f"{int(round(value))} B"
    if field == "size_ratio":
        return f"{value:.{digits}f}\u00d7"
    if field == "p90_us":
        return f"{value:.{digits}f} \u00b5s"
    if field == "accuracy_drop":
        return fmt_pp(value, digits).lstrip("+")
    return fmt_pct(value, digits)


def distinct_texts(name: str, value: float, bound: float) -> tuple[str, str]:
    """``value`` and the limit ``bound`` of limit ``name`` as texts that differ whenever the
    numbers differ: the usual format, with more decimals when the two would print alike."""
    field, _, fmt = LIMITS[name]
    a, b = fmt(value), fmt(bound)
    if a != b or value == bound:
        return a, b
    for digits in range(1, 10):
        a, b = _precise(field, value, digits), _precise(field, bound, digits)
        if a != b:
            return a, b
    return a, b


def limit_text(name: str, value: float) -> str:
    """``max_p90_us=500`` as ``p90 <= 500 µs``."""
    return f"{label_text(name)} {LIMITS[name][2](value)}"


def label_text(name: str) -> str:
    """``max_p90_us`` as ``p90 ≤``."""
    field, kind, _ = LIMITS[name]
    label = {"size_bytes": "size", "size_ratio": "size ratio", "p90_us": "p90",
             "accuracy_drop": "accuracy drop", "top1_agreement": "top-1 agreement"}[field]
    return f"{label} {'≤' if kind == 'max' else '≥'}"


def recommend_model(rows: list[Row], model: str, limits: dict[str, float],
                    prefer: str) -> dict[str, Any]:
    """The recommendation for one model from its rows (all devices)."""
    by_mode: dict[str, list[Row]] = {}
    for r in rows:
        if r.model == model:
            by_mode.setdefault(r.mode, []).append(r)
    cands = [_candidate(mode, rs, limits) for mode, rs in by_mode.items()]
    key = _sort_key(prefer)
    ok = sorted((c for c in cands if c["status"] == "ok"), key=key)
    cands = ok + [c for c in cands if c["status"] != "ok"]
    meeting = [c for c in ok if c["meets"]]
    word = "smallest" if prefer == "size" else "fastest"
    unmet: dict[str, float | None] = {}
    for name, bound in limits.items():
        field, kind, _ = LIMITS[name]
        vals = [c[field] for c in ok if c[field] is not None]
        best = (min(vals) if kind == "max" else max(vals)) if vals else None
        if best is None or (best > bound + 1e-12 if kind == "max" else best < bound - 1e-12):
            unmet[name] = best
    result: dict[str, Any] = {"model": model, "mode": None, "reason": "", "prefer": prefer,
                              "limits": dict(limits), "candidates": cands, "unmet": unmet}
    if meeting:
        best = meeting[0]
        result["mode"] = best["mode"]
        if limits:
            result["reason"] = (f"{best['mode']} is the {word} mode that meets all limits "
                                f"({_describe(best)})")
        else:
            result["reason"] = (f"no limits given: {best['mode']} is the {word} mode that ran "
                                f"({_describe(best)})")
    elif not ok:
        result["reason"] = "every mode failed: nothing to recommend"
    elif unmet:
        parts = []
        for name, best_value in unmet.items():
            field, kind, fmt = LIMITS[name]
            if best_value is None:
                parts.append(f"{limit_text(name, limits[name])} (not measured)")
                continue
            holder = next(c["mode"] for c in ok if c[field] == best_value)
            best_text, bound_text = distinct_texts(name, best_value, limits[name])
            parts.append(f"{label_text(name)} {bound_text} (best: {best_text} by {holder})")
        result["reason"] = "no mode meets " + "; ".join(parts)
    else:
        closest = min(ok, key=lambda c: (len(c["violations"]), key(c)))
        result["reason"] = ("no single mode meets all limits together; closest: "
                            f"{closest['mode']} (misses "
                            + ", ".join(limit_text(n, limits[n]) for n in closest["violations"])
                            + ")")
    return result


def recommend(doc: dict[str, Any], max_size_bytes: float | None = None,
              max_size_ratio: float | None = None, max_p90_us: float | None = None,
              max_accuracy_drop: float | None = None, min_top1_agreement: float | None = None,
              prefer: str = "size") -> dict[str, dict[str, Any]]:
    """The recommended mode per model, keyed by model name (see the module docstring).

    ``max_accuracy_drop`` and ``min_top1_agreement`` are fractions (0.01 = 1 point).
    """
    if prefer not in PREFER:
        raise ConfigError(f"prefer must be one of {', '.join(PREFER)}. "
                          f"Received: prefer={prefer!r}.")
    limits = _check_limits({
        "max_size_bytes": max_size_bytes, "max_size_ratio": max_size_ratio,
        "max_p90_us": max_p90_us, "max_accuracy_drop": max_accuracy_drop,
        "min_top1_agreement": min_top1_agreement,
    })
    rows = build_rows(doc)
    names = list(dict.fromkeys(r.model for r in rows))
    for m in doc.get("models", []):
        if m["name"] not in names:
            names.append(m["name"])
    return {name: recommend_model(rows, name, limits, prefer) for name in names}
