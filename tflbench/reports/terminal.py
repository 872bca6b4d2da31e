"""Terminal report with rich: coloured summary table, failures and a one-line verdict."""

from __future__ import annotations

import os
import sys
from typing import IO, Any, Literal, cast

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tflbench.reports.table import (
    Row,
    build_rows,
    class_drops,
    columns,
    failed_groups,
    fmt_pct,
    fmt_pp,
    fmt_time,
    format_row,
    merge_warnings,
    verdict,
)


class _StripTrailing:
    """A text stream that drops the trailing spaces rich pads table cells with, line by line
    (for output that goes to a file or a pipe, not to a terminal)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self._stream.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._pending)
            self._pending = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return False


def make_console(*, stderr: bool = False, piped_width: int | None = None) -> Console:
    """A rich console for standard output (or error). On a terminal it is rich's own; otherwise
    it is ``COLUMNS`` wide (``piped_width``, else rich's default, when unset) and its lines carry
    no trailing padding."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    width: int | None = None
    columns = os.environ.get("COLUMNS", "")
    if columns.strip().isdigit() and int(columns) > 0:
        width = int(columns)
    elif piped_width is not None:
        width = piped_width
    return Console(file=cast(IO[str], _StripTrailing(stream)), width=width)


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
    if key == "mode" and not row.ok:
        return Text(text, style="red")
    if not row.ok and key not in ("model", "device"):
        return Text(text, style="dim")
    return Text(text)


#: Columns dropped first when the console is too narrow (the last ones go first).
DROP_ORDER = ("ratio", "p90", "worst", "agreement", "status")


SHORT_HEADERS = {"agreement": "agree", "worst": "worst class"}


def _width(cells: list[str], header: str) -> int:
    return max([len(header)] + [len(c) for c in cells]) + 2


def summary_tables(doc: dict[str, Any], rows: list[Row] | None = None,
                   width: int = 120) -> tuple[list[Table], list[str]]:
    """One table per model fitting ``width`` columns, and the names of the columns left out."""
    rows = build_rows(doc) if rows is None else rows
    cols = [c for c in columns(rows) if c[0] != "model"]
    recommended = {(name, r.get("mode")) for name, r in (doc.get("recommendation") or {}).items()
                   if isinstance(r, dict)}
    cells = [format_row(r) for r in rows]
    for c, r in zip(cells, rows, strict=True):
        if (r.model, r.mode) in recommended:
            c["mode"] += " ★"
    hidden: list[str] = []
    for key in DROP_ORDER:
        # content + 1 padding each side + 1 separator per column + 2 edges
        need = sum(_width([c[k] for c in cells], SHORT_HEADERS.get(k, h)) + 1
                   for k, h in cols) + 2
        if need <= width:
            break
        hidden.append(next(SHORT_HEADERS.get(k, h) for k, h in cols if k == key))
        cols = [c for c in cols if c[0] != key]
    keras = {m["name"]: (m.get("keras") or {}).get("accuracy") for m in doc.get("models", [])}
    tables = []
    for name in dict.fromkeys(r.model for r in rows):
        table = Table(title=f"{name} · Keras accuracy {fmt_pct(keras.get(name))}",
                      title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                      padding=(0, 1), pad_edge=False)
        for key, header in cols:
            justify: Literal["left", "right"] = (
                "left" if key in ("mode", "device", "status", "worst") else "right")
            table.add_column(SHORT_HEADERS.get(key, header), justify=justify, no_wrap=True)
        for r, c in zip(rows, cells, strict=True):
            if r.model == name:
                table.add_row(*[_cell(r, key, c[key]) for key, _ in cols])
        tables.append(table)
    return tables, hidden


def render(doc: dict[str, Any], console: Console | None = None) -> None:
    """Print the report of ``doc`` to ``console`` (a new stdout console when None)."""
    console = console or make_console()
    rows = build_rows(doc)
    for w in merge_warnings(doc):
        console.print(Text("warning: " + w, style="yellow"))
    console.print(Text(f"tflbench results · {fmt_time(doc.get('created'))}", style="bold"))
    tables, hidden = summary_tables(doc, rows, width=console.width)
    for t in tables:
        console.print(t)
    if hidden:
        console.print(Text(f"(not shown to fit {console.width} columns: {', '.join(hidden)}; "
                           "widen the terminal or use --format md)", style="dim"))
    multi = len({x.device for x in rows}) > 1
    for r, devs in failed_groups(rows):
        line = Text("  failed ", style="bold red")
        line.append(f"{r.model} / {r.mode}")
        if multi:
            line.append(f" on {', '.join(devs)}")
        if r.stage:
            line.append(f" ({r.stage})", style="dim")
        line.append(f": {r.error or 'failed without a message'}")
        console.print(line)
    drops = class_drops(doc, limit=3)
    for c in drops:
        flipped = Text("  flipped ", style="yellow")
        flipped.append(f"{c.model} / {c.mode}: class {c.name} {fmt_pct(c.keras_accuracy)} → "
                 f"{fmt_pct(c.accuracy)} ({fmt_pp(c.delta)})")
        if c.confused_with:
            flipped.append(f", now read as {c.confused_with} (+{c.confused_extra})")
        console.print(flipped)
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
            line = Text("  recommend ", style="bold cyan")
            line.append(f"{name}: ")
            line.append(str(r.get("mode") or "none"),
                        style="bold" if r.get("mode") else "bold red")
            line.append(f" ({r.get('reason', '')})", style="dim")
            console.print(line)
    v = verdict(doc, rows)
    console.print(Text(("✔ " if v.passed else "✘ ") + v.line,
                       style="bold green" if v.passed else "bold red"))
