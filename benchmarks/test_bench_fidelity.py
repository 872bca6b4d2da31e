"""Fidelity of tflbench's latency method against LiteRT's own benchmark tool.

The same ``.tflite`` is timed with the same thread count by ``tflbench`` (the method of
``tflbench measure``: one interpreter with XNNPACK, input set once, ``invoke()`` alone timed with
``perf_counter_ns`` after a warm-up) and by ``litert-benchmark`` (ai-edge-litert's tool), in
alternation, ten rounds each. The figure is the ratio of the medians of the per-round medians
(tflbench / litert-benchmark), target 1.00 +- 0.05; the median of the per-round paired ratios
is reported too (robust when the machine changes speed between rounds).

    pytest benchmarks/test_bench_fidelity.py --benchmark-only -s

``litert-benchmark`` prints milliseconds with two decimals, so the models are sized to take
milliseconds per call (a MobileNetV2 at 160x160, random weights) to keep its rounding under 1%.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tflbench.runtime import Runner
from tflbench.timing import LatencySettings, measure

ROUNDS = int(os.environ.get("TFLBENCH_FIDELITY_ROUNDS", "10"))
RUNS, WARMUP = 100, 20
#: Both sides do exactly WARMUP warm-up calls and RUNS timed calls.
SETTINGS = LatencySettings(warmup_runs=WARMUP, warmup_seconds=0.0, min_runs=RUNS,
                           min_seconds=0.0, max_runs=RUNS, max_seconds=120.0)
TOOL = shutil.which("litert-benchmark") or str(Path(sys.executable).with_name("litert-benchmark"))
_MEDIAN = re.compile(r"Inference \(median\):\s+([0-9.]+)\s*ms")

pytestmark = pytest.mark.skipif(not Path(TOOL).exists(),
                                reason="litert-benchmark (ai-edge-litert) is not installed")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """MobileNetV2 (alpha 1.0, 160x160, random weights) as fp32 and int8 ``.tflite``."""
    import keras

    from tflbench.convert import convert
    from tflbench.modes import MODES

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(input_shape=(160, 160, 3), alpha=1.0,
                                           weights=None, classes=10)
    rep = np.random.default_rng(0).uniform(-1, 1, (16, 160, 160, 3)).astype(np.float32)
    d = tmp_path_factory.mktemp("fidelity")
    out = {}
    for mode in ("fp32", "int8"):
        path = d / f"mobilenet_v2_160_{mode}.tflite"
        path.write_bytes(convert(model, MODES[mode], rep, name="mobilenet_v2").tflite)
        out[mode] = path
    return out


def tflbench_median_us(path: Path, threads: int) -> float:
    runner = Runner(path, num_threads=threads, xnnpack=True)
    x = np.random.default_rng(1).uniform(-1, 1, runner.sample_shape).astype(np.float32)
    runner.set_single_input(x)
    return measure(runner.invoke, SETTINGS).median


def litert_median_us(path: Path, threads: int) -> float:
    proc = subprocess.run(
        [TOOL, "--model", str(path), "--num_threads", str(threads), "--num_runs", str(RUNS),
         "--warmup_runs", str(WARMUP)],
        capture_output=True, text=True, timeout=600, check=True)
    m = _MEDIAN.search(proc.stdout)
    assert m, f"unexpected litert-benchmark output:\n{proc.stdout}\n{proc.stderr}"
    return float(m.group(1)) * 1000.0


def _loadavg() -> str | None:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return None


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("mode", ["fp32", "int8"])
def test_fidelity(benchmark: Any, models: dict[str, Path], mode: str, threads: int) -> None:
    path = models[mode]
    ours, theirs = [], []
    for i in range(ROUNDS):  # alternate (and swap the order) so drifts hit both sides alike
        if i % 2:
            theirs.append(litert_median_us(path, threads))
            ours.append(tflbench_median_us(path, threads))
        else:
            ours.append(tflbench_median_us(path, threads))
            theirs.append(litert_median_us(path, threads))
    ratio = statistics.median(ours) / statistics.median(theirs)
    # Each round's pair ran back to back, so the median of the paired ratios is robust to the
    # machine changing speed between rounds (shared or throttling machines).
    paired = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))

    runner = Runner(path, num_threads=threads)
    runner.set_single_input(np.zeros(runner.sample_shape, np.float32))
    benchmark.pedantic(runner.invoke, rounds=RUNS, warmup_rounds=WARMUP, iterations=1)
    benchmark.extra_info.update({
        "tflbench_median_us": statistics.median(ours),
        "litert_median_us": statistics.median(theirs),
        "ratio": ratio, "paired_ratio": paired, "tflbench_rounds_us": ours,
        "litert_rounds_us": theirs, "loadavg": _loadavg(),
    })
    print(f"\nfidelity {mode} threads={threads}: tflbench {statistics.median(ours):.1f} us, "
          f"litert-benchmark {statistics.median(theirs):.1f} us, ratio of medians "
          f"{ratio:.3f}, median paired ratio {paired:.3f} ({ROUNDS} rounds, load {_loadavg()})")
    # A sanity band only (timing depends on the machine); the figure is reported, not gated.
    assert 0.5 < ratio < 2.0
