"""Config discovery in ``run``, ``test``, ``bundle`` and ``measure``: one rule everywhere,
``[tool.tflbench]`` in a parent folder, ``--config``, the ini's ``tflbench_config``, and the
built-in demo (loud; refused in CI without ``--demo``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tflbench import cli
from tflbench.commands import run as run_command
from tflbench.commands import test as test_command

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"
MEASURE_QUICK = ["--threads", "none", "--min-runs", "3", "--min-seconds", "0", "--max-runs",
                 "5", "--warmup-runs", "1", "--max-seconds", "0.5", "--no-e2e", "--quiet"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with ``[tool.tflbench]`` in its pyproject.toml; the current directory is a
    subfolder of it."""
    root = tmp_path / "app"
    (root / ".git").mkdir(parents=True)
    write(root / "pyproject.toml", """
        [project]
        name = "app"

        [tool.tflbench]
        modes = ["fp32"]

        [tool.tflbench.thresholds]
        max_size_bytes = 123456
        min_top1_agreement = 0.5
    """)
    (root / "src" / "pkg").mkdir(parents=True)
    monkeypatch.chdir(root / "src" / "pkg")
    monkeypatch.delenv("CI", raising=False)
    return root


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with no project config above it (up to its repository root)."""
    d = tmp_path / "empty"
    (d / ".git").mkdir(parents=True)
    monkeypatch.chdir(d)
    monkeypatch.delenv("CI", raising=False)
    return d


@pytest.fixture
def pytest_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argument lists ``tflbench test`` hands to pytest (pytest itself is not run)."""
    import pytest as pytest_module

    calls: list[list[str]] = []

    def fake_main(args: list[str], *a: Any, **k: Any) -> int:
        calls.append(list(args))
        return 0

    monkeypatch.setattr(pytest_module, "main", fake_main)
    return calls


def _config_arg(argv: list[str]) -> str | None:
    return argv[argv.index("--tflbench-config") + 1] if "--tflbench-config" in argv else None


# ----------------------------------------------------------------------------------- run


def test_run_finds_the_parent_pyproject_section(project: Path) -> None:
    args = cli.build_parser().parse_args(["run"])
    settings, subjects = run_command.settings_and_subjects(args)
    assert args._project.source == (project / "pyproject.toml").resolve()
    assert [m.name for m in settings.modes] == ["fp32"]
    assert args._project.thresholds.limits("digits-cnn", "fp32").max_size_bytes == 123456


def test_run_keeps_the_project_with_model_and_recipe(project: Path) -> None:
    args = cli.build_parser().parse_args(["run", "--recipe", "digits-cnn"])
    settings, subjects = run_command.settings_and_subjects(args)
    assert [s.name for s in subjects] == ["digits-cnn"]
    assert args._project.source == (project / "pyproject.toml").resolve()


def test_run_honours_config(project: Path) -> None:
    other = write(project / "gates" / "strict.toml", "modes = ['int8']\n")
    args = cli.build_parser().parse_args(["run", "--config", str(other)])
    settings, _ = run_command.settings_and_subjects(args)
    assert args._project.source == other.resolve()
    assert [m.name for m in settings.modes] == ["int8"]


def test_run_strict_on_the_demo_is_refused_in_ci(outside: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CI", "true")
    started: list[int] = []
    monkeypatch.setattr(run_command, "run_with_progress", lambda *a, **k: started.append(1))
    assert cli.main(["run", "--strict", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "No project config was found" in err and "--demo" in err
    assert "tflbench.toml" in err and "[tool.tflbench]" in err
    assert started == []


class _Stop(Exception):
    pass


def _stop(*args: Any, **kwargs: Any) -> None:
    raise _Stop


def test_run_strict_demo_is_allowed_in_ci(outside: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(run_command, "run_with_progress", _stop)
    with pytest.raises(_Stop):  # got past the refusal to the run itself
        run_command.main(cli.build_parser().parse_args(["run", "--strict", "--demo"]))
    assert "gating the built-in demo" in capsys.readouterr().err


def test_run_strict_on_the_demo_warns_outside_ci(outside: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(run_command, "run_with_progress", _stop)
    with pytest.raises(_Stop):
        run_command.main(cli.build_parser().parse_args(["run", "--strict"]))
    assert "WARNING: no project config was found" in capsys.readouterr().err


def test_run_without_strict_or_with_a_model_says_nothing(outside: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(run_command, "run_with_progress", _stop)
    for argv in (["run"], ["run", "--strict", "--recipe", "digits-cnn"]):
        with pytest.raises(_Stop):
            run_command.main(cli.build_parser().parse_args(argv))
    assert "demo" not in capsys.readouterr().err


# ----------------------------------------------------------------------------------- test


def test_test_finds_the_parent_pyproject_section(project: Path,
                                                 pytest_calls: list[list[str]],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["test", "-x"]) == 0
    (argv,) = pytest_calls
    assert _config_arg(argv) == str((project / "pyproject.toml").resolve())
    assert "-x" in argv and "demo" not in capsys.readouterr().err


def test_test_honours_config(project: Path, pytest_calls: list[list[str]]) -> None:
    other = write(project / "gates" / "strict.toml", "modes = ['int8']\n")
    assert cli.main(["test", "--config", str(other), "-k", "size"]) == 0
    assert cli.main(["test", f"--config={other}"]) == 0
    for argv in pytest_calls:
        assert _config_arg(argv) == str(other.resolve())
        assert "--config" not in argv and not any(a.startswith("--config=") for a in argv)
    assert pytest_calls[0][-3:-1] == ["-k", "size"]


def test_test_honours_the_ini_option(project: Path, pytest_calls: list[list[str]]) -> None:
    gates = write(project / "conf" / "gates.toml", "modes = ['fp16']\n")
    write(project / "pytest.ini", "[pytest]\ntflbench_config = conf/gates.toml\n")
    assert cli.main(["test"]) == 0
    assert _config_arg(pytest_calls[0]) == str(gates.resolve())


def test_test_keeps_the_plugin_option(project: Path, pytest_calls: list[list[str]]) -> None:
    other = write(project / "other.toml", "modes = ['int8']\n")
    assert cli.main(["test", "--tflbench-config", str(other)]) == 0
    (argv,) = pytest_calls
    assert argv.count("--tflbench-config") == 1 and _config_arg(argv) == str(other)


def test_test_options_after_a_double_dash_go_to_pytest() -> None:
    assert test_command.split_args(["--demo", "-x", "--", "--config", "x"]) == (
        None, True, False, ["-x", "--config", "x"])


def test_test_refuses_the_demo_in_ci(outside: Path, monkeypatch: pytest.MonkeyPatch,
                                     pytest_calls: list[list[str]],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CI", "true")
    assert cli.main(["test"]) == 2
    err = capsys.readouterr().err
    assert "No project config was found" in err and "--demo" in err
    assert pytest_calls == []


def test_test_demo_is_allowed_in_ci(outside: Path, monkeypatch: pytest.MonkeyPatch,
                                    pytest_calls: list[list[str]],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CI", "true")
    assert cli.main(["test", "--demo", "-q"]) == 0
    assert "gating the built-in demo" in capsys.readouterr().err
    (argv,) = pytest_calls
    assert _config_arg(argv) is None and "--demo" not in argv


def test_test_warns_about_the_demo_outside_ci(outside: Path, pytest_calls: list[list[str]],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["test"]) == 0
    assert "WARNING: no project config was found" in capsys.readouterr().err
    assert len(pytest_calls) == 1


def test_test_help_shows_tflbench_options_first(project: Path, pytest_calls: list[list[str]],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["test", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--config PATH" in out and "--demo" in out and "tflbench test" in out
    (argv,) = pytest_calls
    assert "--help" in argv  # then pytest's own help, with the plugin's options


def _tflbench(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "PYTEST_XDIST_TESTRUNUID", "PYTEST_XDIST_WORKER")}
    return subprocess.run([sys.executable, "-m", "tflbench", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_test_collects_with_the_discovered_config(project: Path) -> None:
    """End to end: the plugin under ``tflbench test`` parametrizes with the parent folder's
    [tool.tflbench] modes, and with the ini option's file (collection only, nothing runs)."""
    proc = _tflbench(project / "src" / "pkg", "test", "--co", "-q", "-p", "no:randomly")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "digits-cnn-fp32" in proc.stdout and "int8" not in proc.stdout
    write(project / "conf" / "gates.toml", "modes = ['fp16']\n")
    write(project / "pytest.ini", "[pytest]\ntflbench_config = conf/gates.toml\n")
    proc = _tflbench(project / "src" / "pkg", "test", "--co", "-q")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "digits-cnn-fp16" in proc.stdout and "fp32" not in proc.stdout


# --------------------------------------------------------------------------------- bundle


def test_bundle_thresholds_come_from_the_discovered_project(project: Path) -> None:
    doc = {"models": [{"name": "tiny", "modes": [{"mode": "fp32"}]}]}
    for argv in (["bundle"], ["bundle", "--recipe", "digits-cnn"]):
        args = cli.build_parser().parse_args(argv)
        run_command.settings_and_subjects(args)
        limits = __import__("tflbench.commands.bundle", fromlist=["x"]).thresholds_for(doc, args)
        assert limits["tiny"]["fp32"]["max_size_bytes"] == 123456
        assert limits["tiny"]["fp32"]["min_top1_agreement"] == 0.5


def test_bundle_model_from_a_subfolder_stores_the_project_thresholds(
        project: Path, tiny_model_file: Path, digits_npz: Path, tmp_path: Path) -> None:
    from tflbench.bundle import MANIFEST

    out = tmp_path / "b"
    rc = cli.main(["bundle", "--model", str(tiny_model_file), "--data", f"npz:{digits_npz}",
                   "--name", "tiny", "--max-samples", "20", "--out", str(out),
                   "--cache-dir", str(tmp_path / "cache"), "--representative-samples", "20",
                   "--quiet"])
    assert rc == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert list(manifest["thresholds"]["tiny"]) == ["fp32"]  # the project's modes
    limits = manifest["thresholds"]["tiny"]["fp32"]
    assert limits["max_size_bytes"] == 123456 and limits["min_top1_agreement"] == 0.5


# -------------------------------------------------------------------------------- measure


def test_measure_gate_uses_the_bundle_limits_unless_config(tmp_path: Path) -> None:
    bundle = tmp_path / "digits-mini"
    shutil.copytree(FIXTURE, bundle)
    strict = write(tmp_path / "strict" / "tflbench.toml", "[thresholds]\nmax_size_bytes = 1\n")
    out = str(tmp_path / "d.json")
    plain = _tflbench(tmp_path, "measure", str(bundle), "--gate", "--modes", "fp32",
                      "--out", out, *MEASURE_QUICK)
    assert "max_size_bytes" not in plain.stdout, plain.stdout[-2000:]
    gated = _tflbench(tmp_path, "measure", str(bundle), "--gate", "--modes", "fp32",
                      "--config", str(strict.parent), "--out", out, *MEASURE_QUICK)
    assert gated.returncode == 1, gated.stdout[-2000:] + gated.stderr[-2000:]
    assert "gate failed" in gated.stdout and "size" in gated.stdout
    bad = _tflbench(tmp_path, "measure", str(bundle), "--config", str(strict), "--out", out)
    assert bad.returncode == 2 and "--gate" in bad.stderr
