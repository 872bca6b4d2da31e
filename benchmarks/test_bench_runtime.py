"""Batched evaluation (resized input tensor) vs one invoke() per sample, same outputs.

    pytest benchmarks/test_bench_runtime.py --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest

from tflbench.runtime import Runner


@pytest.mark.parametrize("mode", ["fp32", "int8"])
@pytest.mark.parametrize("how", ["batched", "per_sample"])
def test_evaluate_test_split(benchmark, digits_cnn_tflite, mode, how):
    paths, ds = digits_cnn_tflite
    runner = Runner(paths[mode], num_threads=1)
    x = np.concatenate([ds.test.x] * 4)  # ~1,080 samples
    fn = (lambda: runner.predict(x, batch_size=64)) if how == "batched" else \
        (lambda: runner.predict_per_sample(x))
    out = benchmark.pedantic(fn, rounds=10, warmup_rounds=1)
    # both paths give the same outputs
    np.testing.assert_allclose(out, Runner(paths[mode]).predict_per_sample(x), atol=1e-6)
    benchmark.extra_info["samples"] = len(x)
