"""Terminal report with rich: coloured summary table, failures and a one-line verdict."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tflbench.reports.table import (
    Row,
    build_rows,
    class_drops,
    columns,
    fmt_pct,
    fmt_pp,
    fmt_time,
    format_row,
    merge_warnings,
    verdict,
)

#: Display bands for colouring only (release thresholds live in tflbench.gates):
#: top-1 agreement and accuracy delta (fractions) at or above the first value are green, at or
#: above the second yellow, below red.
AGREEMENT_BANDS = (0.99, 0.97)
DELTA_BANDS = (-0.005, -0.02)


def _band(value: float | None, bands: tuple[float, float]) -> str:
    if value is None:
        return "dim"
    if value >= bands[0]:
        return "green"
    if value >= bands[1]:
        return "yellow"
    return "red"


def _cell(row: Row, key: str, text: str) -> Text:
    if key == "status":
        return Text(text, style="bold green" if row.ok else "bold red")
    if key == "agreement":
        return Text(text, style=_band(row.top1, AGREEMENT_BANDS))
    if key in ("delta", "worst"):
        value = row.accuracy_delta if key == "delta" else row.worst_class_delta
        return Text(text, style=_band(value, DELTA_BANDS))
    if not row.ok and key not in ("model", "mode", "device"):
        return Text(text, style="dim")
    return Text(text)


def summary_table(doc: dict[str, Any], rows: list[Row] | None = None) -> Table:
    rows = build_rows(doc) if rows is None else rows
    cols = columns(rows)
    recommended = {(name, r.get("mode")) for name, r in (doc.get("recommendation") or {}).items()
                   if isinstance(r, dict)}
    table = Table(title=f"tflbench results · {fmt_time(doc.get('created'))}", title_justify="left")
    for key, header in cols:
        justify = "left" if key in ("model", "mode", "device", "status", "worst") else "right"
        table.add_column(header, justify=justify, no_wrap=key != "worst")
    previous = None
    for r in rows:
        cells = format_row(r)
        out = []
        for key, _ in cols:
            text = cells[key]
            if key == "model" and r.model == previous:
                text = ""
            if key == "mode" and (r.model, r.mode) in recommended:
                text += " ★"
            out.append(_cell(r, key, text))
        table.add_row(*out, end_section=False)
        previous = r.model
    return table


def render(doc: dict[str, Any], console: Console | None = None) -> None:
    """Print the report of ``doc`` to ``console`` (a new stdout console when None)."""
    console = console or Console()
    rows = build_rows(doc)
    for w in merge_warnings(doc):
        console.print(Text("warning: " + w, style="yellow"))
    console.print(summary_table(doc, rows))
    keras = ", ".join(f"{m['name']} {fmt_pct((m.get('keras') or {}).get('accuracy'))}"
                      for m in doc.get("models", []))
    console.print(Text(f"Keras reference accuracy: {keras}", style="dim"))
    for r in rows:
        if not r.ok:
            line = Text("  failed ", style="bold red")
            line.append(f"{r.model} / {r.mode}")
            if r.device and len({x.device for x in rows}) > 1:
                line.append(f" on {r.device}")
            if r.stage:
                line.append(f" ({r.stage})", style="dim")
            line.append(f": {r.error or 'failed without a message'}")
            console.print(line)
    drops = class_drops(doc, limit=3)
    for c in drops:
        t = Text("  flipped ", style="yellow")
        t.append(f"{c.model} / {c.mode}: class {c.name} {fmt_pct(c.keras_accuracy)} → "
                 f"{fmt_pct(c.accuracy)} ({fmt_pp(c.delta)})")
        if c.confused_with:
            t.append(f", now read as {c.confused_with} (+{c.confused_extra})")
        console.print(t)
    gates = doc.get("gates")
    if isinstance(gates, list):
        for g in gates:
            if isinstance(g, dict) and not g.get("passed"):
                console.print(Text("  gate ", style="bold red")
                              + Text(str(g.get("line") or g.get("name"))))
    rec = doc.get("recommendation")
    if isinstance(rec, dict):
        for name, r in rec.items():
            if not isinstance(r, dict):
                continue
            t = Text("  recommend ", style="bold cyan")
            t.append(f"{name}: ")
            t.append(str(r.get("mode") or "none"), style="bold" if r.get("mode") else "bold red")
            t.append(f" ({r.get('reason', '')})", style="dim")
            console.print(t)
    v = verdict(doc, rows)
    console.print(Text(("✔ " if v.passed else "✘ ") + v.line,
                       style="bold green" if v.passed else "bold red"))
