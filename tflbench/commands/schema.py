"""``tflbench schema results|manifest``: print the JSON Schema of a results document or of a
bundle manifest (the files shipped in ``tflbench/schemas/``)."""

from __future__ import annotations

import argparse
import json

NAME = "schema"
HELP = ("Print the JSON Schema (draft 2020-12) of the results document ('results') or of the "
        "bundle manifest ('manifest'), for validating files in other tools.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("which", choices=("results", "manifest"),
                        help="which document's schema to print")


def load_schema(which: str) -> dict[str, object]:
    """The shipped schema ``which`` ("results" or "manifest")."""
    from importlib.resources import files

    text = (files("tflbench") / "schemas" / f"{which}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def main(args: argparse.Namespace) -> int:
    print(json.dumps(load_schema(args.which), indent=2))
    return 0
