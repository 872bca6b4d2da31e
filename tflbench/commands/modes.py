"""``tflbench modes``: list the optimization modes registry."""

from __future__ import annotations

import argparse

NAME = "modes"
HELP = "List the optimization modes and their converter settings."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def modes_table() -> object:
    """The registry as a rich table; mode names never wrap or truncate, descriptions wrap."""
    from rich import box
    from rich.table import Table

    from tflbench.modes import MODES

    t = Table(title="Optimization modes", box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("mode", no_wrap=True, min_width=max(len(m) for m in MODES))
    for col in ("weights", "activations", "I/O"):
        t.add_column(col, overflow="fold")
    t.add_column("calibration\ndata", overflow="fold")
    t.add_column("description", overflow="fold", ratio=1, min_width=12)
    for m in MODES.values():
        io = m.inference_input_type or "float32"
        t.add_row(m.name, m.weights, m.activations, io,
                  "yes" if m.needs_representative_data else "no", m.description)
    return t


def main(args: argparse.Namespace) -> int:
    from tflbench.modes import ALIAS_NOTE, ALIASES
    from tflbench.reports.terminal import make_console

    c = make_console()
    c.print(modes_table())
    c.print("calibration data: the mode needs representative inputs to quantize activations.")
    c.print("Aliases: " + ", ".join(f"{a} -> {b}" for a, b in ALIASES.items()))
    c.print(ALIAS_NOTE)
    return 0
