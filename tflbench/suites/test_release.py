"""The ready-made release-gate suite: one test per gate, per model x mode.

Run it with ``tflbench test`` (or ``pytest --pyargs tflbench.suites``) in a project with a
``tflbench.toml`` / ``[tool.tflbench]``; ids read like ``test_agreement[digits-cnn-int8]``.
Every failing test prints one line: what, measured, limit, mode and model. Thresholds and the
defaults are described in ``docs/gating.md``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tflbench import gates
from tflbench.plugin import Evaluation, TfliteModel, baseline_lines, sample_input

pytestmark = [
    pytest.mark.tflbench_slow,
    # Keras and TensorFlow warn about their own internals while building references.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:tensorflow.*"),
]

try:
    import pytest_benchmark  # noqa: F401

    HAVE_BENCHMARK = True
except ImportError:  # pragma: no cover - pytest-benchmark is a dev dependency
    HAVE_BENCHMARK = False


def _require_all(evaluation: Evaluation, names: tuple[str, ...]) -> None:
    """Fail with every failing line of ``names``; skip when none of them has a limit."""
    if evaluation.record.get("status") != "ok":
        pytest.skip(f"{evaluation.model}/{evaluation.mode} did not run: "
                    f"{evaluation.record.get('error')}")
    results = [r for r in (evaluation.check(n) for n in names) if r is not None]
    if not results:
        pytest.skip(f"no {' or '.join(names)} threshold for "
                    f"{evaluation.model}/{evaluation.mode}")
    lines = gates.failure_lines(results)
    if lines:
        pytest.fail("\n".join(lines), pytrace=False)


def test_conversion(evaluation: Evaluation) -> None:
    """The mode converts, loads, evaluates and times without error."""
    evaluation.require("require_conversion")


def test_agreement(evaluation: Evaluation) -> None:
    """TFLite top-1 classes agree with the Keras reference."""
    evaluation.require("min_top1_agreement")


def test_output_error(evaluation: Evaluation) -> None:
    """TFLite outputs stay close to Keras: mean absolute difference and SQNR."""
    _require_all(evaluation, ("max_mean_abs_diff", "min_sqnr_db"))


def test_accuracy_drop(evaluation: Evaluation) -> None:
    """Test accuracy does not drop below the Keras reference by more than allowed."""
    evaluation.require("max_accuracy_drop")


def test_class_accuracy_drop(evaluation: Evaluation) -> None:
    """The worst class does not lose more accuracy than allowed."""
    evaluation.require("max_class_accuracy_drop")


def test_size(evaluation: Evaluation) -> None:
    """The ``.tflite`` file fits the size budget (bytes and ratio to fp32)."""
    _require_all(evaluation, ("max_size_bytes", "max_size_ratio"))


def _check_latency(evaluation: Evaluation) -> None:
    """Gate the p90 the pipeline measured: the same check as the summary and ``doc["gates"]``."""
    result = evaluation.check("max_latency_p90_us")
    if result is not None and not result:
        pytest.fail(result.line, pytrace=False)


if HAVE_BENCHMARK:

    @pytest.mark.latency
    def test_latency(tflite_model: TfliteModel, evaluation: Evaluation, benchmark: Any,
                     tflbench_settings: Any, request: pytest.FixtureRequest) -> None:
        """Single-sample ``invoke()`` latency: gates the pipeline's p90 (the figure in the
        summary, ``results.json`` and the reports).

        pytest-benchmark times ``invoke()`` alongside, so ``--benchmark-json`` and
        ``--benchmark-compare`` work on these measurements; its statistics never gate (use
        ``--benchmark-compare-fail`` for that). ``extra_info`` carries the gated figure.
        """
        if not tflite_model.ok:
            pytest.skip(f"{tflite_model.model}/{tflite_model.mode} did not run: "
                        f"{tflite_model.record.get('error')}")
        runner = tflite_model.runner(num_threads=tflbench_settings.num_threads,
                                     xnnpack=tflbench_settings.xnnpack)
        x = sample_input(request.config, tflite_model.model)
        lat = tflbench_settings.latency
        benchmark.group = tflite_model.model
        benchmark.extra_info.update(
            model=tflite_model.model, mode=tflite_model.mode,
            threads=tflbench_settings.num_threads, xnnpack=tflbench_settings.xnnpack,
            gated_p90_us=(tflite_model.record.get("latency") or {}).get("p90"))
        benchmark.pedantic(runner.invoke, setup=lambda: runner.set_single_input(x),
                           rounds=max(1, lat.min_runs), warmup_rounds=lat.warmup_runs,
                           iterations=1)
        _check_latency(evaluation)

else:  # pragma: no cover

    @pytest.mark.latency
    def test_latency(evaluation: Evaluation) -> None:
        """Single-sample ``invoke()`` latency: gates the pipeline's p90."""
        if evaluation.record.get("status") != "ok":
            pytest.skip(f"{evaluation.model}/{evaluation.mode} did not run")
        _check_latency(evaluation)


def _fail_with(lines: list[str]) -> None:
    if lines:
        pytest.fail("\n".join(lines), pytrace=False)


def test_baseline(tflite_model: TfliteModel, request: pytest.FixtureRequest) -> None:
    """No regression against the previous release (``--tflbench-baseline``): the mode still
    runs, accuracy and agreement did not drop. Latency is :func:`test_baseline_latency`."""
    _fail_with(list(baseline_lines(request.config, tflite_model.model, tflite_model.mode,
                                   latency=False)))


@pytest.mark.latency
def test_baseline_latency(tflite_model: TfliteModel, request: pytest.FixtureRequest) -> None:
    """The median latency did not grow significantly beyond ``max_latency_increase``
    (``-m "not latency"`` deselects it; ``max_latency_increase = false`` turns it off)."""
    _fail_with(list(baseline_lines(request.config, tflite_model.model, tflite_model.mode,
                                   latency=True)))
