"""Terminal report with rich: per model the rows evaluated, the Keras reference and a coloured
summary table with 95% intervals and significance marks, the calibration and logits notes; then
failures, flipped classes, the document's warnings and a one-line verdict."""

from __future__ import annotations

import os
import sys
from typing import IO, Any, Literal, cast

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tflbench.reports.table import (
    ClassDrop,
    Row,
    build_rows,
    class_drops,
    columns,
    document_warnings,
    failed_groups,
    fmt_class_change,
    fmt_keras,
    fmt_n,
    fmt_p,
    fmt_pct,
    fmt_time,
    format_row,
    merge_warnings,
    model_infos,
    notes,
    significant_classes,
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


#: What goes first when the console is too narrow, in order: secondary columns, then the
#: intervals of the accuracy, Δ acc and agreement cells (the point values stay); top-1
#: agreement, the figure most gates rest on, goes last.
DROP_ORDER = ("ratio", "p90", "worst", "status", "accuracy interval", "delta interval",
              "agreement interval", "agreement")
_INTERVAL_KEYS = {"accuracy interval": "accuracy", "delta interval": "delta",
                  "agreement interval": "agreement"}


SHORT_HEADERS = {"agreement": "agree", "worst": "worst class", "delta": "Δ acc"}


def _width(cells: list[str], header: str) -> int:
    return max([len(header)] + [len(c) for c in cells]) + 2


def summary_tables(doc: dict[str, Any], rows: list[Row] | None = None,
                   width: int = 120) -> tuple[list[Table], list[str]]:
    """One table per model fitting ``width`` columns, and what was left out to fit (column
    names, or "accuracy interval" / "delta interval" when only the interval was dropped)."""
    rows = build_rows(doc) if rows is None else rows
    cols = [c for c in columns(rows) if c[0] != "model"]
    recommended = {(name, r.get("mode")) for name, r in (doc.get("recommendation") or {}).items()
                   if isinstance(r, dict)}
    full = [format_row(r) for r in rows]
    compact = [format_row(r, intervals=False) for r in rows]
    for cells in (full, compact):
        for c, r in zip(cells, rows, strict=True):
            if (r.model, r.mode) in recommended:
                c["mode"] += " ★"
    plain: set[str] = set()

    def cell(i: int, key: str) -> str:
        return (compact if key in plain else full)[i][key]

    hidden: list[str] = []
    for step in DROP_ORDER:
        # content + 1 padding each side + 1 separator per column + 2 edges
        need = sum(_width([cell(i, k) for i in range(len(rows))], SHORT_HEADERS.get(k, h)) + 1
                   for k, h in cols) + 2
        if need <= width:
            break
        if step in _INTERVAL_KEYS:
            if any(k == _INTERVAL_KEYS[step] for k, _ in cols):
                plain.add(_INTERVAL_KEYS[step])
                hidden.append(step.replace("delta", "Δ acc"))
            continue
        if any(k == step for k, _ in cols):
            hidden.append(next(SHORT_HEADERS.get(k, h) for k, h in cols if k == step))
            cols = [c for c in cols if c[0] != step]
    infos = {i.name: i for i in model_infos(doc)}
    tables = []
    for name in dict.fromkeys(r.model for r in rows):
        info = infos.get(name)
        title = f"{name} · " + (f"{fmt_keras(info)} · {fmt_n(info)}" if info
                                else "Keras accuracy —")
        table = Table(title=title, title_justify="left", title_style="bold",
                      box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
        for key, header in cols:
            justify: Literal["left", "right"] = (
                "left" if key in ("mode", "device", "status", "worst") else "right")
            table.add_column(SHORT_HEADERS.get(key, header), justify=justify, no_wrap=True)
        for i, r in enumerate(rows):
            if r.model == name:
                table.add_row(*[_cell(r, key, cell(i, key)) for key, _ in cols])
        tables.append(table)
    return tables, hidden


#: Significant class changes listed in the terminal besides the flipped classes (the Markdown
#: and HTML reports list them all).
MAX_SIGNIFICANT_LINES = 3


def _class_line(label: str, c: ClassDrop, style: str, multi: bool) -> Text:
    line = Text(f"  {label} ", style=style)
    where = f" on {', '.join(c.devices)}" if multi and c.devices else ""
    line.append(f"{c.model} / {c.mode}{where}: class {c.name} {fmt_pct(c.keras_accuracy)} → "
                f"{fmt_pct(c.accuracy)} ({fmt_class_change(c)})")
    if c.holm_p is not None:
        line.append(f", Holm {fmt_p(c.holm_p)}", style="bold" if c.significant else "dim")
    if c.confused_with:
        line.append(f", now read as {c.confused_with} (+{c.confused_extra})")
    return line


def render(doc: dict[str, Any], console: Console | None = None) -> None:
    """Print the report of ``doc`` to ``console`` (a new stdout console when None)."""
    from tflbench.reports import crossarch

    console = console or make_console()
    doc = crossarch.without_emulated_latency(doc)  # emulated latency is no latency figure
    rows = build_rows(doc)
    for w in merge_warnings(doc):
        console.print(Text("warning: " + w, style="yellow"))
    console.print(Text(f"tflbench results · {fmt_time(doc.get('created'))}", style="bold"))
    tables, hidden = summary_tables(doc, rows, width=console.width)
    infos = model_infos(doc)
    for t in tables:
        console.print(t)
        info = next((i for i in infos if t.title and str(t.title).startswith(i.name + " · ")),
                    None)
        if info is not None and info.inputs:
            console.print(Text("  " + info.inputs, style="dim"))
        if info is not None and info.calibration:
            console.print(Text("  " + info.calibration,
                               style="yellow" if info.calibration_overlaps else "dim"))
        if info is not None and info.logits:
            console.print(Text("  " + info.logits, style="dim"))
    for note in notes(doc, rows):
        console.print(Text(note, style="dim"))
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
        console.print(_class_line("flipped", c, "yellow", multi))
    shown = {(c.model, c.mode, c.index, c.delta) for c in drops}
    more = [c for c in significant_classes(doc)
            if (c.model, c.mode, c.index, c.delta) not in shown]
    for c in more[:MAX_SIGNIFICANT_LINES]:
        console.print(_class_line("significant", c, "yellow" if c.delta < 0 else "cyan", multi))
    if len(more) > MAX_SIGNIFICANT_LINES:
        console.print(Text(f"  … and {len(more) - MAX_SIGNIFICANT_LINES} more class changes "
                           "significant after Holm (--format md or html lists them all)",
                           style="dim"))
    from tflbench.reports import quantization

    if crossarch.applies(doc):  # where architectures disagree, sample by sample
        for arch_line in crossarch.text_lines(crossarch.compare(doc)):
            console.print(Text(arch_line))
    for table in quantization.terminal_tables(doc):  # converter vs quantizer, attribution
        console.print(table)
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
    for w in document_warnings(doc):
        console.print(Text("⚠ warning: ", style="bold yellow") + Text(w, style="yellow"))
    v = verdict(doc, rows)
    console.print(Text(("✔ " if v.passed else "✘ ") + v.line,
                       style="bold green" if v.passed else "bold red"))
