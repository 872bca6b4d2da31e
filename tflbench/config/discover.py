"""Finding a project's configuration: one rule for ``run``, ``test``, ``bundle``, ``measure``
and the pytest plugin (:func:`discover_project`).

1. An explicit path (``--config``, ``--tflbench-config``, the plugin's ini option), a file or a
   directory holding one, is read; a missing or invalid file is an error.
2. Otherwise, in each directory from the start (the current directory) upwards:

   * the pytest ini file pytest would use there (``pytest.toml``, ``.pytest.toml``,
     ``pytest.ini``, ``.pytest.ini``, ``pyproject.toml`` with ``[tool.pytest.ini_options]``,
     ``tox.ini`` with ``[pytest]``, ``setup.cfg`` with ``[tool:pytest]``), when it sets
     ``tflbench_config`` (relative to that file); only the nearest pytest ini counts;
   * ``tflbench.toml``;
   * ``pyproject.toml`` with ``[tool.tflbench]``.

   The search stops at the project root: the first directory holding a ``pyproject.toml`` or
   ``.git``.
3. Otherwise the built-in demo: the digits recipes, every mode, the default thresholds.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tflbench.config.model import DEFAULT_REPORT_DIR, ProjectConfig
from tflbench.config.parse import CONFIG_FILE, PYPROJECT, load_file, read_toml, tool_section
from tflbench.errors import ConfigError

#: The ini option naming the configuration (relative to the ini file).
INI_OPTION = "tflbench_config"
#: pytest's configuration files, in the order pytest looks for them in one directory.
PYTEST_FILES = ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", PYPROJECT, "tox.ini",
                "setup.cfg")


def discover_project(
    explicit_path: str | os.PathLike[str] | None = None,
    start: str | os.PathLike[str] | None = None,
) -> tuple[ProjectConfig, Path | None]:
    """The project configuration and the file it came from (``None`` for the built-in demo).

    ``explicit_path`` (relative to the current directory) wins when given; else the search of
    the module docstring runs from ``start`` (default: the current directory). Raises
    :class:`ConfigError` for an explicit path that does not exist and for any invalid file.
    """
    if explicit_path is not None and str(explicit_path) != "":
        project = load(explicit_path)
    else:
        found = find(start)
        project = load(found) if found is not None else default_config(start)
    return project, project.source


def load(path: str | os.PathLike[str]) -> ProjectConfig:
    """Read a configuration file, or the one a directory holds (without searching upwards)."""
    p = Path(os.path.expanduser(os.fspath(path))).resolve()
    if p.is_dir():
        found = find(p, walk_up=False)
        if found is None:
            raise ConfigError(f"No {CONFIG_FILE} or {PYPROJECT} with [tool.tflbench] in {p}. "
                              f"Create one (see docs/gating.md) or give the file itself.")
        p = found
    return load_file(p)


def find(start: str | os.PathLike[str] | None = None, walk_up: bool = True) -> Path | None:
    """The configuration file for ``start`` (default: the current directory), searched as the
    module docstring says, or ``None``."""
    d = Path(start or Path.cwd()).resolve()
    pytest_ini_seen = False
    while True:
        if not pytest_ini_seen:
            ini = pytest_ini(d)
            if ini is not None:
                pytest_ini_seen = True
                target = _ini_target(*ini)
                if target is not None:
                    return target
        candidate = d / CONFIG_FILE
        if candidate.is_file():
            return candidate
        pyproject = d / PYPROJECT
        if pyproject.is_file():
            return pyproject if _has_tool_section(pyproject) else None
        if (d / ".git").exists() or not walk_up or d.parent == d:
            return None
        d = d.parent


def pytest_ini(directory: Path) -> tuple[Path, str | None] | None:
    """The pytest configuration file pytest would use in ``directory`` and its
    ``tflbench_config`` value (``None`` when unset); ``None`` when the directory has none."""
    for name in PYTEST_FILES:
        path = directory / name
        if not path.is_file():
            continue
        section = _pytest_section(path)
        if section is not None:
            value = section.get(INI_OPTION)
            return path, value if isinstance(value, str) and value.strip() else None
    return None


def _pytest_section(path: Path) -> Mapping[str, Any] | None:
    """The pytest options of one candidate file, or ``None`` when pytest would not use it."""
    if path.suffix == ".toml":
        try:
            data = read_toml(path)
        except ConfigError:
            return None  # pytest reports an unreadable file itself
        if path.name != PYPROJECT:
            table = data.get("pytest")
            return table if isinstance(table, Mapping) else {}
        tool = data.get("tool")
        pytest_table = tool.get("pytest") if isinstance(tool, Mapping) else None
        if not isinstance(pytest_table, Mapping):
            return None
        ini_options = pytest_table.get("ini_options")
        return ini_options if isinstance(ini_options, Mapping) else pytest_table
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    section = "tool:pytest" if path.name == "setup.cfg" else "pytest"
    if parser.has_section(section):
        return dict(parser.items(section))
    return {} if path.name in ("pytest.ini", ".pytest.ini") else None


def _ini_target(ini: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    p = Path(os.path.expanduser(value.strip()))
    return p if p.is_absolute() else (ini.parent / p).resolve()


def _has_tool_section(pyproject: Path) -> bool:
    try:
        data = read_toml(pyproject)
    except ConfigError:
        return False
    return tool_section(data) is not None


def default_config(root: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """The built-in demo: digits recipes, every mode, default thresholds."""
    base = Path(root or Path.cwd()).resolve()
    return ProjectConfig(source=None, root=base, report_dir=base / DEFAULT_REPORT_DIR)


def load_project(path: str | os.PathLike[str] | None = None,
                 start: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """The configuration of :func:`discover_project`, without its source."""
    return discover_project(path, start)[0]


def load_config(path: str | os.PathLike[str] | None = None,
                start: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """Alias of :func:`load_project`."""
    return load_project(path, start)


# ------------------------------------------------------------------------ the built-in demo

#: Environment variable that marks a CI job (set to ``true`` by GitHub Actions, GitLab CI...).
CI_VARIABLE = "CI"


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``CI`` is set to true (``true``, ``1`` or ``yes``)."""
    value = (os.environ if environ is None else environ).get(CI_VARIABLE, "")
    return value.strip().lower() in ("true", "1", "yes")


def demo_notice(start: str | os.PathLike[str] | None = None, *, demo: bool,
                environ: Mapping[str, str] | None = None) -> str:
    """What to print when a gate runs on the built-in demo because no configuration was found
    from ``start``. Raises :class:`ConfigError` in CI (``CI=true``) unless ``demo`` is set: a
    CI job that finds no configuration would otherwise pass on models nobody meant to gate."""
    where = Path(start or Path.cwd()).resolve()
    if demo:
        return ("tflbench: gating the built-in demo (the digits models) as --demo asks; no "
                "model of yours is tested.")
    advice = (f"Add a {CONFIG_FILE} or a [tool.tflbench] table in {PYPROJECT} (see "
              "docs/gating.md), pass --config PATH, or pass --demo to gate the built-in demo.")
    if in_ci(environ):
        raise ConfigError(f"No project config was found from {where}: refusing to gate the "
                          f"built-in demo models in CI ({CI_VARIABLE}=true). {advice}")
    return (f"tflbench: WARNING: no project config was found from {where}: gating the built-in "
            f"demo (the digits models), not your models. {advice}")
