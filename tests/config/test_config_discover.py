"""discover_project: the one rule every command and the plugin use to find the configuration."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tflbench import config
from tflbench.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository whose pyproject.toml holds [tool.tflbench], with a nested subfolder."""
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", """
        [project]
        name = "app"

        [tool.tflbench]
        modes = ["fp16"]

        [tool.tflbench.thresholds]
        max_size_bytes = 123456
    """)
    (tmp_path / "src" / "deep").mkdir(parents=True)
    return tmp_path


def test_parent_pyproject_section_is_found_from_a_subfolder(project: Path) -> None:
    cfg, source = config.discover_project(start=project / "src" / "deep")
    assert source == (project / "pyproject.toml").resolve() == cfg.source
    assert cfg.mode_names() == ["fp16"]
    assert cfg.thresholds.limits("m", "fp16").max_size_bytes == 123456
    assert cfg.root == project.resolve()


def test_default_start_is_the_current_directory(project: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project / "src")
    assert config.discover_project()[1] == (project / "pyproject.toml").resolve()


def test_no_config_gives_the_demo_and_no_source(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    cfg, source = config.discover_project(start=tmp_path)
    assert source is None and cfg.source is None and cfg.models == ()
    assert cfg.model_names() == ["digits-cnn", "digits-mobilenet"]


def test_explicit_path_wins_and_may_be_a_directory(project: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    other = write(project / "gates" / "tflbench.toml", "modes = ['int8']\n")
    cfg, source = config.discover_project(other, start=project / "src")
    assert source == other.resolve() and cfg.mode_names() == ["int8"]
    assert config.discover_project(project / "gates")[1] == other.resolve()
    monkeypatch.chdir(project)  # a relative explicit path is relative to the current directory
    assert config.discover_project("gates/tflbench.toml")[1] == other.resolve()
    assert config.discover_project("", start=project / "src")[1] == (
        project / "pyproject.toml").resolve()


def test_missing_explicit_path_is_an_error_not_the_demo(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Configuration file not found"):
        config.discover_project(tmp_path / "nope.toml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="No tflbench.toml or pyproject.toml"):
        config.discover_project(tmp_path / "empty")


def test_invalid_file_found_by_the_search_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / "tflbench.toml", "[thresholds]\nmin_top1_agreemnt = 0.9\n")
    with pytest.raises(ConfigError, match="min_top1_agreemnt: unknown key"):
        config.discover_project(start=tmp_path)


@pytest.mark.parametrize("name, text", [
    ("pytest.ini", "[pytest]\ntflbench_config = conf/gates.toml\n"),
    (".pytest.ini", "[pytest]\ntflbench_config = conf/gates.toml\n"),
    ("tox.ini", "[tox]\nenvlist = py3\n\n[pytest]\ntflbench_config = conf/gates.toml\n"),
    ("setup.cfg", "[metadata]\nname = app\n\n[tool:pytest]\ntflbench_config = conf/gates.toml\n"),
    ("pyproject.toml", "[tool.pytest.ini_options]\ntflbench_config = 'conf/gates.toml'\n"),
    ("pytest.toml", "[pytest]\ntflbench_config = 'conf/gates.toml'\n"),
])
def test_pytest_ini_option_names_the_config(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / ".git").mkdir()
    gates = write(tmp_path / "conf" / "gates.toml", "modes = ['int8']\n")
    write(tmp_path / name, text)
    (tmp_path / "sub").mkdir()
    cfg, source = config.discover_project(start=tmp_path / "sub")
    assert source == gates.resolve() and cfg.mode_names() == ["int8"]


def test_ini_option_beats_a_config_file_beside_it(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    gates = write(tmp_path / "conf" / "gates.toml", "modes = ['int8']\n")
    write(tmp_path / "tflbench.toml", "modes = ['fp32']\n")
    write(tmp_path / "pytest.ini", "[pytest]\ntflbench_config = conf/gates.toml\n")
    assert config.discover_project(start=tmp_path)[1] == gates.resolve()


def test_only_the_nearest_pytest_ini_counts(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / "conf" / "gates.toml", "modes = ['int8']\n")
    write(tmp_path / "pytest.ini", "[pytest]\ntflbench_config = conf/gates.toml\n")
    write(tmp_path / "sub" / "tox.ini", "[pytest]\naddopts = -q\n")  # pytest's ini for sub/
    found = write(tmp_path / "tflbench.toml", "modes = ['fp32']\n")
    assert config.discover_project(start=tmp_path / "sub")[1] == found.resolve()


def test_an_ini_pointing_nowhere_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pytest.ini", "[pytest]\ntflbench_config = missing.toml\n")
    with pytest.raises(ConfigError, match="missing.toml"):
        config.discover_project(start=tmp_path)


def test_files_pytest_would_not_use_are_ignored(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / "tox.ini", "[testenv]\ntflbench_config = nope.toml\n")
    write(tmp_path / "setup.cfg", "[pytest]\ntflbench_config = nope.toml\n")  # needs tool:pytest
    assert config.pytest_ini(tmp_path) is None
    assert config.discover_project(start=tmp_path)[1] is None


def test_load_project_and_find_follow_the_same_rule(project: Path) -> None:
    deep = project / "src" / "deep"
    assert config.find(deep) == config.discover_project(start=deep)[1]
    assert config.load_project(start=deep) == config.discover_project(start=deep)[0]


# ------------------------------------------------------------------------- the built-in demo


def test_demo_notice_is_loud_outside_ci(tmp_path: Path) -> None:
    text = config.demo_notice(tmp_path, demo=False, environ={})
    assert "WARNING: no project config was found" in text
    assert "tflbench.toml" in text and "[tool.tflbench]" in text and "--demo" in text


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_demo_is_refused_in_ci(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="No project config was found") as info:
        config.demo_notice(tmp_path, demo=False, environ={"CI": value})
    assert "tflbench.toml" in str(info.value) and "--demo" in str(info.value)


def test_demo_flag_allows_the_demo_in_ci(tmp_path: Path) -> None:
    text = config.demo_notice(tmp_path, demo=True, environ={"CI": "true"})
    assert "built-in demo" in text and "--demo" in text
    assert not config.in_ci({"CI": "false"}) and not config.in_ci({})
