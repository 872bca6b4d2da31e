"""The packaged release suites and ``tflbench test``, on the real pipeline.

A tiny user model (``.keras`` + ``.npz`` through a config file) keeps the default run short; the
embedded default subjects run under ``-m slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tflbench import cli
from tflbench.commands import test as test_command
from tflbench.locking import FileLock

TINY_LATENCY = """
[latency]
warmup_runs = 2
warmup_seconds = 0.0
min_runs = 20
min_seconds = 0.0
max_seconds = 1.0
"""


def run_tflbench_test(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
    env.pop("PYTEST_XDIST_TESTRUNUID", None)  # an outer xdist run must not share sessions
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([sys.executable, "-m", "tflbench", "test", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with a tiny Keras model, its data as .npz and a tflbench.toml (built once)."""
    root = tmp_path_factory.getbasetemp().parent / "tflbench-tiny-project-v1"
    with FileLock(root.parent / "tflbench-tiny-project-v1.lock"):  # xdist workers build it once
        if not (root / "tflbench.toml").exists():
            _build_tiny_project(root)
    return root


def _build_tiny_project(root: Path) -> None:
    import keras

    from tflbench.data import digits

    ds = digits.load()
    (root / "data").mkdir(parents=True, exist_ok=True)
    x = np.concatenate([ds.train.x, ds.val.x, ds.test.x])
    y = np.concatenate([ds.train.y, ds.val.y, ds.test.y])
    np.savez(root / "data" / "digits.npz", x=np.round(x[..., 0] * 255).astype(np.uint8), y=y)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(ds.train.x, ds.train.y, epochs=30, batch_size=64, verbose=0)
    (root / "models").mkdir(exist_ok=True)
    model.save(root / "models" / "tiny.keras")
    (root / "tflbench.toml").write_text(textwrap.dedent("""
        modes = ["fp32", "int8"]
        cache_dir = ".cache"
        report_dir = "out"

        [[models]]
        name = "tiny"
        path = "models/tiny.keras"
        data = "npz:data/digits.npz"
        class_names = ["zero", "one", "two", "three", "four", "five", "six", "seven",
                       "eight", "nine"]
        """) + TINY_LATENCY)


def test_tflbench_test_passes_on_a_user_model(tiny_project: Path) -> None:
    proc = run_tflbench_test(tiny_project, "-p", "no:randomly", "--junitxml=gates.xml", "-rs")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cases = {c.get("name"): c for c in ET.parse(tiny_project / "gates.xml").iter("testcase")}
    for name in ("test_conversion[tiny-int8]", "test_agreement[tiny-fp32]",
                 "test_output_error[tiny-int8]", "test_accuracy_drop[tiny-int8]",
                 "test_class_accuracy_drop[tiny-int8]", "test_size[tiny-int8]",
                 "test_latency[tiny-int8]", "test_baseline[tiny-fp32]",
                 "test_baseline_latency[tiny-fp32]"):
        assert name in cases, sorted(cases)
        assert cases[name].find("failure") is None
    assert cases["test_baseline[tiny-int8]"].find("skipped") is not None
    assert cases["test_baseline_latency[tiny-int8]"].find("skipped") is not None
    assert "all gates passed" in proc.stdout
    out = tiny_project / "out"
    assert (out / "results.json").exists() and (out / "report.html").exists()


def test_tflbench_test_fails_with_one_line_per_gate(tiny_project: Path) -> None:
    strict = tiny_project / "strict.toml"
    strict.write_text((tiny_project / "tflbench.toml").read_text()
                      + "\n[thresholds]\nmax_size_bytes = 100\n")
    proc = run_tflbench_test(tiny_project, "--tflbench-config", str(strict), "-k", "size",
                             "--tflbench-report-dir", "strict-out")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    for mode in ("fp32", "int8"):
        assert f"tiny/{mode}: file size " in proc.stdout
    assert "> 100 B (max_size_bytes)" in proc.stdout
    assert "2 gate(s) failed:" in proc.stdout
    assert (tiny_project / "strict-out" / "results.json").exists()


def test_tflbench_test_baseline_against_itself_passes(tiny_project: Path) -> None:
    first = run_tflbench_test(tiny_project, "-k", "conversion", "--tflbench-report-dir",
                              "base-out")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    base = tiny_project / "base-out" / "results.json"
    proc = run_tflbench_test(tiny_project, "-k", "baseline", "--tflbench-baseline", str(base),
                             "--tflbench-report-dir", "again")
    # Same model and data: accuracy and agreement cannot change. Latency is measured again, so
    # on a busy machine it may regress for real; nothing else may fail.
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    failed = [line for line in proc.stdout.splitlines() if line.startswith("  - ")]
    assert all("latency p50" in line for line in failed), failed
    assert (proc.returncode == 0) == (not failed)
    # Deselecting the latency tests keeps every other baseline check, which must pass.
    proc = run_tflbench_test(tiny_project, "-k", "baseline", "-m", "not latency",
                             "--tflbench-baseline", str(base), "--tflbench-report-dir", "again",
                             "--junitxml=baseline.xml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    names = {c.get("name") for c in ET.parse(tiny_project / "baseline.xml").iter("testcase")}
    assert names == {"test_baseline[tiny-fp32]", "test_baseline[tiny-int8]"}


@pytest.mark.slow
def test_suites_on_the_embedded_default(tmp_path: Path,
                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = os.environ.get("TFLBENCH_CACHE_DIR") or str(
        tmp_path_factory.getbasetemp().parent / "tflbench-default-cache")
    (tmp_path / "tflbench.toml").write_text(
        f'modes = ["fp32", "int8"]\ncache_dir = "{cache}"\n' + TINY_LATENCY)
    proc = run_tflbench_test(tmp_path, "-q", "--junitxml=gates.xml", timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "all gates passed" in proc.stdout
    names = {c.get("name") for c in ET.parse(tmp_path / "gates.xml").iter("testcase")}
    assert {"test_agreement[digits-cnn-int8]", "test_latency[digits-mobilenet-fp32]"} <= names
    assert (tmp_path / "reports" / "results.json").exists()


# ------------------------------------------------------------------------------- the command


def test_every_argument_goes_to_pytest() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["test", "--junitxml", "x.xml", "-k", "agreement", "-n", "2"])
    assert args.pytest_args == ["--junitxml", "x.xml", "-k", "agreement", "-n", "2"]
    args = parser.parse_args(["test"])
    assert args.pytest_args == []


def test_pytest_argv_uses_the_project_config(tmp_path: Path) -> None:
    (tmp_path / "tflbench.toml").write_text("modes = ['fp32']\n")
    argv = test_command.pytest_argv(["--", "-x"], cwd=tmp_path)
    assert argv[:2] == ["-c", os.devnull]
    assert argv[argv.index("--tflbench-config") + 1] == str((tmp_path / "tflbench.toml")
                                                            .resolve())
    assert argv[-2] == "-x" and argv[-1].endswith(os.path.join("tflbench", "suites"))
    assert f"cache_dir={tmp_path.resolve() / '.pytest_cache'}" in argv


def test_pytest_argv_keeps_an_explicit_config(tmp_path: Path) -> None:
    (tmp_path / "tflbench.toml").write_text("modes = ['fp32']\n")
    argv = test_command.pytest_argv(["--tflbench-config=other.toml"], cwd=tmp_path)
    assert argv.count("--tflbench-config") == 0 and "--tflbench-config=other.toml" in argv


def test_bad_config_is_a_user_error_before_pytest_runs(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "tflbench.toml").write_text("[thresholds]\nmin_top1_agreemnt = 0.9\n")
    proc = run_tflbench_test(tmp_path, "-q", timeout=120)
    assert proc.returncode == 2  # a configuration error, as for every command
    assert "[thresholds] min_top1_agreemnt: unknown key" in proc.stderr
    assert proc.stdout == ""
