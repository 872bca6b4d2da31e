"""``tflbench recipes``: list the built-in training recipes."""

from __future__ import annotations

import argparse

NAME = "recipes"
HELP = "List the built-in reference model recipes and their default parameters."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from tflbench.models.recipes import RECIPES

    t = Table(title="Recipes")
    for col in ("recipe", "default data", "parameters", "description"):
        t.add_column(col)
    for r in RECIPES.values():
        params = ", ".join(f"{k}={v}" for k, v in r.defaults.items())
        t.add_row(r.name, r.dataset, params, r.description)
    Console().print(t)
    return 0
