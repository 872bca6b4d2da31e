"""``tflbench recipes``: list the built-in training recipes."""

from __future__ import annotations

import argparse

NAME = "recipes"
HELP = "List the built-in reference model recipes and their default parameters."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def recipes_table() -> object:
    """The recipes as a rich table. Recipe names never wrap or truncate; the details column
    (description, default data, default parameters) wraps between words."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from tflbench.models.recipes import RECIPES

    t = Table(title="Recipes", box=box.SIMPLE_HEAD, pad_edge=False, show_lines=True)
    t.add_column("recipe", no_wrap=True, min_width=max(len(r) for r in RECIPES))
    t.add_column("description, default data and parameters", overflow="fold", ratio=1,
                 min_width=24)
    for r in RECIPES.values():
        params = ", ".join(f"{k}={v}" for k, v in r.defaults.items())
        details = Text.assemble(r.description, "\n", ("data: ", "dim"), r.dataset, "\n",
                                ("parameters: ", "dim"), params)
        t.add_row(r.name, details)
    return t


def main(args: argparse.Namespace) -> int:
    from tflbench.reports.terminal import make_console

    make_console().print(recipes_table())
    return 0
