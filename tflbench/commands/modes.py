"""``tflbench modes``: list the optimization modes registry."""

from __future__ import annotations

import argparse

NAME = "modes"
HELP = "List the optimization modes and their converter settings."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from tflbench.modes import ALIAS_NOTE, ALIASES, MODES

    t = Table(title="Optimization modes")
    for col in ("mode", "weights", "activations", "I/O", "representative data", "description"):
        t.add_column(col)
    for m in MODES.values():
        io = m.inference_input_type or "float32"
        t.add_row(m.name, m.weights, m.activations, io,
                  "yes" if m.needs_representative_data else "no", m.description)
    c = Console()
    c.print(t)
    c.print("Aliases: " + ", ".join(f"{a} -> {b}" for a, b in ALIASES.items()))
    c.print(ALIAS_NOTE)
    return 0
