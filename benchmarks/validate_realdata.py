"""Validate tflbench on real photos and real models (not part of the default test run).

Two checks, on the files described in ``$TFLBENCH_DATA/README.md`` (default
``<repo>/../shared/data``):

1. ``flowers``: the ``image-folder-mobilenetv2`` recipe with local ImageNet MobileNetV2 weights on
   ``flowers5`` (4,317 photos, 5 classes, 128x128, 90/10 split as in TFLite Model Maker's
   tutorial), once with the backbone frozen (a new head only) and once with its top layers
   fine-tuned; every tflbench mode converted, evaluated and timed by :func:`tflbench.pipeline.run`.
2. ``resnet8``: MLPerf Tiny's CIFAR-10 ResNet-8 ``.h5`` loaded as a user's model, with the
   CIFAR-10 test JPEGs as its data (raw 0..255 inputs, no scaling); tflbench's conversions next to
   MLPerf's own ``pretrainedResnet.tflite`` and ``pretrainedResnet_quant.tflite`` on the same
   images (accuracy, and agreement with the Keras model and with each other).

Run::

    python benchmarks/validate_realdata.py                 # both
    python benchmarks/validate_realdata.py resnet8         # one
    python benchmarks/validate_realdata.py flowers --json out.json

It prints one table per check and the wall time of each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FLOWERS = "flowers5"
WEIGHTS = "mobilenet_v2/mobilenet_v2_1.0_224_no_top.weights.h5"
RESNET = "mlperf_tiny_resnet8"
CIFAR = "cifar10_test_sample"

#: Flowers settings: 10 head epochs on cached features; fine-tuning then trains every
#: backbone layer (BatchNorm stays frozen) for 5 epochs on augmented batches at a low rate.
FLOWERS_PARAMS: dict[str, Any] = {"input_size": 128, "epochs": 10, "batch_size": 32,
                                  "learning_rate": 1e-3, "seed": 0}
FINE_TUNE: dict[str, Any] = {"fine_tune_layers": 1000, "fine_tune_epochs": 5,
                             "fine_tune_learning_rate": 2e-5, "augment": True}


def data_dir() -> Path:
    """``$TFLBENCH_DATA`` or ``<repo>/../shared/data``."""
    return Path(os.environ.get("TFLBENCH_DATA", REPO.parent / "shared" / "data"))


def missing(root: Path, *names: str) -> str | None:
    """A reason to skip when any of ``names`` is absent under ``root``, else None."""
    absent = [n for n in names if not (root / n).exists()]
    if absent:
        return (f"real data not found: {', '.join(str(root / n) for n in absent)} "
                "(set TFLBENCH_DATA to the folder holding it)")
    return None


def _settings(cache_dir: Path, modes: Sequence[str] | None) -> Any:
    from tflbench.modes import resolve_modes
    from tflbench.pipeline import RunSettings

    return RunSettings(modes=tuple(resolve_modes(list(modes) if modes else None)),
                       cache_dir=cache_dir, representative_samples=200)


def _mode_rows(model_record: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for rec in model_record["modes"]:
        row: dict[str, Any] = {"mode": rec["mode"], "status": rec["status"]}
        if rec["status"] == "ok":
            row.update(
                accuracy=rec["accuracy"]["accuracy"],
                accuracy_delta=rec["accuracy"]["accuracy_delta"],
                agreement=rec["agreement"]["top1"],
                size_kb=rec["file"]["size_bytes"] / 1024.0,
                latency_us=rec["latency"]["median"],
                path=rec["file"]["path"],
            )
        else:
            row["error"] = rec["error"]
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------- flowers


def validate_flowers(root: Path, cache_dir: Path, *, fine_tune: bool = True,
                     frozen: bool = True, modes: Sequence[str] | None = None,
                     progress: bool = True) -> dict[str, Any]:
    """Train the image-folder recipe on flowers5 and run every mode; returns the figures."""
    from tflbench.data.sources import load_dataset
    from tflbench.pipeline import run, subject_from_recipe

    started = time.perf_counter()
    spec = f"folder:{root / FLOWERS}?size=128&preprocess=mobilenet_v2&fractions=0.9/0.1"
    ds = load_dataset(spec)
    loaded = time.perf_counter() - started
    weights = str(root / WEIGHTS)
    subjects = []
    if frozen:
        subjects.append(subject_from_recipe("image-folder-mobilenetv2", ds,
                                            subject_name="flowers-frozen", weights=weights,
                                            **FLOWERS_PARAMS))
    if fine_tune:
        subjects.append(subject_from_recipe("image-folder-mobilenetv2", ds,
                                            subject_name="flowers-fine-tuned", weights=weights,
                                            **FLOWERS_PARAMS, **FINE_TUNE))

    def say(model: str, mode: str | None, message: str) -> None:
        if progress:
            stamp = time.perf_counter() - started
            print(f"[{stamp:7.1f}s] {model}{'/' + mode if mode else ''}: {message}", flush=True)

    doc = run(subjects, _settings(cache_dir, modes), progress=say)
    out: dict[str, Any] = {"dataset": spec, "n_train": len(ds.train), "n_val": len(ds.val),
                           "n_test": len(ds.test), "load_seconds": loaded, "models": []}
    for m in doc["models"]:
        out["models"].append({"name": m["name"], "error": m.get("error"),
                              "keras_accuracy": (m["keras"] or {}).get("accuracy"),
                              "modes": _mode_rows(m)})
    out["seconds"] = time.perf_counter() - started
    return out


# ---------------------------------------------------------------------------------- resnet8


def validate_resnet8(root: Path, cache_dir: Path, *, modes: Sequence[str] | None = None,
                     progress: bool = True) -> dict[str, Any]:
    """MLPerf Tiny ResNet-8 through tflbench vs MLPerf's own TFLite files, on the same images."""
    from tflbench import metrics as M
    from tflbench.data.sources import load_dataset
    from tflbench.pipeline import run, subject_from_model_file
    from tflbench.runtime import Runner

    started = time.perf_counter()
    # Half the images for int8 calibration (train), half to evaluate (test); raw 0..255 floats.
    spec = f"folder:{root / CIFAR}?preprocess=raw&fractions=0.45/0.05/0.5"
    ds = load_dataset(spec)
    h5 = root / RESNET / "pretrainedResnet.h5"
    subject = subject_from_model_file(h5, ds, name="resnet8")

    def say(model: str, mode: str | None, message: str) -> None:
        if progress:
            stamp = time.perf_counter() - started
            print(f"[{stamp:7.1f}s] {model}{'/' + mode if mode else ''}: {message}", flush=True)

    doc = run([subject], _settings(cache_dir, modes), progress=say)
    model = doc["models"][0]
    if model.get("error"):
        raise RuntimeError(model["error"])
    rows = _mode_rows(model)
    x, y = ds.test.x, ds.test.y

    import keras

    reference = np.asarray(keras.models.load_model(h5, compile=False).predict(x, verbose=0))
    outputs: dict[str, np.ndarray] = {}
    for row in rows:
        if row["status"] == "ok":
            outputs[f"tflbench {row['mode']}"] = Runner(row["path"]).predict(x)
    for label, fname in (("MLPerf float", "pretrainedResnet.tflite"),
                         ("MLPerf int8", "pretrainedResnet_quant.tflite")):
        path = root / RESNET / fname
        runner = Runner(path)
        outputs[label] = runner.predict(x)
        rows.append({"mode": label, "status": "ok",
                     "accuracy": M.classification(y, outputs[label], ds.num_classes).accuracy,
                     "agreement": M.agreement(reference, outputs[label]).top1,
                     "size_kb": path.stat().st_size / 1024.0,
                     "io": f"{runner.input.dtype.name} -> {runner.output.dtype.name}"})
    pairs = {}
    for a, b in (("tflbench fp32", "MLPerf float"), ("tflbench int8", "MLPerf int8"),
                 ("tflbench int8-float-io", "MLPerf int8")):
        if a in outputs and b in outputs:
            pairs[f"{a} vs {b}"] = M.agreement(outputs[b], outputs[a]).top1
    return {"dataset": spec, "n_calibration": len(ds.train), "n_test": len(ds.test),
            "keras_accuracy": model["keras"]["accuracy"], "modes": rows, "pairs": pairs,
            "seconds": time.perf_counter() - started}


# ------------------------------------------------------------------------------------ output


def _fmt(v: Any, pct: bool = False, digits: int = 1) -> str:
    if v is None:
        return "-"
    if pct:
        return f"{100.0 * v:.{digits}f}%"
    return f"{v:.{digits}f}"


def table(rows: Sequence[dict[str, Any]], keras_accuracy: float | None) -> str:
    lines = [f"Keras float accuracy: {_fmt(keras_accuracy, True)}",
             "| mode | accuracy | vs Keras | top-1 agreement with Keras | size (KB) | "
             "median invoke (us, 1 thread) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['mode']} | failed: {r.get('error', '')} | | | | |")
            continue
        delta = r.get("accuracy_delta")
        lines.append(
            f"| {r['mode']} | {_fmt(r['accuracy'], True)} | "
            f"{'-' if delta is None else f'{100.0 * delta:+.1f} pt'} | "
            f"{_fmt(r['agreement'], True)} | {_fmt(r['size_kb'])} | "
            f"{_fmt(r.get('latency_us'), digits=0)} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checks", nargs="*", choices=["flowers", "resnet8"],
                        help="which checks to run (default: both)")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with the real data (default: $TFLBENCH_DATA or "
                        "<repo>/../shared/data)")
    parser.add_argument("--cache-dir", type=Path, default=Path(".tflbench-cache"),
                        help="tflbench cache (trained models, .tflite files)")
    parser.add_argument("--modes", default=None, help="comma-separated modes (default: all)")
    parser.add_argument("--no-fine-tune", action="store_true",
                        help="flowers: train the frozen-backbone head only")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    root = args.data or data_dir()
    checks = args.checks or ["flowers", "resnet8"]
    modes = args.modes.split(",") if args.modes else None
    results: dict[str, Any] = {}
    for check in checks:
        need = (FLOWERS, WEIGHTS) if check == "flowers" else (RESNET, CIFAR)
        reason = missing(root, *need)
        if reason:
            print(f"{check}: skipped, {reason}")
            continue
        if check == "flowers":
            res = validate_flowers(root, args.cache_dir, fine_tune=not args.no_fine_tune,
                                   modes=modes)
            print(f"\nflowers5: {res['n_train']} train / {res['n_val']} val / "
                  f"{res['n_test']} test images, 128x128")
            for m in res["models"]:
                print(f"\n{m['name']}" + (f": {m['error']}" if m["error"] else ""))
                print(table(m["modes"], m["keras_accuracy"]))
        else:
            res = validate_resnet8(root, args.cache_dir, modes=modes)
            print(f"\nMLPerf Tiny ResNet-8 on {res['n_test']} CIFAR-10 test JPEGs "
                  f"({res['n_calibration']} others for int8 calibration)")
            print(table(res["modes"], res["keras_accuracy"]))
            for name, value in res["pairs"].items():
                print(f"top-1 agreement {name}: {_fmt(value, True)}")
        print(f"{check}: wall time {res['seconds']:.0f} s")
        results[check] = res
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
