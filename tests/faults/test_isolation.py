"""Crash isolation and time limits: a native crash, an out-of-memory kill or a hang of one
mode's runtime work is that mode's recorded failure; the other modes go on."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tflbench import runtime
from tflbench.isolate import ChildFailure, run_in_child
from tflbench.measure import measure_bundle
from tflbench.results import validate
from tflbench.timing import LatencySettings

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"
FAST = LatencySettings(warmup_runs=1, warmup_seconds=0.0, min_runs=3, min_seconds=0.0,
                       max_runs=5, max_seconds=1.0)
_invoke = runtime.Runner.invoke
_predict = runtime.Runner.predict

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the stubs reach the child through fork")


def _die(signum: int) -> None:
    os.kill(os.getpid(), signum)


def test_run_in_child_returns_and_reraises() -> None:
    assert run_in_child(sum, [1, 2, 3]) == 6
    with pytest.raises(ZeroDivisionError):
        run_in_child(divmod, 1, 0)


def test_run_in_child_names_the_signal_and_the_timeout() -> None:
    with pytest.raises(ChildFailure, match="was killed by SIGSEGV") as exc:
        run_in_child(_die, signal.SIGSEGV, label="probe")
    assert exc.value.signal_name == "SIGSEGV"
    with pytest.raises(ChildFailure, match="OOM killer"):
        run_in_child(_die, signal.SIGKILL, label="probe")
    with pytest.raises(ChildFailure, match="did not finish within 0.5 s") as exc:
        run_in_child(time.sleep, 30, timeout=0.5, label="probe")
    assert exc.value.timed_out


def test_self_killing_runtime_fails_one_mode_in_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    def invoke(self: runtime.Runner) -> None:
        if "/ dynamic " in self.name:
            _die(signal.SIGSEGV)  # a native crash inside the interpreter
        _invoke(self)

    monkeypatch.setattr(runtime.Runner, "invoke", invoke)
    doc = measure_bundle(FIXTURE, latency=FAST, sweep=False, e2e=False)  # isolated by default
    validate(doc)
    modes = {r["mode"]: r for r in doc["models"][0]["modes"]}
    assert modes["dynamic"]["status"] == "failed"
    assert "killed by SIGSEGV" in modes["dynamic"]["error"]
    assert modes["dynamic"]["signal"] == "SIGSEGV"
    assert modes["dynamic"]["file"]["sha256"]  # what the parent knew is kept
    for name in ("fp32", "int8"):
        assert modes[name]["status"] == "ok", modes[name]["error"]


def test_a_hung_mode_is_stopped_at_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def predict(self: runtime.Runner, x: object, batch_size: int = 64) -> object:
        if "/ int8 " in self.name:
            time.sleep(120)
        return _predict(self, x, batch_size)  # type: ignore[arg-type]

    monkeypatch.setattr(runtime.Runner, "predict", predict)
    # generous: the other modes must finish well within it even on a loaded machine
    doc = measure_bundle(FIXTURE, latency=FAST, sweep=False, e2e=False, mode_timeout=30.0)
    modes = {r["mode"]: r for r in doc["models"][0]["modes"]}
    assert modes["int8"]["status"] == "failed" and modes["int8"]["stage"] == "timeout"
    assert "did not finish within 30 s" in modes["int8"]["error"]
    assert modes["fp32"]["status"] == "ok"


def test_pipeline_isolate_keeps_the_other_modes(monkeypatch: pytest.MonkeyPatch,
                                                tiny_model_file: Path, digits_npz: Path,
                                                tmp_path: Path) -> None:
    from tflbench import gates, pipeline

    def invoke(self: runtime.Runner) -> None:
        if self.name.endswith("/int8"):
            _die(signal.SIGABRT)
        _invoke(self)

    monkeypatch.setattr(runtime.Runner, "invoke", invoke)
    settings = pipeline.RunSettings(
        modes=tuple(pipeline.MODES[m] for m in ("fp32", "int8")), cache_dir=tmp_path / "c",
        latency=FAST, isolate=True)
    subject = pipeline.subject_from_model_file(tiny_model_file, f"npz:{digits_npz}", name="m")
    doc = pipeline.run([subject], settings)
    modes = {r["mode"]: r for r in doc["models"][0]["modes"]}
    assert modes["fp32"]["status"] == "ok"
    assert modes["int8"]["status"] == "failed" and "SIGABRT" in modes["int8"]["error"]
    failed = [r.line for r in gates.evaluate(doc) if not r.passed]
    assert any("m/int8: failed at stage evaluate" in line for line in failed)
