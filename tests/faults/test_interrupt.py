"""A cancelled job (SIGTERM) keeps its finished modes in a valid partial results file, and the
same command with --resume reuses them and completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tflbench.results import validate

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _command(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tflbench", "run", "--model", str(model), "--data",
            f"npz:{data}", "--modes", "fp32,dynamic,fp16,int8", "--quiet",
            "--report-dir", str(out / "reports"), "--cache-dir", str(out / "cache"), *extra]


def test_sigterm_writes_partial_results_and_resume_completes(
        tiny_model_file: Path, digits_npz: Path, tmp_path: Path) -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(_command(tiny_model_file, digits_npz, tmp_path), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records = tmp_path / "cache" / "mode-records"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if records.is_dir() and any(records.glob("*.json")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before a mode finished"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "interrupted by SIGTERM" in err and "--resume" in err

    doc = json.loads((tmp_path / "reports" / "results.json").read_text())
    validate(doc)
    assert doc["interrupted"] is True
    finished = [r["mode"] for r in doc["models"][0]["modes"]]
    assert finished and finished == ["fp32", "dynamic", "fp16", "int8"][: len(finished)]
    assert len(finished) < 4

    again = subprocess.run(_command(tiny_model_file, digits_npz, tmp_path, "--resume"),
                           env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"reused {len(finished)} finished mode(s)" in again.stderr
    done = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert "interrupted" not in done
    assert [r["mode"] for r in done["models"][0]["modes"]] == ["fp32", "dynamic", "fp16", "int8"]
    before = {r["mode"]: r for r in doc["models"][0]["modes"]}
    for rec in done["models"][0]["modes"]:
        if rec["mode"] in before:
            assert rec["agreement"] == before[rec["mode"]]["agreement"]


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for k in map(int, kids):
            out.add(k)
            todo.append(k)
    return out


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_sigterm_during_parallel_training_stops_the_workers(tmp_path: Path) -> None:
    """A cancelled parallel run does not wait for a worker's training: it exits 143 with a
    partial results file and leaves no worker behind."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TFLBENCH_JOBS": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tflbench", "run", "--recipe", "digits-mobilenet", "--param",
         "epochs=200", "--modes", "fp32", "--quiet", "--report-dir", str(tmp_path / "reports"),
         "--cache-dir", str(tmp_path / "cache")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and proc.poll() is None and len(workers) < 3:
        workers = _descendants(proc.pid)  # the fork server and its two workers
        time.sleep(0.2)
    assert proc.poll() is None and len(workers) >= 3, "no worker pool started"
    time.sleep(3.0)  # the training has started in a worker (200 epochs: minutes)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    doc = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert doc["interrupted"] is True
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if Path(f"/proc/{p}/status").exists()
                and "zombie" not in Path(f"/proc/{p}/status").read_text()]


def test_a_signal_whose_exception_was_swallowed_still_interrupts() -> None:
    """Native code that calls back into Python (a calibration generator) can eat the
    exception a handler raises: the signal is remembered and raised between steps."""
    from tflbench.interrupt import Interrupted, raise_if_pending, signals_as_interrupt

    with signals_as_interrupt():
        raise_if_pending()  # nothing yet
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1.0)  # the handler runs here
        except KeyboardInterrupt:
            pass  # what the callback's caller did
        with pytest.raises(Interrupted) as exc:
            raise_if_pending()
        assert exc.value.exit_code == 143
    raise_if_pending()  # cleared when the block ends
