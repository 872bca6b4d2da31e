"""``tflbench modes``: list the optimization modes registry, grouped by the tool that produces
each file (the converter's legacy path, then the LiteRT Quantizer)."""

from __future__ import annotations

import argparse

NAME = "modes"
HELP = "List the optimization modes, grouped by the tool that produces them."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def modes_table(tool: str | None = None) -> object:
    """The registry (or one tool's modes) as a rich table; mode names never wrap or truncate,
    descriptions wrap."""
    from rich import box
    from rich.table import Table

    from tflbench.modes import MODES, TOOL_TITLES, modes_by_tool

    modes = list(MODES.values()) if tool is None else modes_by_tool(tool)
    title = "Optimization modes" if tool is None else TOOL_TITLES[tool]
    t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    t.add_column("mode", no_wrap=True, min_width=max(len(m) for m in MODES))
    for col in ("weights", "activations", "I/O"):
        t.add_column(col, no_wrap=True)
    t.add_column("calibration\ndata", overflow="fold")
    t.add_column("description", overflow="fold", ratio=1, min_width=12)
    for m in modes:
        io = m.inference_input_type or "float32"
        t.add_row(m.name, m.weights, m.activations, io,
                  "yes" if m.needs_representative_data else "no", m.description)
    return t


def main(args: argparse.Namespace) -> int:
    from tflbench.modes import ALIAS_NOTE, ALIASES, TOOLS
    from tflbench.quantizer import INSTALL_HINT, quantizer_version
    from tflbench.reports.terminal import make_console

    c = make_console()
    for tool in TOOLS:
        c.print(modes_table(tool))
    version = quantizer_version()
    c.print("lq- modes: LiteRT Quantizer recipes applied to the fp32 file; "
            + (f"litert-quantizer {version} installed." if version
               else f"litert-quantizer is not installed ({INSTALL_HINT})."))
    c.print("calibration data: the mode needs representative inputs to quantize activations "
            "(the same samples for both tools).")
    c.print("Tuned modes (layers kept in float) are recipe files written by 'tflbench tune'.")
    c.print("Aliases: " + ", ".join(f"{a} -> {b}" for a, b in ALIASES.items()))
    c.print(ALIAS_NOTE)
    return 0
