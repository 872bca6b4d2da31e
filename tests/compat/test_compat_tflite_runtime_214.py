"""Opt-in (``-m slow``): prove the tflite-runtime 2.14 table right in a real 2.14 environment.

Builds (once, then reuses) a virtual environment with ``tflite-runtime==2.14.0`` and
``numpy<2`` from PyPI: ``$TFLBENCH_TFLRT214_VENV`` or ``<tmp>/tflbench-venv-tflrt214``. Its last
release has wheels for CPython 3.8-3.11 on Linux x86_64 and aarch64 only.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tflbench.compat.probe import probe_runtime, run_worker
from tflbench.compat.runtimes import find_release

MODELS = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"
MODELS = MODELS / "digits-mini"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tflrt214_python() -> str:
    if not ((3, 8) <= sys.version_info[:2] <= (3, 11) and platform.system() == "Linux"
            and platform.machine() in ("x86_64", "aarch64")):
        pytest.skip("tflite-runtime 2.14.0 has wheels for CPython 3.8-3.11 on Linux only")
    venv = Path(os.environ.get("TFLBENCH_TFLRT214_VENV",
                               Path(tempfile.gettempdir()) / "tflbench-venv-tflrt214"))
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import tflite_runtime.interpreter"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "tflite-runtime==2.14.0",
                          "numpy<2"], capture_output=True, text=True)
    if pip.returncode != 0:
        pytest.skip(f"cannot install tflite-runtime 2.14.0: {pip.stderr.strip()[-500:]}")
    return str(python)


def test_dynamic_model_is_refused_and_the_others_load(tflrt214_python: str) -> None:
    modes = ["fp32", "dynamic", "int8"]
    result = run_worker(tflrt214_python, "tflite_runtime",
                        [(str(MODELS / f"{m}.tflite"), m, 0) for m in modes])
    assert result["version"] == "2.14.0"
    assert dict(zip(modes, result["outcomes"], strict=True)) == {
        "fp32": "ok", "dynamic": "refused", "int8": "ok"}


def test_refusal_names_the_op_and_version(tflrt214_python: str) -> None:
    code = ("from tflite_runtime.interpreter import Interpreter\n"
            f"Interpreter(model_path={str(MODELS / 'dynamic.tflite')!r})\n")
    proc = subprocess.run([tflrt214_python, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'" in proc.stderr


def test_committed_table_matches_a_fresh_probe(tflrt214_python: str) -> None:
    entry = probe_runtime(tflrt214_python, "tflite_runtime", max_version=32)
    committed = find_release("tflite-runtime", "2.14.0")
    assert committed is not None
    assert entry["max_versions"] == dict(committed.max_versions)
    assert entry["min_versions"] == dict(committed.min_versions)
