"""An unexpected error in one mode (the interpreter's RuntimeError, an OSError) fails only that
mode, at its stage, and the other modes' results are kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bundle_helpers import FAST, FIXTURE

from tflbench import runtime
from tflbench.errors import InternalError
from tflbench.measure import measure_bundle
from tflbench.results import validate

_invoke = runtime.Runner.invoke
_predict = runtime.Runner.predict
_get_output = runtime.Runner.get_output


def _modes(doc: dict) -> dict[str, dict]:
    return {r["mode"]: r for r in doc["models"][0]["modes"]}


def test_runtime_error_from_invoke_fails_only_that_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    def invoke(self: runtime.Runner) -> None:
        if "/ int8 " in self.name:
            raise RuntimeError("tensorflow/lite/kernels/conv.cc Node number 3 (CONV_2D) "
                               "failed to invoke.\n")
        _invoke(self)

    monkeypatch.setattr(runtime.Runner, "invoke", invoke)
    doc = measure_bundle(FIXTURE, latency=FAST, sweep=False)
    validate(doc)
    modes = _modes(doc)
    assert modes["int8"]["status"] == "failed" and modes["int8"]["stage"] == "load"
    assert modes["int8"]["error"] == ("RuntimeError: tensorflow/lite/kernels/conv.cc Node number "
                                      "3 (CONV_2D) failed to invoke.")
    for name in ("fp32", "dynamic"):
        assert modes[name]["status"] == "ok", modes[name]["error"]
        assert modes[name]["agreement"]["top1"] > 0.9


def test_os_error_while_evaluating_is_recorded_at_the_evaluate_stage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def predict(self: runtime.Runner, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
        if "/ dynamic " in self.name:
            raise OSError(5, "Input/output error")
        return _predict(self, x, batch_size)

    monkeypatch.setattr(runtime.Runner, "predict", predict)
    doc = measure_bundle(FIXTURE, latency=FAST, sweep=False, e2e=False)
    modes = _modes(doc)
    assert modes["dynamic"]["status"] == "failed" and modes["dynamic"]["stage"] == "evaluate"
    assert modes["dynamic"]["error"] == "OSError: [Errno 5] Input/output error"
    # Loaded before the failure (kept); latency comes after the evaluation, on host and device.
    assert modes["dynamic"]["io"] is not None and modes["dynamic"]["file"]["sha256"]
    assert modes["dynamic"]["latency"] is None
    assert modes["fp32"]["status"] == "ok" and modes["int8"]["status"] == "ok"


def test_error_in_end_to_end_latency_is_recorded_at_the_latency_stage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tflbench.evaluate

    real_e2e = tflbench.evaluate._e2e

    def e2e(runner: runtime.Runner, x: object, opts: object) -> object:
        if "/ fp32 " in runner.name:  # the end-to-end timing comes after evaluation and invoke
            raise RuntimeError("interpreter failed")
        return real_e2e(runner, x, opts)  # type: ignore[arg-type]

    monkeypatch.setattr(tflbench.evaluate, "_e2e", e2e)
    doc = measure_bundle(FIXTURE, latency=FAST, sweep=False, modes=["fp32", "int8"])
    modes = _modes(doc)
    assert modes["fp32"]["status"] == "failed" and modes["fp32"]["stage"] == "latency"
    assert modes["fp32"]["error"] == "RuntimeError: interpreter failed"
    assert modes["fp32"]["latency"] is not None and modes["fp32"]["agreement"] is not None
    assert modes["int8"]["status"] == "ok"


def test_error_in_one_sweep_entry_keeps_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    def invoke(self: runtime.Runner) -> None:
        if self.num_threads == 2:
            raise RuntimeError("no second thread here")
        _invoke(self)

    monkeypatch.setattr(runtime.Runner, "invoke", invoke)
    doc = measure_bundle(FIXTURE, latency=FAST, e2e=False, threads_sweep=[1, 2], modes=["fp32"],
                         num_threads=1)
    (rec,) = doc["models"][0]["modes"]
    assert rec["status"] == "ok"
    rows = {r["threads"]: r for r in rec["latency_sweep"]}
    if 2 in rows:  # capped at the usable cores
        assert rows[2]["error"] == "RuntimeError: no second thread here"
    assert "error" not in rows[1]


def test_internal_errors_still_propagate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def invoke(self: runtime.Runner) -> None:
        raise InternalError("a bug")

    monkeypatch.setattr(runtime.Runner, "invoke", invoke)
    with pytest.raises(InternalError, match="a bug"):
        measure_bundle(FIXTURE, latency=FAST, sweep=False, e2e=False)
