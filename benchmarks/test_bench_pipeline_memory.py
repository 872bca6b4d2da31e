"""Peak memory of a whole ``pipeline.run``: 1,000 vs 50,000 samples (target: < 200 MB growth).

Each variant runs in a fresh Python process: one tiny Keras model (16x16x3 inputs, 10 classes)
given as a model file with a data spec, exactly as ``tflbench run --model M --data SPEC`` does,
evaluated in mode fp32 (conversion, Keras reference, TFLite evaluation, latency). The process
reports its peak resident set size (``VmHWM`` from ``/proc/self/status``; ``ru_maxrss``
elsewhere); the figure is the peak at 50,000 samples minus the peak at 1,000. Samples are
16x16x3 uint8 images (50,000 of them are 38 MB raw, 154 MB as float32), split 0.8/0.1/0.1,
so the run hashes all 50,000 and evaluates 5,000.

    pytest benchmarks/test_bench_pipeline_memory.py --benchmark-only -s

Variants: ``npz`` (``np.savez``) and ``folder`` (PNG files), loaded as the pipeline does
(``lazy="auto"``: in memory at 1,000 samples, lazily at 50,000), and, for contrast,
``npz-in-memory`` (the 50,000 loaded whole with ``lazy=False``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from memory_helpers import PEAK_KB, images, measure, peak_mb, rss_growth_mb, write_folder

SMALL, LARGE = 1_000, 50_000
SHAPE = (16, 16, 3)
LIMIT_MB = 200.0
STREAMED = ("npz", "folder")

_SCRIPT = PEAK_KB + r"""
from pathlib import Path

from tflbench import pipeline
from tflbench.data.sources import load_dataset
from tflbench.modes import resolve_modes
from tflbench.timing import LatencySettings

variant, spec, model, cache = sys.argv[1:5]
base = peak_kb()
t0 = time.perf_counter()
data = load_dataset(spec, lazy=False) if variant == "npz-in-memory" else spec
subject = pipeline.subject_from_model_file(model, data)
latency = LatencySettings(warmup_runs=5, warmup_seconds=0.0, min_runs=50, min_seconds=0.0,
                          max_runs=200, max_seconds=1.0)
settings = pipeline.RunSettings(modes=tuple(resolve_modes("fp32")), latency=latency,
                                cache_dir=Path(cache), report_dir=Path(cache) / "reports",
                                representative_samples=100)
doc = pipeline.run([subject], settings)
rec = doc["models"][0]
assert rec["modes"][0]["status"] == "ok", rec["modes"][0]["error"]
print(json.dumps({"n": rec["dataset"]["n_train"] + rec["dataset"]["n_val"]
                  + rec["dataset"]["n_test"], "n_eval": rec["dataset"]["n_eval"],
                  "top1": rec["modes"][0]["agreement"]["top1"],
                  "base_kb": base, "peak_kb": peak_kb(),
                  "seconds": time.perf_counter() - t0}))
"""


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(SHAPE),
        keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    path = tmp_path_factory.mktemp("model") / "tiny16.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def specs(tmp_path_factory) -> dict[tuple[str, int], str]:
    pytest.importorskip("PIL")
    out: dict[tuple[str, int], str] = {}
    for n in (SMALL, LARGE):
        d = tmp_path_factory.mktemp(f"pipeline{n}")
        x, y = images(n, SHAPE)
        np.savez(d / "stored.npz", x=x, y=y)
        del x
        folder = write_folder(d / "images", n, SHAPE, "PNG", ".png")
        out[("npz", n)] = out[("npz-in-memory", n)] = f"npz:{d / 'stored.npz'}"
        out[("folder", n)] = f"folder:{folder}"
    return out


def _measure(variant: str, spec: str, model: Path, cache: Path) -> dict[str, Any]:
    return measure(_SCRIPT, [variant, spec, str(model), str(cache)], timeout=1800)


@pytest.mark.parametrize("variant", [*STREAMED, "npz-in-memory"])
def test_pipeline_peak_memory(benchmark, specs, model_file, tmp_path, variant):
    small = _measure(variant, specs[(variant, SMALL)], model_file, tmp_path / "small")
    large = benchmark.pedantic(_measure, args=(variant, specs[(variant, LARGE)], model_file,
                                               tmp_path / "large"), rounds=1, iterations=1)
    growth_mb = rss_growth_mb(small, large)
    assert small["n"] == SMALL and large["n"] == LARGE
    assert large["n_eval"] == LARGE // 10 and large["top1"] == 1.0
    benchmark.extra_info.update({
        "samples": [SMALL, LARGE],
        "peak_mb": peak_mb(small, large),
        "growth_mb": round(growth_mb, 1),
        "seconds": [round(small["seconds"], 2), round(large["seconds"], 2)],
    })
    print(f"\n{variant:14s} peak {small['peak_kb'] / 1024:7.1f} MB at {SMALL:,} -> "
          f"{large['peak_kb'] / 1024:7.1f} MB at {LARGE:,}: growth {growth_mb:6.1f} MB; "
          f"run {small['seconds']:.1f} s -> {large['seconds']:.1f} s")
    if variant in STREAMED:
        assert growth_mb < LIMIT_MB, f"{variant}: peak RSS grew {growth_mb:.0f} MB"
