"""``tflbench test``: run the packaged release-gate suites with pytest.

tflbench's own options (``--config PATH``, ``--demo``, ``--help``) come first; every other
argument is passed to pytest, so ``tflbench test -x --junitxml=gates.xml -n auto
--tflbench-modes fp32,int8`` works as it would with pytest itself. The project configuration is
found by :func:`tflbench.config.discover_project`, as for every command: ``--config`` (or
``--tflbench-config``), else, from the current directory upwards, a pytest ini file's
``tflbench_config``, ``tflbench.toml`` or ``pyproject.toml`` with ``[tool.tflbench]``. Without
one the built-in demo is gated, loudly; in CI (``CI=true``) that is refused unless ``--demo``
is given. The exit code is pytest's (0 passed, 1 a test failed, 2 interrupted, 3 internal
error, 4 usage error, 5 no tests collected), or 2 for a configuration error found first.

The suites ship inside the package, so pytest runs them with no ini file (``-c`` the null
device): an ini above the installed package (the repository's own ``pyproject.toml`` in an
editable install, a project whose virtualenv lives inside it) and the user's test settings
(``addopts``, ``python_files``, ``filterwarnings``...) must not change how the gates run. The
one setting tflbench reads from the user's ini, ``tflbench_config``, is resolved by the
discovery and handed to the plugin as ``--tflbench-config``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

NAME = "test"
HELP = ("Run the release-gate suites with pytest on the project config; tflbench's options "
        "first, then any pytest argument (e.g. --junitxml=gates.xml, -n auto, "
        "--tflbench-modes fp32,int8).")

EPILOG = """every other argument goes to pytest; pytest's options follow below.

examples:
  tflbench test                                  every gate, every model x mode
  tflbench test --config gates/tflbench.toml     a configuration outside the search
  tflbench test --tflbench-modes fp32,int8 -x    two modes, stop at the first failure
  tflbench test --junitxml=gates.xml -n auto     JUnit XML, parallel workers
  tflbench test --tflbench-baseline last/results.json
  tflbench test --demo                           gate the built-in demo models on purpose
  tflbench test -- --help                        pytest's help only
"""

#: tflbench's own options of ``tflbench test`` (everything else goes to pytest).
CONFIG, DEMO, HELP_FLAGS = "--config", "--demo", ("-h", "--help")
PLUGIN_CONFIG = "--tflbench-config"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(CONFIG, metavar="PATH", default=None,
                        help="project config (tflbench.toml, pyproject.toml with "
                             "[tool.tflbench], or a directory holding one); default: found "
                             "from the current directory upwards")
    parser.add_argument(DEMO, action="store_true",
                        help="gate the built-in demo models when no project config is found "
                             "(refused in CI without it)")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="PYTEST_ARGS",
                        help="arguments for pytest")
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    original = parser.parse_known_args

    def parse_known_args(args: Any = None, namespace: Any = None) -> Any:
        # tflbench's options are taken out; every other argument goes to pytest, including
        # options tflbench does not know (argparse would refuse them).
        ns, _ = original([], namespace)
        ns.config, ns.demo, ns.help, ns.pytest_args = split_args(list(args or []))
        ns._parser = parser
        return ns, []

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


def split_args(args: Sequence[str]) -> tuple[str | None, bool, bool, list[str]]:
    """``(config, demo, help, pytest args)``: tflbench's options anywhere before a ``--``;
    after it, everything is pytest's."""
    from tflbench.errors import ConfigError

    config: str | None = None
    demo = show_help = False
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest += args[i + 1:]
            break
        if a == CONFIG or a.startswith(CONFIG + "="):
            if a == CONFIG:
                if i + 1 >= len(args):
                    raise ConfigError(f"{CONFIG} needs a path. Received nothing after it.")
                i += 1
                value = args[i]
            else:
                value = a.split("=", 1)[1]
            if config is not None and value != config:
                raise ConfigError(f"{CONFIG} was given twice. Received: {config!r} and "
                                  f"{value!r}; give one.")
            config = value
        elif a == DEMO:
            demo = True
        elif a in HELP_FLAGS:
            show_help = True
        else:
            rest.append(a)
        i += 1
    return config, demo, show_help, rest


def _plugin_registered() -> bool:
    try:
        eps = importlib.metadata.entry_points(group="pytest11")
    except Exception:  # pragma: no cover - broken metadata
        return False
    return any(ep.value == "tflbench.plugin" for ep in eps)


def _plugin_config(args: Sequence[str]) -> str | None:
    """The value of ``--tflbench-config`` in pytest's arguments, if any."""
    for i, a in enumerate(args):
        if a == "--":
            break
        if a == PLUGIN_CONFIG and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(PLUGIN_CONFIG + "="):
            return a.split("=", 1)[1]
    return None


def pytest_argv(pytest_args: list[str], cwd: Path | None = None,
                config: Path | None = None) -> list[str]:
    """The pytest command line that runs the packaged suites against the project in ``cwd``
    (``config``: the configuration file discovered for it; default: searched from ``cwd``)."""
    from tflbench.config import find
    from tflbench.suites import SUITES_DIR

    cwd = (cwd or Path.cwd()).resolve()
    args = list(pytest_args)
    if args and args[0] == "--":
        args = args[1:]
    argv = [
        # No ini file (see the module docstring); keep pytest's cache in the project and show
        # ids relative to the package.
        "-c", os.devnull, "--rootdir", str(SUITES_DIR.parent),
        "-o", f"cache_dir={cwd / '.pytest_cache'}", "--strict-markers",
    ]
    if not _plugin_registered():
        argv += ["-p", "tflbench.plugin"]
    if _plugin_config(args) is None:
        found = config if config is not None else find(cwd)
        if found is not None:
            argv += [PLUGIN_CONFIG, str(found)]
    return [*argv, *args, str(SUITES_DIR)]


def main(args: argparse.Namespace) -> int:
    import pytest

    from tflbench.config import demo_notice, discover_project
    from tflbench.errors import ConfigError
    from tflbench.reports.terminal import make_console

    pytest_args = list(args.pytest_args or [])
    if getattr(args, "help", False):
        print(args._parser.format_help())
        print("pytest's options (tflbench's are under 'tflbench release gates'):\n", flush=True)
        return int(pytest.main(pytest_argv(["--help", *pytest_args])))
    plugin_config = _plugin_config(pytest_args)
    if args.config and plugin_config and Path(args.config).resolve() != Path(
            plugin_config).resolve():
        raise ConfigError(f"--config and {PLUGIN_CONFIG} name different files. Received: "
                          f"{args.config!r} and {plugin_config!r}; give one.")
    cwd = Path.cwd()
    _, source = discover_project(args.config or plugin_config, start=cwd)
    if source is None:
        make_console(stderr=True).print(demo_notice(cwd, demo=args.demo), style="bold yellow",
                                        soft_wrap=True, highlight=False)
    return int(pytest.main(pytest_argv(pytest_args, cwd, config=source)))
