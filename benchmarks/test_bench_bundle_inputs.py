"""Bundle size and peak RSS of ``tflbench measure`` for a 224x224x3 model and 1,000 images
(targets: bundle under 200 MB, measure's peak RSS under 500 MB).

A small synthetic Keras conv net (224x224x3 input, 10 classes) is converted to fp32 and int8;
1,000 synthetic uint8 images (a class pattern plus noise) are preprocessed with
``mobilenet_v2`` (x / 127.5 - 1) as a host run would, and bundled twice:

* ``uint8``: as ``tflbench bundle`` stores them (8-bit pixels + the recorded preprocessing);
* ``float32``: the same inputs recorded without their preprocessing, so they cannot be stored as
  pixels and stay float32 (what every bundle stored before schema version 2), still read batch
  by batch.

Each bundle is measured by ``tflbench measure`` (its defaults: each mode in a child process,
no TensorFlow) in a fresh Python process, which reports its peak resident set size: the larger
of its own ``VmHWM`` and ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the per-mode children)::

    pytest benchmarks/test_bench_bundle_inputs.py --benchmark-only -s
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from memory_helpers import measure

from tflbench.data.base import LazyArray

N, SHAPE, CLASSES = 1_000, (224, 224, 3), 10
BUNDLE_LIMIT_MB, RSS_LIMIT_MB = 200.0, 500.0
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bundles" / "digits-mini"

_SCRIPT = r"""
import json, resource, sys, time

from tflbench.cli import main


def vm_hwm_kb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


bundle, out = sys.argv[1:3]
t0 = time.perf_counter()
rc = main(["measure", bundle, "--out", out, "--device", "bench", "--threads", "none",
           "--no-e2e", "--warmup-runs", "2", "--min-runs", "10", "--max-runs", "50",
           "--min-seconds", "0", "--max-seconds", "1"])
seconds = time.perf_counter() - t0
own, children = vm_hwm_kb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": rc, "own_kb": own, "children_kb": children,
                  "peak_kb": max(own, children), "seconds": seconds,
                  "tf_loaded": "tensorflow" in sys.modules}))
"""


class _Images(LazyArray):
    """``N`` synthetic uint8 images, made row by row (never all in memory), preprocessed."""

    def __init__(self, preprocessing: str) -> None:
        super().__init__(np.arange(N), SHAPE, np.float32)
        self.preprocessing = preprocessing
        self.base = np.random.default_rng(0).integers(0, 256, (CLASSES, *SHAPE), np.uint8)

    def pixels(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), *SHAPE), np.uint8)
        for i, r in enumerate(rows):
            noise = np.random.default_rng(1000 + int(r)).integers(0, 32, SHAPE, np.uint8)
            out[i] = self.base[int(r) % CLASSES] // 2 + noise
        return out

    def _read(self, rows: np.ndarray) -> np.ndarray:
        from tflbench.data.preprocess import apply_preprocessing

        return apply_preprocessing(self.pixels(rows), self.preprocessing)


def _model() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input(SHAPE),
        keras.layers.Conv2D(16, 3, strides=4, activation="relu"),
        keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(CLASSES, activation="softmax"),
    ])


def _host_doc(files: dict[str, Path], preprocessing: dict[str, Any]) -> dict[str, Any]:
    """A host results document for the synthetic model (the fixture's records as templates)."""
    doc = json.loads((FIXTURE / "host-results.json").read_text())
    model = copy.deepcopy(doc["models"][0])
    model["name"] = "synthetic-224"
    model["dataset"].update(class_names=[f"c{i}" for i in range(CLASSES)],
                            input_shape=list(SHAPE), preprocessing=preprocessing, n_test=N)
    modes = []
    for mode, path in files.items():
        rec = copy.deepcopy(next(r for r in model["modes"] if r["mode"] == mode))
        data = path.read_bytes()
        rec["file"].update(path=str(path), size_bytes=len(data),
                           sha256=hashlib.sha256(data).hexdigest())
        modes.append(rec)
    model["modes"] = modes
    doc["models"] = [model]
    return doc


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tflbench.convert import convert
    from tflbench.modes import MODES

    root = tmp_path_factory.mktemp("bench-bundle")
    model = _model()
    x = _Images("mobilenet_v2")
    reference = np.concatenate([model.predict(x[i:i + 50], verbose=0)
                                for i in range(0, N, 50)]).astype(np.float32)
    y = np.arange(N) % CLASSES
    files = {}
    for mode in ("fp32", "int8"):
        files[mode] = root / f"{mode}.tflite"
        files[mode].write_bytes(convert(model, MODES[mode], x[:100]).tflite)
    return {"root": root, "x": x, "y": y, "reference": reference, "files": files}


def _bundle(host: dict[str, Any], variant: str) -> Path:
    from tflbench.bundle import ModelArrays, write_bundle
    from tflbench.data.preprocess import resolve

    # "float32": the same inputs recorded with no preprocessing, so no 8-bit pixels match them
    pre = resolve("mobilenet_v2") if variant == "uint8" else {}
    doc = _host_doc(host["files"], pre)
    arrays = {"synthetic-224": ModelArrays(host["x"], host["y"], host["reference"])}
    return write_bundle(doc, arrays, host["root"] / f"bundle-{variant}", max_samples=N)


def _size_mb(root: Path) -> tuple[float, float]:
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    inputs = (root / "synthetic-224" / "inputs.npy").stat().st_size
    return total / 1e6, inputs / 1e6


@pytest.mark.parametrize("variant", ["uint8", "float32"])
def test_bundle_size_and_measure_peak_rss(benchmark: Any, host: dict[str, Any],
                                          variant: str) -> None:
    bundle = _bundle(host, variant)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["models"][0]["inputs_encoding"]["dtype"] == variant
    total_mb, inputs_mb = _size_mb(bundle)
    out = host["root"] / f"results-{variant}.json"
    result: dict[str, Any] = {}

    def run() -> None:
        result.update(measure(_SCRIPT, [str(bundle), str(out)], timeout=1800))

    benchmark.pedantic(run, rounds=1, iterations=1)
    doc = json.loads(out.read_text())
    modes = doc["models"][0]["modes"]
    assert result["rc"] == 0 and not result["tf_loaded"]
    assert all(r["status"] == "ok" for r in modes)
    assert modes[0]["agreement"]["n"] == N
    peak_mb = result["peak_kb"] / 1024.0
    benchmark.extra_info.update(bundle_mb=round(total_mb, 1), inputs_mb=round(inputs_mb, 1),
                                peak_rss_mb=round(peak_mb, 1),
                                own_rss_mb=round(result["own_kb"] / 1024.0, 1),
                                children_rss_mb=round(result["children_kb"] / 1024.0, 1),
                                measure_seconds=round(result["seconds"], 1))
    print(f"\n{variant}: bundle {total_mb:.1f} MB (inputs {inputs_mb:.1f} MB), measure peak "
          f"RSS {peak_mb:.1f} MiB (own {result['own_kb'] / 1024:.1f}, mode children "
          f"{result['children_kb'] / 1024:.1f}), {result['seconds']:.1f} s; top-1 agreement "
          + ", ".join(f"{r['mode']} {r['agreement']['top1']:.3f}" for r in modes))
    assert peak_mb < RSS_LIMIT_MB
    if variant == "uint8":
        assert total_mb < BUNDLE_LIMIT_MB
