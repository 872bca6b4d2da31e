"""Plots as small pure functions returning inline SVG strings (no plotting library).

Every piece of text that reaches the SVG goes through :func:`esc`, so class names, model names
and paths are safe to embed in HTML. The ``<svg>`` elements carry no ``xmlns`` (inline HTML5
SVG needs none; :func:`standalone` adds it for a separate ``.svg`` file). Colours come from CSS
classes where possible so the page stylesheet controls them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"
CHAR_W = 6.4  # approximate width of one 11px character, for layout
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2")

Fmt = Callable[[float], str]


def esc(text: object) -> str:
    """Escape ``text`` for SVG/HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def _n(x: float) -> str:
    """A coordinate with at most 1 decimal."""
    return f"{x:.1f}".rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max(1, max_chars - 1)] + "…"


def standalone(svg: str) -> str:
    """Turn an inline ``<svg`` string into a standalone SVG file's text."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def _open(width: float, height: float, title: str, cls: str) -> list[str]:
    return [f'<svg class="plot {esc(cls)}" viewBox="0 0 {_n(width)} {_n(height)}" '
            f'width="{_n(width)}" height="{_n(height)}" role="img" aria-label="{esc(title)}" '
            f'style="{FONT};font-size:11px">',
            f"<title>{esc(title)}</title>",
            f'<text x="{_n(width / 2)}" y="16" text-anchor="middle" class="plot-title" '
            f'font-size="13" font-weight="600">{esc(title)}</text>']


def _empty(width: float, height: float, title: str, cls: str, message: str) -> str:
    parts = _open(width, height, title, cls)
    parts.append(f'<text x="{_n(width / 2)}" y="{_n(height / 2)}" text-anchor="middle" '
                 f'fill="#777">{esc(message)}</text></svg>')
    return "".join(parts)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + (abs(lo) * 0.1 or 1.0)
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks: list[float] = []
    v = start
    while len(ticks) < 50:
        ticks.append(round(v, 12))
        if v >= hi - step * 1e-9:
            break
        v += step
    return ticks


def log_ticks(lo: float, hi: float, max_ticks: int = 9) -> list[float]:
    """1-2-5 ticks (or powers of ten when too many) covering [lo, hi] (both > 0), log axis."""
    start = math.floor(math.log10(lo))
    stop = math.ceil(math.log10(hi))
    for mults in ((1, 2, 5), (1,)):
        ticks = [m * 10.0**e for e in range(start, stop + 1) for m in mults]
        below = [t for t in ticks if t <= lo]
        above = [t for t in ticks if t >= hi]
        first = below[-1] if below else ticks[0]
        last = above[0] if above else ticks[-1]
        ticks = [t for t in ticks if first <= t <= last]
        if len(ticks) <= max_ticks:
            break
    return ticks


def fmt_compact(v: float) -> str:
    """Axis numbers: 20, 2.5, 10k, 1.5M."""
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def _fmt_default(v: float) -> str:
    return f"{v:g}"


# --- scatter with Pareto frontier ------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    label: str
    x: float
    y: float
    group: str = ""


def pareto_frontier(points: Sequence[Point]) -> list[Point]:
    """Points no other point beats on both axes (lower x and higher y), sorted by x."""
    front = []
    for p in points:
        dominated = any(
            q is not p and q.x <= p.x and q.y >= p.y and (q.x < p.x or q.y > p.y)
            for q in points
        )
        if not dominated:
            front.append(p)
    return sorted(front, key=lambda p: (p.x, -p.y))


def _boxes_overlap(a: tuple[float, float, float, float],
                   b: tuple[float, float, float, float]) -> bool:
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


#: Label positions tried around a marker, nearest first: (dx, dy of the baseline, anchor).
_NEAR = ((10, 4, "start"), (-10, 4, "end"), (0, -12, "middle"), (0, 20, "middle"),
         (10, -9, "start"), (10, 17, "start"), (-10, -9, "end"), (-10, 17, "end"))
#: Positions further up or down, joined to the marker by a leader line.
_FAR = tuple((dx, 4 + sign * step, anchor) for step in (14, 28, 42) for sign in (-1, 1)
             for dx, anchor in ((16, "start"), (-16, "end")))
#: Height of a label box (11px text).
LABEL_H = 12.0


def _label_spot(cx: float, cy: float, w: float, area: tuple[float, float, float, float],
                placed: Sequence[tuple[float, float, float, float]]
                ) -> tuple[tuple[float, float, float, float], str, float, float, bool] | None:
    """The first free box for a label of width ``w`` next to the marker at ``(cx, cy)``:
    ``(box, anchor, x, y, leader)`` with the whole box inside ``area`` and overlapping no box
    of ``placed``; None when every position is taken."""
    for candidates, leader in ((_NEAR, False), (_FAR, True)):
        for dx, dy, anchor in candidates:
            left = cx + dx - (w if anchor == "end" else w / 2 if anchor == "middle" else 0)
            top = cy + dy - LABEL_H + 2
            box = (left, top, left + w, top + LABEL_H)
            inside = (box[0] >= area[0] and box[2] <= area[2] and box[1] >= area[1]
                      and box[3] <= area[3])
            if inside and not any(_boxes_overlap(box, b) for b in placed):
                return box, anchor, cx + dx, cy + dy, leader
    return None


def scatter(points: Sequence[Point], *, title: str, x_label: str, y_label: str,
            x_fmt: Fmt = _fmt_default, y_fmt: Fmt = _fmt_default, width: int = 460,
            height: int = 320, log_x: bool | None = None) -> str:
    """A scatter plot of (x smaller is better, y larger is better) with the Pareto frontier.

    Frontier points get ``class="point frontier"`` and a ring; a dashed step line joins them.
    Points are coloured by ``group`` (device) with a legend when there is more than one group;
    the frontier is computed per group. ``log_x`` (default: when x spans more than 10x) uses a
    logarithmic x axis.
    """
    pts = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    if not pts:
        return _empty(width, height, title, "scatter", "no measured modes")
    groups = list(dict.fromkeys(p.group for p in pts))
    ml, mr, mt, mb = 58, 16, 30 + (16 if len(groups) > 1 else 0), 42
    pw, ph = width - ml - mr, height - mt - mb
    xs, ys = [p.x for p in pts], [p.y for p in pts]
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = min(ys), max(ys)
    if log_x is None:
        log_x = x_lo > 0 and x_hi / x_lo > 10
    ypad = (y_hi - y_lo) * 0.12 or 0.005
    if log_x and x_lo > 0:
        xt = log_ticks(x_lo / 1.15, x_hi * 1.15)
        fx: Callable[[float], float] = math.log10
    else:
        log_x = False
        xpad = (x_hi - x_lo) * 0.08 or abs(x_hi) * 0.1 or 1.0
        xt = nice_ticks(max(0.0, x_lo - xpad) if x_lo >= 0 else x_lo - xpad, x_hi + xpad)

        def fx(v: float) -> float:
            return v

    yt = nice_ticks(y_lo - ypad, min(1.0, y_hi + ypad) if y_hi <= 1.0 else y_hi + ypad)
    x0, x1, y0, y1 = fx(xt[0]), fx(xt[-1]), yt[0], yt[-1]

    def sx(v: float) -> float:
        return ml + (fx(v) - x0) / ((x1 - x0) or 1) * pw

    def sy(v: float) -> float:
        return mt + ph - (v - y0) / ((y1 - y0) or 1) * ph

    out = _open(width, height, title, "scatter")
    if len(groups) > 1:
        lx: float = ml
        for gi, g in enumerate(groups):
            col = PALETTE[gi % len(PALETTE)]
            out.append(f'<circle cx="{_n(lx + 4)}" cy="33" r="4" fill="{col}"/>'
                       f'<text x="{_n(lx + 12)}" y="37">{esc(_clip(g, 24))}</text>')
            lx += 24 + CHAR_W * min(len(g), 24)
    out.append(f'<g class="axes" stroke="#bbb" stroke-width="1">'
               f'<line x1="{ml}" y1="{_n(mt + ph)}" x2="{_n(ml + pw)}" y2="{_n(mt + ph)}"/>'
               f'<line x1="{ml}" y1="{mt}" x2="{ml}" y2="{_n(mt + ph)}"/></g>')
    for t in xt:
        x = sx(t)
        out.append(f'<line x1="{_n(x)}" y1="{mt}" x2="{_n(x)}" y2="{_n(mt + ph)}" '
                   f'stroke="#eee"/><text x="{_n(x)}" y="{_n(mt + ph + 14)}" '
                   f'text-anchor="middle" fill="#555">{esc(x_fmt(t))}</text>')
    for t in yt:
        y = sy(t)
        out.append(f'<line x1="{ml}" y1="{_n(y)}" x2="{_n(ml + pw)}" y2="{_n(y)}" '
                   f'stroke="#eee"/><text x="{ml - 5}" y="{_n(y + 4)}" text-anchor="end" '
                   f'fill="#555">{esc(y_fmt(t))}</text>')
    out.append(f'<text x="{_n(ml + pw / 2)}" y="{height - 6}" text-anchor="middle" '
               f'class="axis-label">{esc(x_label + (" (log scale)" if log_x else ""))}</text>')
    out.append(f'<text transform="translate(13 {_n(mt + ph / 2)}) rotate(-90)" '
               f'text-anchor="middle" class="axis-label">{esc(y_label)}</text>')
    frontier_ids: set[int] = set()
    for gi, g in enumerate(groups):
        front = pareto_frontier([p for p in pts if p.group == g])
        frontier_ids.update(id(p) for p in front)
        if len(front) > 1:
            d = [f"M{_n(sx(front[0].x))},{_n(sy(front[0].y))}"]
            for b in front[1:]:
                d.append(f"H{_n(sx(b.x))}V{_n(sy(b.y))}")
            col = PALETTE[gi % len(PALETTE)] if len(groups) > 1 else "#e45756"
            out.append(f'<path class="frontier-line" d="{"".join(d)}" fill="none" '
                       f'stroke="{col}" stroke-width="1.5" stroke-dasharray="5 3" '
                       f'opacity="0.8"/>')
    # Labels avoid every marker (and its ring), the other labels and the axes: the first
    # free spot next to the point, else one further up or down joined by a leader line; a
    # point with no free spot keeps its name in the tooltip.
    placed: list[tuple[float, float, float, float]] = []
    for p in pts:
        r = 10.0 if id(p) in frontier_ids else 6.0
        placed.append((sx(p.x) - r, sy(p.y) - r, sx(p.x) + r, sy(p.y) + r))
    order = sorted(pts, key=lambda p: (id(p) not in frontier_ids, p.x))
    labels = []
    for p in order:
        gi = groups.index(p.group)
        col = PALETTE[gi % len(PALETTE)]
        cx, cy = sx(p.x), sy(p.y)
        on_front = id(p) in frontier_ids
        tip = (f"{p.label}{' on ' + p.group if p.group else ''}: {x_label} {x_fmt(p.x)}, "
               f"{y_label} {y_fmt(p.y)}{' (Pareto frontier)' if on_front else ''}")
        cls = "point frontier" if on_front else "point"
        ring = (f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="8" fill="none" stroke="#e45756" '
                f'stroke-width="2" class="frontier-marker"/>' if on_front else "")
        out.append(f'<g class="{cls}" data-frontier="{str(on_front).lower()}">'
                   f"<title>{esc(tip)}</title>{ring}"
                   f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="4.5" fill="{col}"/></g>')
        text = _clip(p.label, 18)
        spot = _label_spot(cx, cy, CHAR_W * len(text) * (1.08 if on_front else 1.0),
                           (ml + 2, mt, width - 2, mt + ph), placed)
        if spot is None:
            continue
        box, anchor, tx, ty, leader = spot
        placed.append(box)
        weight = ' font-weight="600"' if on_front else ""
        if leader:
            lx = box[0] - 1 if anchor == "start" else box[2] + 1
            labels.append(f'<line x1="{_n(cx)}" y1="{_n(cy)}" x2="{_n(lx)}" '
                          f'y2="{_n(ty - 4)}" stroke="#999" stroke-width="0.8" '
                          f'class="label-leader"/>')
        labels.append(f'<text x="{_n(tx)}" y="{_n(ty)}" text-anchor="{anchor}" '
                      f'class="point-label" stroke="#fff" stroke-width="3" '
                      f'paint-order="stroke"{weight}>{esc(text)}</text>')
    out.extend(labels)
    out.append("</svg>")
    return "".join(out)


# --- heatmap / confusion matrix -------------------------------------------------------------


def _mix(c0: tuple[int, int, int], c1: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    t = min(1.0, max(0.0, t))
    return (round(c0[0] + (c1[0] - c0[0]) * t), round(c0[1] + (c1[1] - c0[1]) * t),
            round(c0[2] + (c1[2] - c0[2]) * t))


WHITE, BLUE, RED = (255, 255, 255), (33, 102, 172), (203, 24, 29)


def color(value: float | None, vmin: float, vmax: float, diverging: bool) -> str:
    """Fill colour: white->blue (sequential) or red<-white->blue around 0 (diverging)."""
    if value is None or not math.isfinite(value):
        return "#f2f2f2"
    if diverging:
        span = max(abs(vmin), abs(vmax)) or 1.0
        rgb = _mix(WHITE, BLUE, value / span) if value >= 0 else _mix(WHITE, RED, -value / span)
    else:
        rgb = _mix(WHITE, BLUE, (value - vmin) / ((vmax - vmin) or 1.0))
    return f"#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}"


def _text_fill(fill: str) -> str:
    if not fill.startswith("#") or len(fill) != 7:
        return "#222"
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return "#fff" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else "#222"


def heatmap(row_labels: Sequence[str], col_labels: Sequence[str],
            values: Sequence[Sequence[float | None]], *, title: str,
            color_values: Sequence[Sequence[float | None]] | None = None,
            vmin: float | None = None, vmax: float | None = None, diverging: bool = False,
            fmt: Callable[[float | None], str] = lambda v: "" if v is None else f"{v:g}",
            x_title: str = "", y_title: str = "", cell: tuple[int, int] = (40, 24),
            tooltip: Callable[[int, int], str] | None = None, cls: str = "heatmap",
            marks: Sequence[Sequence[bool]] | None = None, mark: str = "\u2020") -> str:
    """A labelled grid: ``values`` are printed, ``color_values`` (default: values) coloured.
    Cells where ``marks`` is true get a dark outline and ``mark`` after their text (class
    ``cell marked``)."""
    if not row_labels or not col_labels:
        return _empty(320, 80, title, cls, "nothing to show")
    cvals = color_values if color_values is not None else values
    flat = [v for row in cvals for v in row if v is not None and math.isfinite(v)]
    lo = vmin if vmin is not None else (min(flat) if flat else 0.0)
    hi = vmax if vmax is not None else (max(flat) if flat else 1.0)
    cw, ch = cell
    row_w = min(22, max(len(s) for s in row_labels)) * CHAR_W + 12
    col_len = min(14, max(len(s) for s in col_labels))
    rotate = col_len * CHAR_W > cw - 4
    head = (col_len * CHAR_W * 0.72 + 14) if rotate else 18
    ml = row_w + (18 if y_title else 0)
    mt = 28 + head + (16 if x_title else 0)
    width = ml + cw * len(col_labels) + 10
    height = mt + ch * len(row_labels) + 8
    out = _open(max(width, len(title) * 7.5 + 20), height, title, cls)
    if x_title:
        out.append(f'<text x="{_n(ml + cw * len(col_labels) / 2)}" y="40" '
                   f'text-anchor="middle" class="axis-label">{esc(x_title)}</text>')
    if y_title:
        out.append(f'<text transform="translate(12 {_n(mt + ch * len(row_labels) / 2)}) '
                   f'rotate(-90)" text-anchor="middle" class="axis-label">{esc(y_title)}</text>')
    for j, lab in enumerate(col_labels):
        x = ml + cw * j + cw / 2
        text = _clip(str(lab), 14)
        if rotate:
            out.append(f'<text transform="translate({_n(x + 3)} {_n(mt - 5)}) rotate(-45)" '
                       f'class="col-label"><title>{esc(lab)}</title>{esc(text)}</text>')
        else:
            out.append(f'<text x="{_n(x)}" y="{_n(mt - 6)}" text-anchor="middle" '
                       f'class="col-label"><title>{esc(lab)}</title>{esc(text)}</text>')
    for i, lab in enumerate(row_labels):
        y = mt + ch * i
        out.append(f'<text x="{_n(ml - 6)}" y="{_n(y + ch / 2 + 4)}" text-anchor="end" '
                   f'class="row-label"><title>{esc(lab)}</title>{esc(_clip(str(lab), 22))}'
                   "</text>")
        for j in range(len(col_labels)):
            v = values[i][j] if j < len(values[i]) else None
            c = cvals[i][j] if j < len(cvals[i]) else None
            fill = color(c, lo, hi, diverging)
            x = ml + cw * j
            tip = tooltip(i, j) if tooltip else f"{row_labels[i]} / {col_labels[j]}: {fmt(v)}"
            marked = bool(marks and i < len(marks) and j < len(marks[i]) and marks[i][j])
            outline = ' stroke="#1d2125" stroke-width="2"' if marked else ""
            text = fmt(v) + (mark if marked else "")
            out.append(f'<g class="cell{" marked" if marked else ""}"><title>{esc(tip)}</title>'
                       f'<rect x="{_n(x)}" y="{_n(y)}" width="{cw - 1}" height="{ch - 1}" '
                       f'fill="{fill}"{outline}/>'
                       f'<text x="{_n(x + cw / 2)}" y="{_n(y + ch / 2 + 4)}" '
                       f'text-anchor="middle" fill="{_text_fill(fill)}" font-size="10">'
                       f"{esc(text)}</text></g>")
    out.append("</svg>")
    return "".join(out)


def confusion_matrix(matrix: Sequence[Sequence[float]], class_names: Sequence[str], *,
                     title: str, diff: bool = False,
                     classes: Sequence[int] | None = None) -> str:
    """Rows = true class, columns = predicted class.

    Counts are coloured by the share of their row. With ``diff=True`` the matrix holds
    candidate - reference counts, coloured so that red is worse (fewer correct on the diagonal,
    more mistakes off it) and blue better. ``classes`` restricts both axes to those indices.
    """
    idx = list(classes) if classes is not None else list(range(len(matrix)))
    names = [class_names[i] if i < len(class_names) else str(i) for i in idx]
    vals = [[float(matrix[i][j]) for j in idx] for i in idx]
    if diff:
        colr: list[list[float | None]] = [
            [(v if i == j else -v) for j, v in enumerate(row)] for i, row in enumerate(vals)]
        span = max((abs(v) for row in vals for v in row), default=1.0) or 1.0

        def fmt(v: float | None) -> str:
            if v is None or v == 0:
                return ""
            return f"{v:+.0f}".replace("-", "\u2212")

        return heatmap(names, names, vals, title=title, color_values=colr, vmin=-span,
                       vmax=span, diverging=True, fmt=fmt, x_title="predicted class",
                       y_title="true class", cell=(30, 22), cls="confusion diff",
                       tooltip=lambda i, j: f"true {names[i]}, predicted {names[j]}: "
                                            f"{fmt(vals[i][j]) or '0'}")
    full_rows = [sum(float(v) for v in matrix[i]) or 1.0 for i in idx]
    share: list[list[float | None]] = [[v / full_rows[i] for v in row]
                                       for i, row in enumerate(vals)]

    def fmt_count(v: float | None) -> str:
        return "" if v is None or v == 0 else f"{v:.0f}"

    return heatmap(names, names, vals, title=title, color_values=share, vmin=0.0, vmax=1.0,
                   fmt=fmt_count, x_title="predicted class", y_title="true class",
                   cell=(30, 22), cls="confusion",
                   tooltip=lambda i, j: f"true {names[i]}, predicted {names[j]}: "
                                        f"{vals[i][j]:.0f}")


# --- latency distributions ------------------------------------------------------------------


def _box_stats(samples: Sequence[float]) -> dict[str, float | list[float]]:
    a = np.sort(np.asarray(samples, dtype=np.float64))
    q1, med, q3 = (float(v) for v in np.percentile(a, [25, 50, 75]))
    p90 = float(np.percentile(a, 90))
    iqr = q3 - q1
    lo_fence, hi_fence = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    inside = a[(a >= lo_fence) & (a <= hi_fence)]
    wlo = float(inside[0]) if inside.size else float(a[0])
    whi = float(inside[-1]) if inside.size else float(a[-1])
    outliers = [float(v) for v in a if v < wlo or v > whi]
    return {"q1": q1, "median": med, "q3": q3, "p90": p90, "wlo": wlo, "whi": whi,
            "min": float(a[0]), "max": float(a[-1]), "outliers": outliers}


def box_plot(series: Sequence[tuple[str, Sequence[float]]], *, title: str, unit: str = "µs",
             width: int = 560, max_outliers: int = 40,
             colors: Sequence[int] | None = None, log_x: bool | None = None) -> str:
    """Horizontal box plots (Tukey whiskers, outliers as dots, p90 tick), one row per series.

    ``colors`` gives a palette index per series (default: one colour each). The axis is
    logarithmic when ``log_x`` is true or, by default, when the data span more than 20x.
    """
    data = [(lab, s) for lab, s in series if len(s) > 0]
    if not data:
        return _empty(width, 80, title, "boxplot", "no latency samples")
    stats = [(lab, _box_stats(s), len(s)) for lab, s in data]
    lo = min(float(st["min"]) for _, st, _ in stats)  # type: ignore[arg-type]
    hi = max(float(st["max"]) for _, st, _ in stats)  # type: ignore[arg-type]
    log = log_x if log_x is not None else (lo > 0 and hi / lo > 20)
    if log and lo > 0:
        ticks = log_ticks(lo, hi)
        fx: Callable[[float], float] = math.log10
    else:
        log = False
        ticks = nice_ticks(max(0.0, lo - (hi - lo) * 0.05), hi + (hi - lo) * 0.05)

        def fx(v: float) -> float:
            return v

    label_w = min(40, max(len(lab) for lab, _ in data)) * CHAR_W + 14
    ml, mr, mt, rh = label_w, 20, 30, 26
    pw = width - ml - mr
    height = mt + rh * len(data) + 36
    x0, x1 = fx(ticks[0]), fx(ticks[-1])

    def sx(v: float) -> float:
        return ml + (fx(v) - x0) / ((x1 - x0) or 1) * pw

    out = _open(width, height, title, "boxplot")
    for t in ticks:
        x = sx(t)
        out.append(f'<line x1="{_n(x)}" y1="{mt}" x2="{_n(x)}" y2="{_n(mt + rh * len(data))}" '
                   f'stroke="#eee"/><text x="{_n(x)}" y="{_n(mt + rh * len(data) + 14)}" '
                   f'text-anchor="middle" fill="#555">{esc(fmt_compact(t))}</text>')
    out.append(f'<text x="{_n(ml + pw / 2)}" y="{height - 4}" text-anchor="middle" '
               f'class="axis-label">'
               f'{esc(f"latency per invoke ({unit})" + (" (log scale)" if log else ""))}</text>')
    for i, (lab, st, n) in enumerate(stats):
        yc = mt + rh * i + rh / 2
        q1, med, q3 = float(st["q1"]), float(st["median"]), float(st["q3"])  # type: ignore
        wlo, whi, p90 = float(st["wlo"]), float(st["whi"]), float(st["p90"])  # type: ignore
        outl: list[float] = st["outliers"]  # type: ignore[assignment]
        col = PALETTE[(colors[i] if colors is not None and i < len(colors) else i) % len(PALETTE)]
        tip = (f"{lab}: n={n}, median {med:.1f} {unit}, p90 {p90:.1f} {unit}, "
               f"IQR {q1:.1f}-{q3:.1f} {unit}, {len(outl)} outliers")
        out.append(f'<g class="box"><title>{esc(tip)}</title>'
                   f'<text x="{ml - 6}" y="{_n(yc + 4)}" text-anchor="end">'
                   f"{esc(_clip(lab, 40))}</text>"
                   f'<line x1="{_n(sx(wlo))}" y1="{_n(yc)}" x2="{_n(sx(whi))}" y2="{_n(yc)}" '
                   f'stroke="#666"/>'
                   f'<line x1="{_n(sx(wlo))}" y1="{_n(yc - 5)}" x2="{_n(sx(wlo))}" '
                   f'y2="{_n(yc + 5)}" stroke="#666"/>'
                   f'<line x1="{_n(sx(whi))}" y1="{_n(yc - 5)}" x2="{_n(sx(whi))}" '
                   f'y2="{_n(yc + 5)}" stroke="#666"/>'
                   f'<rect x="{_n(sx(q1))}" y="{_n(yc - 8)}" '
                   f'width="{_n(max(1.0, sx(q3) - sx(q1)))}" height="16" fill="{col}" '
                   f'fill-opacity="0.35" stroke="{col}"/>'
                   f'<line class="median" x1="{_n(sx(med))}" y1="{_n(yc - 8)}" '
                   f'x2="{_n(sx(med))}" y2="{_n(yc + 8)}" stroke="#111" stroke-width="2"/>'
                   f'<path class="p90" d="M{_n(sx(p90))},{_n(yc - 11)}l-3,-4h6z" fill="#111"/>')
        step = max(1, math.ceil(len(outl) / max_outliers))
        for v in outl[::step]:
            out.append(f'<circle cx="{_n(sx(v))}" cy="{_n(yc)}" r="2" fill="none" '
                       f'stroke="{col}"/>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def histogram(samples: Sequence[float], *, title: str, unit: str = "µs", bins: int = 30,
              width: int = 300, height: int = 150) -> str:
    """A latency histogram with the median (solid) and p90 (dashed) marked."""
    a = np.asarray(samples, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return _empty(width, height, title, "histogram", "no latency samples")
    counts, edges = np.histogram(a, bins=min(bins, max(1, int(a.size))))
    ml, mr, mt, mb = 12, 12, 26, 30
    pw, ph = width - ml - mr, height - mt - mb
    lo, hi = float(edges[0]), float(edges[-1])
    top = int(counts.max()) or 1

    def sx(v: float) -> float:
        return ml + (v - lo) / ((hi - lo) or 1) * pw

    out = _open(width, height, title, "histogram")
    bw = pw / len(counts)
    for i, c in enumerate(counts):
        h = ph * int(c) / top
        out.append(f'<rect x="{_n(ml + i * bw)}" y="{_n(mt + ph - h)}" '
                   f'width="{_n(max(0.5, bw - 1))}" height="{_n(h)}" fill="#4c78a8">'
                   f"<title>{esc(f'{edges[i]:.1f}-{edges[i + 1]:.1f} {unit}: {int(c)}')}"
                   "</title></rect>")
    med, p90 = float(np.median(a)), float(np.percentile(a, 90))
    for v, name, dash in ((med, "median", ""), (p90, "p90", ' stroke-dasharray="4 2"')):
        out.append(f'<line class="{name}" x1="{_n(sx(v))}" y1="{mt}" x2="{_n(sx(v))}" '
                   f'y2="{_n(mt + ph)}" stroke="#d62728"{dash}><title>{esc(name)} '
                   f"{esc(f'{v:.1f}')} {esc(unit)}</title></line>")
    out.append(f'<text x="{ml}" y="{_n(height - 16)}" fill="#555">{esc(f"{lo:.1f}")}</text>'
               f'<text x="{_n(ml + pw)}" y="{_n(height - 16)}" text-anchor="end" fill="#555">'
               f'{esc(f"{hi:.1f} {unit}")}</text>'
               f'<text x="{_n(ml + pw / 2)}" y="{height - 4}" text-anchor="middle" fill="#555">'
               f"{esc(f'median {med:.1f} · p90 {p90:.1f} {unit}')}</text>")
    out.append("</svg>")
    return "".join(out)
