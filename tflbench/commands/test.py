"""``tflbench test``: run the packaged release-gate suites with pytest.

Every argument is passed to pytest, so ``tflbench test -x --junitxml=gates.xml -n auto
--tflbench-modes fp32,int8`` works as it would with pytest itself. The project configuration is
found from the current directory (``tflbench.toml`` or ``pyproject.toml`` with
``[tool.tflbench]``); the exit code is pytest's (0 passed, 1 a test failed, 2 interrupted,
3 internal error, 4 usage error, 5 no tests collected).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
from pathlib import Path
from typing import Any

NAME = "test"
HELP = ("Run the release-gate suites with pytest on the project config; every argument goes "
        "to pytest (e.g. --junitxml=gates.xml, -n auto, --tflbench-modes fp32,int8).")

EPILOG = """examples:
  tflbench test                                  every gate, every model x mode
  tflbench test --tflbench-modes fp32,int8 -x    two modes, stop at the first failure
  tflbench test --junitxml=gates.xml -n auto     JUnit XML, parallel workers
  tflbench test --tflbench-baseline last/results.json
  tflbench test -- --help                        pytest's help, with the tflbench options
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="PYTEST_ARGS",
                        help="arguments for pytest")
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    original = parser.parse_known_args

    def parse_known_args(args: Any = None, namespace: Any = None) -> Any:
        # Hand every argument to pytest, including options tflbench does not know.
        ns, _ = original([], namespace)
        ns.pytest_args = list(args or [])
        return ns, []

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


def _plugin_registered() -> bool:
    try:
        eps = importlib.metadata.entry_points(group="pytest11")
    except Exception:  # pragma: no cover - broken metadata
        return False
    return any(ep.value == "tflbench.plugin" for ep in eps)


def pytest_argv(pytest_args: list[str], cwd: Path | None = None) -> list[str]:
    """The pytest command line that runs the packaged suites against the project in ``cwd``."""
    from tflbench import config
    from tflbench.suites import SUITES_DIR

    cwd = (cwd or Path.cwd()).resolve()
    args = list(pytest_args)
    if args and args[0] == "--":
        args = args[1:]
    argv = [
        # The suites ship inside the package: ignore any ini file next to it, keep pytest's
        # cache in the project, and show ids relative to the suites folder.
        "-c", os.devnull, "--rootdir", str(SUITES_DIR.parent),
        "-o", f"cache_dir={cwd / '.pytest_cache'}", "--strict-markers",
    ]
    if not _plugin_registered():
        argv += ["-p", "tflbench.plugin"]
    if not any(a == "--tflbench-config" or a.startswith("--tflbench-config=") for a in args):
        found = config.find(cwd)
        if found is not None:
            argv += ["--tflbench-config", str(found)]
    return [*argv, *args, str(SUITES_DIR)]


def main(args: argparse.Namespace) -> int:
    import pytest

    return int(pytest.main(pytest_argv(list(args.pytest_args or []))))
