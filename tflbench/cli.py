"""The ``tflbench`` command. Sub-commands live in :mod:`tflbench.commands`, one module each.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``main(args) -> int``. Only this module turns errors into exit codes:
0 success, 1 a gate failed, 2 a user error (bad input, config, data), 3 an internal error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from tflbench import __version__
from tflbench.errors import GateError, InternalError, TflbenchError

COMMANDS = ("run", "report", "bundle", "measure", "test", "recipes", "modes", "schema", "ops",
            "diagnose", "tune")  # quantization: diagnose, tune

EXIT_OK, EXIT_GATE, EXIT_USER, EXIT_INTERNAL = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tflbench",
        description="Decide whether a TensorFlow Lite model is fit to ship.",
    )
    parser.add_argument("--version", action="version", version=f"tflbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"tflbench.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tflbench.commands.{name}":
                continue  # command not available in this build
            raise
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_main=mod.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # TensorFlow's C++ start-up chatter (CPU features, oneDNN) is noise for users of a CLI.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["run"]  # `tflbench` alone runs the main job on the embedded default
    args = parser.parse_args(argv)
    if not getattr(args, "_main", None):
        parser.print_help()
        return EXIT_USER
    try:
        return int(args._main(args) or 0)
    except GateError as exc:
        print(f"tflbench: {exc}", file=sys.stderr)
        return EXIT_GATE
    except TflbenchError as exc:
        print(f"tflbench: error: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("tflbench: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"tflbench: error: cannot access{where}: {exc.strerror or exc}. Check the path "
              "and its permissions.", file=sys.stderr)
        return EXIT_USER
    except (InternalError, Exception) as exc:
        import traceback

        traceback.print_exc()
        print(f"tflbench: internal error (please report it with the traceback above): "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
