"""Quantization sections: per-layer attribution, the tuner's path, calibration sensitivity and
converter vs LiteRT Quantizer modes side by side.

Each function reads only a results document (a mode record's ``extra`` keys ``attribution``,
``tuning`` and ``calibration_sensitivity``, and the records' figures) and returns text: rich
renderables for the terminal, Markdown, or an HTML fragment with inline SVG. ``report.md`` and
``report.html`` can append :func:`markdown_section` and :func:`html_section`; ``tflbench
diagnose`` and ``tflbench tune`` write them as ``quantization.md`` and ``quantization.html``.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from tflbench.modes import COUNTERPARTS
from tflbench.reports.svg import FONT, _clip, _n, esc


def _mode_records(doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for model in doc.get("models", []):
        for rec in model.get("modes", []):
            yield model, rec


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _ci(ci: list[float] | None) -> str:
    return "" if not ci else f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def attribution_rows(attr: dict[str, Any], top: int = 10) -> list[list[str]]:
    """Rank, layer, regained agreement, agreement kept float, agreement with only its weights
    int8, rmse/scale, SQNR, note."""
    rows = []
    for i, e in enumerate(attr.get("layers", [])[:top], 1):
        regained = e.get("regained")
        rows.append([str(i), e["layer"],
                     "–" if regained is None else f"{100 * regained:+.1f} pp",
                     _pct(e.get("agreement_float")), _pct(e.get("agreement_weights_int8")),
                     _num(e.get("rmse_over_scale")), _num(e.get("sqnr_db"), 1),
                     _clip(e.get("note") or "", 60)])
    return rows


ATTRIBUTION_HEADER = ["#", "layer", "regained", "agreement if float",
                      "agreement, only its weights int8", "RMSE/scale", "SQNR dB", "note"]
PATH_HEADER = ["step", "layers kept float", "agreement [95% CI]", "accuracy [95% CI]",
               "size", "latency p90", "gates"]


def path_rows(tuning: dict[str, Any]) -> list[list[str]]:
    rows = []
    for i, s in enumerate(tuning.get("path", [])):
        layers = ", ".join(s.get("float_layers", [])) or "(none)"
        gates = "error: " + s["error"] if s.get("error") else (
            "pass" if s.get("passed") else f"{len(s.get('failures', []))} failed")
        lat = s.get("latency_p90_us")
        rows.append([str(i), layers, _pct(s.get("agreement")) + _ci(s.get("agreement_ci")),
                     _pct(s.get("accuracy")) + _ci(s.get("accuracy_ci")),
                     f"{s['size_bytes']:,} B" if s.get("size_bytes") else "–",
                     "–" if lat is None else f"{lat:,.0f} µs", gates])
    return rows


def counterpart_rows(model: dict[str, Any]) -> list[list[str]]:
    """Each LiteRT Quantizer mode beside its converter counterpart (both must be present)."""
    recs = {r["mode"]: r for r in model.get("modes", [])}
    rows = []
    for lq, conv in COUNTERPARTS.items():
        if lq not in recs or conv not in recs:
            continue
        for name in (conv, lq):
            r = recs[name]
            ag, acc, f, lat = (r.get("agreement") or {}, r.get("accuracy") or {},
                               r.get("file") or {}, r.get("latency") or {})
            rows.append([f"{conv} / {lq}", name, "converter" if name == conv else "quantizer",
                         r.get("status", "ok") if r.get("status") != "ok" else
                         _pct(ag.get("top1")) + _ci(ag.get("top1_ci95")),
                         _pct(acc.get("accuracy")) + _ci(acc.get("ci95")),
                         f"{f['size_bytes']:,} B" if f.get("size_bytes") else "–",
                         "–" if lat.get("p90") is None else f"{lat['p90']:,.0f} µs"])
    return rows


COUNTERPART_HEADER = ["pair", "mode", "tool", "agreement [95% CI]", "accuracy [95% CI]",
                      "size", "latency p90"]


# ----------------------------------------------------------------------------------- terminal


def terminal_tables(doc: dict[str, Any], top: int = 10) -> list[Any]:
    """Rich tables for every attribution, tuning path and counterpart pair in ``doc``."""
    from rich import box
    from rich.table import Table

    out: list[Any] = []

    def table(title: str, header: list[str], rows: list[list[str]]) -> Any:
        t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
        for h in header:
            t.add_column(h, overflow="fold")
        for r in rows:
            t.add_row(*r)
        return t

    for model, rec in _mode_records(doc):
        where = f"{model['name']}/{rec['mode']}"
        extra = rec.get("extra") or {}
        attr = rec.get("attribution") or extra.get("attribution")
        if attr:
            out.append(table(f"{where}: layers by quantization error ({attr['method']}, "
                             f"{attr['n']} {attr['samples']} samples, agreement "
                             f"{_pct(attr['agreement'])})", ATTRIBUTION_HEADER,
                             attribution_rows(attr, top)))
            out.extend(attr.get("notes", []))
        tuning = rec.get("tuning") or extra.get("tuning")
        if tuning:
            out.append(table(f"{where}: tuning path (stopped: {tuning['stopped']})",
                             PATH_HEADER, path_rows(tuning)))
        sens = rec.get("calibration_sensitivity") or extra.get("calibration_sensitivity")
        if sens:
            out.append(table(f"{where}: calibration sensitivity ({sens['n_eval']} samples)",
                             ["calibration samples", "seeds", "agreement min–max",
                              "accuracy min–max"], sensitivity_rows(sens)))
            out.extend(f"warning: {w}" for w in sens.get("warnings", []))
    for model in doc.get("models", []):
        rows = counterpart_rows(model)
        if rows:
            out.append(table(f"{model['name']}: converter vs LiteRT Quantizer",
                             COUNTERPART_HEADER, rows))
    return out


def sensitivity_rows(sens: dict[str, Any]) -> list[list[str]]:
    return [[str(s["size"]), ",".join(map(str, s["seeds"])),
             f"{_pct(s['agreement']['min'])} – {_pct(s['agreement']['max'])}",
             f"{_pct(s['accuracy']['min'])} – {_pct(s['accuracy']['max'])}"]
            for s in sens.get("spread", [])]


# ----------------------------------------------------------------------------------- markdown


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(x: str) -> str:
        return x.replace("|", "\\|").replace("\n", " ")

    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows] + [""])


def markdown_section(doc: dict[str, Any], top: int = 10) -> str:
    """The quantization section of a Markdown report ("" when ``doc`` has none of it)."""
    lines: list[str] = []
    for model, rec in _mode_records(doc):
        where = f"{model['name']}/{rec['mode']}"
        extra = rec.get("extra") or {}
        attr = rec.get("attribution") or extra.get("attribution")
        if attr:
            lines += [f"### {where}: layers by quantization error", "",
                      f"{attr['method']} on {attr['n']} {attr['samples']} samples; quantized "
                      f"top-1 agreement {_pct(attr['agreement'])}. *regained*: agreement gained "
                      "when that layer alone stays float.", ""]
            lines += _md_table(ATTRIBUTION_HEADER, attribution_rows(attr, top))
            lines += [f"- {n}" for n in attr.get("notes", [])] + ([""] if attr.get("notes")
                                                                  else [])
        tuning = rec.get("tuning") or extra.get("tuning")
        if tuning:
            kept = ", ".join(tuning.get("float_layers", [])) or "none"
            lines += [f"### {where}: tuning path", "",
                      f"Stopped: **{tuning['stopped']}**; layers kept float: {kept}."
                      + (f" Recipe: `{tuning['recipe']}`." if tuning.get("recipe") else ""), ""]
            lines += _md_table(PATH_HEADER, path_rows(tuning))
        sens = rec.get("calibration_sensitivity") or extra.get("calibration_sensitivity")
        if sens:
            lines += [f"### {where}: calibration sensitivity", ""]
            lines += _md_table(["calibration samples", "seeds", "agreement min–max",
                                "accuracy min–max"], sensitivity_rows(sens))
            lines += [f"- **warning**: {w}" for w in sens.get("warnings", [])]
            lines += [""] if sens.get("warnings") else []
    for model in doc.get("models", []):
        rows = counterpart_rows(model)
        if rows:
            lines += [f"### {model['name']}: converter vs LiteRT Quantizer", ""]
            lines += _md_table(COUNTERPART_HEADER, rows)
    return ("## Quantization\n\n" + "\n".join(lines)) if lines else ""


# --------------------------------------------------------------------------------------- HTML


def attribution_chart(attr: dict[str, Any], top: int = 10) -> str:
    """Horizontal bars: agreement regained per layer (or rmse/scale when none was probed)."""
    layers = attr.get("layers", [])[:top]
    use_regained = any(e.get("regained") is not None for e in layers)
    key = "regained" if use_regained else "rmse_over_scale"
    values = [max(0.0, float(e.get(key) or 0.0)) * (100 if use_regained else 1) for e in layers]
    unit = "pp agreement regained" if use_regained else "RMSE / scale"
    title = f"{attr['model']}/{attr['mode']}: {unit} per layer kept float"
    row_h, left, width = 20, 150, 560
    height = 40 + row_h * max(1, len(layers)) + 24
    vmax = max(values) if values and max(values) > 0 else 1.0
    parts = [f'<svg class="plot attribution" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{esc(title)}" '
             f'style="{FONT};font-size:11px"><title>{esc(title)}</title>',
             f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" '
             f'font-weight="600">{esc(title)}</text>']
    for i, (e, v) in enumerate(zip(layers, values, strict=True)):
        y = 30 + i * row_h
        w = (width - left - 70) * v / vmax
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">'
                     f'{esc(_clip(e["layer"], 22))}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{_n(w)}" height="{row_h - 6}" '
                     f'fill="{"#d62728" if i == 0 else "#1f77b4"}"/>')
        parts.append(f'<text x="{_n(left + w + 4)}" y="{y + 13}">{v:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def tuning_chart(tuning: dict[str, Any]) -> str:
    """Agreement (with its interval) against the number of layers kept float."""
    path = tuning.get("path", [])
    width, height, left, bottom, top_pad = 560, 260, 56, 40, 30
    title = f"tuning path of {tuning.get('base', '')} (stopped: {tuning.get('stopped', '')})"
    pts = [(len(s.get("float_layers", [])), s.get("agreement"), s.get("agreement_ci"),
            s.get("passed")) for s in path if s.get("agreement") is not None]
    lows = [ci[0] if ci else a for _, a, ci, _ in pts] or [0.0]
    lo = max(0.0, min(lows) - 0.02)
    xmax = max([p[0] for p in pts] + [1])

    def sx(x: float) -> float:
        return left + (width - left - 20) * x / xmax

    def sy(y: float) -> float:
        return top_pad + (height - top_pad - bottom) * (1 - (y - lo) / max(1e-9, 1 - lo))

    parts = [f'<svg class="plot tuning" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{esc(title)}" '
             f'style="{FONT};font-size:11px"><title>{esc(title)}</title>',
             f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" '
             f'font-weight="600">{esc(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 20}" y2="{height - bottom}" '
             'stroke="#999"/>',
             f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{height - bottom}" '
             'stroke="#999"/>',
             f'<text x="{(left + width) / 2}" y="{height - 8}" text-anchor="middle">layers kept '
             'float</text>',
             f'<text x="12" y="{(height) / 2}" transform="rotate(-90 12 {height / 2})" '
             'text-anchor="middle">top-1 agreement</text>']
    for t in (lo, (lo + 1) / 2, 1.0):
        parts.append(f'<text x="{left - 4}" y="{_n(sy(t) + 4)}" text-anchor="end">'
                     f'{100 * t:.1f}%</text>')
    for k in range(xmax + 1):
        parts.append(f'<text x="{_n(sx(k))}" y="{height - bottom + 14}" '
                     f'text-anchor="middle">{k}</text>')
    line = " ".join(f"{_n(sx(x))},{_n(sy(a))}" for x, a, _, _ in pts)
    if line:
        parts.append(f'<polyline points="{line}" fill="none" stroke="#1f77b4"/>')
    for x, a, ci, ok in pts:
        if ci:
            parts.append(f'<line x1="{_n(sx(x))}" y1="{_n(sy(ci[0]))}" x2="{_n(sx(x))}" '
                         f'y2="{_n(sy(ci[1]))}" stroke="#888"/>')
        parts.append(f'<circle cx="{_n(sx(x))}" cy="{_n(sy(a))}" r="4" '
                     f'fill="{"#2ca02c" if ok else "#d62728"}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f'<table class="quantization"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>' \
           "</table>"


def html_section(doc: dict[str, Any], top: int = 10) -> str:
    """The quantization section of an HTML report ("" when ``doc`` has none of it)."""
    parts: list[str] = []
    for model, rec in _mode_records(doc):
        where = html.escape(f"{model['name']}/{rec['mode']}")
        extra = rec.get("extra") or {}
        attr = rec.get("attribution") or extra.get("attribution")
        if attr:
            parts.append(f"<h3>{where}: layers by quantization error</h3>")
            parts.append(f"<p>{html.escape(attr['method'])} on {attr['n']} "
                         f"{html.escape(attr['samples'])} samples; quantized top-1 agreement "
                         f"{_pct(attr['agreement'])}.</p>")
            parts.append(attribution_chart(attr, top))
            parts.append(_html_table(ATTRIBUTION_HEADER, attribution_rows(attr, top)))
            parts += [f"<p>{html.escape(n)}</p>" for n in attr.get("notes", [])]
        tuning = rec.get("tuning") or extra.get("tuning")
        if tuning:
            parts.append(f"<h3>{where}: tuning path</h3>")
            parts.append(tuning_chart(tuning))
            parts.append(_html_table(PATH_HEADER, path_rows(tuning)))
        sens = rec.get("calibration_sensitivity") or extra.get("calibration_sensitivity")
        if sens:
            parts.append(f"<h3>{where}: calibration sensitivity</h3>")
            parts.append(_html_table(["calibration samples", "seeds", "agreement min–max",
                                      "accuracy min–max"], sensitivity_rows(sens)))
            parts += [f'<p class="warning">warning: {html.escape(w)}</p>'
                      for w in sens.get("warnings", [])]
    for model in doc.get("models", []):
        rows = counterpart_rows(model)
        if rows:
            parts.append(f"<h3>{html.escape(model['name'])}: converter vs LiteRT Quantizer</h3>")
            parts.append(_html_table(COUNTERPART_HEADER, rows))
    if not parts:
        return ""
    return '<section class="quantization"><h2>Quantization</h2>' + "".join(parts) + "</section>"


def html_page(doc: dict[str, Any], top: int = 10) -> str:
    """A standalone page holding :func:`html_section`."""
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
             "padding:3px 6px;font-size:13px}.warning{color:#b00}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>tflbench quantization"
            f"</title><style>{style}</style></head><body>{html_section(doc, top)}</body></html>\n")


def write(doc: dict[str, Any], report_dir: Any, top: int = 10) -> dict[str, Any]:
    """Write ``quantization.md`` and ``quantization.html`` into ``report_dir``."""
    from pathlib import Path

    from tflbench.fileio import atomic_write_bytes

    d = Path(report_dir)
    md_path, html_path = d / "quantization.md", d / "quantization.html"
    atomic_write_bytes(md_path, (markdown_section(doc, top) or "No quantization section.\n")
                       .encode())
    atomic_write_bytes(html_path, html_page(doc, top).encode())
    return {"quantization-md": md_path, "quantization-html": html_path}
