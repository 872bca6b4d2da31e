"""A synthetic but realistic results document for report tests (no TensorFlow, deterministic).

Two models x six modes on the 10-class digits data: the float modes match Keras, the int8 modes
lose a little accuracy (mostly class "8", now read as "1"), and ``int16x8`` of the MobileNet
failed to convert. Every measured mode carries latency samples; ``int8`` of the CNN also has a
thread sweep. Run ``python tests/reports/sample_results.py`` to rewrite ``fixtures/results/``
(``--schema-2 DIR`` writes the schema-2 pair into ``DIR`` instead).

``make_document()`` writes schema version 1 (no intervals), as older tflbench releases did;
:func:`make_v2_document` and :func:`make_v2_device_document` carry what schema version 2 adds
(intervals, McNemar and Holm, ``n_eval``, calibration, logits, document warnings), built with
the same :mod:`tflbench.quality` functions a run uses. The device document evaluates a seeded
200-row subset, as a bundle made with ``--max-samples 200`` does.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "results"

MODES = ("fp32", "dynamic", "fp16", "int8", "int8-float-io", "int16x8")

#: per model: float size in bytes, size ratio per mode, median latency (us) per mode, extra
#: error rate per mode (on top of Keras) and the class those errors hit.
MODELS: dict[str, dict[str, Any]] = {
    "digits-cnn": {
        "source": "recipe:digits-cnn",
        "keras_error": 0.015,
        "fp32_bytes": 97_412,
        "ratio": {"fp32": 1.0, "dynamic": 0.283, "fp16": 0.512, "int8": 0.291,
                  "int8-float-io": 0.289, "int16x8": 0.301},
        "median_us": {"fp32": 61.0, "dynamic": 74.0, "fp16": 63.0, "int8": 36.0,
                      "int8-float-io": 39.0, "int16x8": 142.0},
        "extra_error": {"fp32": 0.0, "dynamic": 0.008, "fp16": 0.0, "int8": 0.015,
                        "int8-float-io": 0.012, "int16x8": 0.004},
    },
    "digits-mobilenet": {
        "source": "recipe:digits-mobilenet",
        "keras_error": 0.03,
        "fp32_bytes": 893_520,
        "ratio": {"fp32": 1.0, "dynamic": 0.279, "fp16": 0.505, "int8": 0.287,
                  "int8-float-io": 0.285, "int16x8": 0.3},
        "median_us": {"fp32": 410.0, "dynamic": 520.0, "fp16": 418.0, "int8": 190.0,
                      "int8-float-io": 204.0, "int16x8": 900.0},
        "extra_error": {"fp32": 0.0, "dynamic": 0.012, "fp16": 0.0, "int8": 0.03,
                        "int8-float-io": 0.026, "int16x8": 0.0},
    },
}

FAILED = ("digits-mobilenet", "int16x8")
FAILED_ERROR = ("int16x8 conversion failed: the converter does not support op "
                "'DEPTHWISE_CONV_2D' with int16 activations in this TensorFlow version. "
                "Drop the mode with --modes or upgrade TensorFlow.")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _classification(y: np.ndarray, pred: np.ndarray, n: int) -> dict[str, Any]:
    conf = np.zeros((n, n), dtype=int)
    for t, p in zip(y, pred, strict=True):
        conf[t, p] += 1
    support = conf.sum(axis=1)
    pca = [float(round(conf[i, i] / support[i], 6)) for i in range(n)]
    return {"accuracy": float(round(float(np.mean(y == pred)), 6)), "per_class_accuracy": pca,
            "support": support.tolist(), "confusion": conf.tolist()}


def _latency(rng: np.random.Generator, median: float, threads: int, n: int) -> dict[str, Any]:
    samples = np.round(median * rng.lognormal(0.0, 0.06, size=n), 1)
    # A few slow outliers, as on a real machine.
    samples[rng.choice(n, size=3, replace=False)] *= 1.6
    s = np.sort(samples)
    q1, q3 = np.percentile(s, [25, 75])
    mean, stdev = float(np.mean(s)), float(np.std(s, ddof=1))
    return {
        "unit": "us", "threads": threads, "xnnpack": True, "n": n, "warmup": 10,
        "min": float(s[0]), "median": float(round(np.median(s), 2)),
        "p90": float(round(np.percentile(s, 90), 2)), "p99": float(round(np.percentile(s, 99), 2)),
        "mean": round(mean, 2), "stdev": round(stdev, 2), "iqr": float(round(q3 - q1, 2)),
        "init_us": round(median * 14.0, 1), "first_invoke_us": round(median * 2.2, 1),
        "samples": samples.tolist(),
        "warnings": ["stdev is 12% of the median: results may be unstable"]
        if stdev > 0.1 * float(np.median(s)) else [],
    }


def _one_hot(pred: np.ndarray, n_cls: int) -> np.ndarray:
    out = np.zeros((len(pred), n_cls), dtype=np.float32)
    out[np.arange(len(pred)), pred] = 1.0
    return out


def make_document(device: str = "build-host", latency_scale: float = 1.0, seed: int = 7,
                  class_names: list[str] | None = None, n_samples: int = 60,
                  dataset_fingerprint: str | None = None, *, version: int = 1,
                  per_class: int = 27, class8_factor: float = 6.0, subset: int | None = None,
                  logits: tuple[str, ...] = (), calibration: dict[str, Any] | None = None,
                  warnings: list[str] | None = None) -> dict[str, Any]:
    """Build the synthetic results document (valid against ``tflbench.results.validate``).

    ``version=2`` adds the schema-2 fields; ``subset`` evaluates a seeded subset of the rows
    (a device running a capped bundle); ``logits`` names models whose outputs are logits.
    """
    from tflbench import quality, stats

    names = list(class_names or [str(i) for i in range(10)])
    n_cls = len(names)
    y_all = np.repeat(np.arange(n_cls), per_class)
    rows = (np.sort(np.random.default_rng(4242).choice(len(y_all), subset, replace=False))
            if subset is not None else np.arange(len(y_all)))
    y = y_all[rows]
    models = []
    for m_i, (name, spec) in enumerate(MODELS.items()):
        rng = np.random.default_rng(1000 + m_i)  # accuracy does not depend on the device
        lat_rng = np.random.default_rng(seed * 100 + m_i)
        keras_all = y_all.copy()
        wrong = rng.random(len(y_all)) < spec["keras_error"]
        keras_all[wrong] = (y_all[wrong] + rng.integers(1, n_cls, wrong.sum())) % n_cls
        keras_pred = keras_all[rows]
        keras = _classification(y, keras_pred, n_cls)
        kind = "logits" if name in logits else "probabilities"
        if version >= 2:
            keras = quality.keras_record(y, _one_hot(keras_pred, n_cls)).to_dict()
            keras["output_kind"] = kind
        fingerprint = dataset_fingerprint or _sha(f"digits/{n_cls}/{per_class}")[:16]
        model: dict[str, Any] = {
            "name": name, "source": spec["source"], "model_sha256": _sha(name),
            "dataset": {"name": "digits", "source": "sklearn.datasets.load_digits",
                        "class_names": names, "input_shape": [8, 8, 1], "n_train": 1257,
                        "n_val": 270, "n_test": len(y_all),
                        "preprocessing": {"scale": 0.0625, "offset": 0.0, "layout": "NHWC"},
                        "fingerprint": fingerprint},
            "keras": keras, "modes": [],
        }
        if version >= 2:
            model["dataset"]["n_eval"] = len(y)
            model["dataset"]["calibration"] = dict(calibration or {
                "source": "training split", "n": 200, "disjoint": True})
        for mode in MODES:
            size = int(spec["fp32_bytes"] * spec["ratio"][mode])
            rec: dict[str, Any] = {
                "mode": mode, "status": "ok", "error": None, "stage": None,
                "conversion": {"path": "from_keras_model", "seconds": round(0.8 + 0.3 * m_i, 2),
                               "warnings": [], "cached": False},
                "file": {"path": f".tflbench-cache/{name}/{mode}.tflite", "size_bytes": size,
                         "sha256": _sha(f"{name}/{mode}"),
                         "size_ratio": round(size / spec["fp32_bytes"], 4)},
                "io": None, "agreement": None, "accuracy": None, "latency": None,
            }
            if (name, mode) == FAILED:
                rec.update(status="failed", error=FAILED_ERROR, stage="convert",
                           conversion=None, file=None)
                model["modes"].append(rec)
                continue
            pred_all = keras_all.copy()
            # extra errors concentrate on class 8 (read as 1), the rest spread out
            rate = spec["extra_error"][mode]
            hit = rng.random(len(y_all)) < rate * 0.4
            eight = (y_all == min(8, n_cls - 1)) & (rng.random(len(y_all)) < rate * class8_factor)
            pred_all[hit] = (y_all[hit] + rng.integers(1, n_cls, hit.sum())) % n_cls
            pred_all[eight] = min(1, n_cls - 1)
            pred = pred_all[rows]
            cls = _classification(y, pred, n_cls)
            deltas = [round(a - b, 6) for a, b in zip(cls["per_class_accuracy"],
                                                     keras["per_class_accuracy"], strict=True)]
            worst = int(np.argmin(deltas))
            flipped = np.nonzero(pred != keras_pred)[0].tolist()
            noisy = mode not in ("fp32", "fp16")
            rec["io"] = {"input_dtype": "int8" if mode == "int8" else "float32",
                         "input_scale": 0.0039 if mode == "int8" else None,
                         "input_zero_point": -128 if mode == "int8" else None,
                         "output_dtype": "int8" if mode == "int8" else "float32",
                         "output_scale": 0.0039 if mode == "int8" else None,
                         "output_zero_point": -128 if mode == "int8" else None,
                         "input_shape": [1, 8, 8, 1]}
            rec["agreement"] = {
                "n": len(y), "top1": round(1 - len(flipped) / len(y), 6),
                "top_k": 1.0, "k": 5,
                "max_abs_diff": 0.031 if noisy else 1.2e-7,
                "mean_abs_diff": 0.0011 if noisy else 3e-9,
                "sqnr_db": 33.5 if noisy else 120.0,
                "cosine": 0.9998 if noisy else 1.0,
                "kl_divergence": 0.0004 if noisy else 0.0, "flipped": flipped,
            }
            if version >= 2:
                agree = len(y) - len(flipped)
                rec["agreement"].update(
                    top1_ci95=list(stats.wilson_interval(agree, len(y))), output_kind=kind,
                    ties=0)
                if kind == "logits":
                    rec["agreement"]["logit_sqnr_db"] = 28.1 if noisy else 110.0
            rec["accuracy"] = {
                "accuracy": cls["accuracy"],
                "accuracy_delta": round(cls["accuracy"] - keras["accuracy"], 6),
                "per_class_accuracy": cls["per_class_accuracy"], "per_class_delta": deltas,
                "support": cls["support"],
                "worst_class": {"index": worst, "name": names[worst], "delta": deltas[worst]},
                "confusion": cls["confusion"],
            }
            if version >= 2:
                rec["accuracy"] = quality.accuracy_record(
                    y, _one_hot(keras_pred, n_cls), _one_hot(pred, n_cls), names).to_dict()
            rec["latency"] = _latency(lat_rng, spec["median_us"][mode] * latency_scale, 1,
                                      n_samples)
            if name == "digits-cnn" and mode == "int8":
                rec["latency_sweep"] = [
                    rec["latency"],
                    _latency(lat_rng, spec["median_us"][mode] * latency_scale * 0.62, 2,
                             n_samples),
                ]
            model["modes"].append(rec)
        models.append(model)
    arm = latency_scale > 1.5
    doc: dict[str, Any] = {
        "schema": "tflbench.results", "schema_version": version,
        "created": "2026-11-24T15:00:00+00:00" if not arm else "2026-11-25T09:30:00+00:00",
        "tflbench_version": "0.1.0", "device": device,
        "environment": {
            "hostname": device, "os": "Linux-6.1.0-aarch64" if arm else "Linux-6.8.0-x86_64",
            "machine": "aarch64" if arm else "x86_64",
            "cpu_model": "Cortex-A72" if arm else "Intel(R) Xeon(R) CPU @ 2.20GHz",
            "cpu_count": 4 if arm else 2, "affinity": [0, 1, 2, 3] if arm else [0, 1],
            "governor": "ondemand" if arm else None, "python": "3.11.2" if arm else "3.11.7",
            "numpy": "2.4.6", "tensorflow": None if arm else "2.21.0",
            "keras": None if arm else "3.15.1",
            "runtime": {"name": "ai_edge_litert", "version": "2.3.0"},
        },
        "settings": {"num_threads": 1, "xnnpack": True, "top_k": 5,
                     "latency": {"warmup_runs": 10, "warmup_seconds": 0.1, "min_runs": 50,
                                 "min_seconds": 0.5, "max_runs": 10000, "max_seconds": 10.0},
                     "representative_samples": 200, "modes": list(MODES)},
        "models": models, "recommendation": None, "baseline": None,
    }
    if warnings:
        doc["warnings"] = list(warnings)
    return doc


def make_device_document() -> dict[str, Any]:
    """The same models measured on a slower ARM board (for merge tests)."""
    return make_document(device="rpi4", latency_scale=4.3, seed=11)


#: A document warning as the resolution check writes it.
RESOLUTION_WARNING = (
    "digits-cnn: 600 evaluated samples cannot resolve max_accuracy_drop 0.5 pp (int16x8): the "
    "95% interval is ±0.94 pp; about 2,100 samples would at the measured rates.")

V2 = {"version": 2, "per_class": 60, "class8_factor": 20.0, "logits": ("digits-mobilenet",)}


def make_v2_document(**overrides: Any) -> dict[str, Any]:
    """A schema-2 document: 600 rows, intervals, tests, calibration, a logits model and a
    document warning. Class 8 loses significantly under the int8 modes."""
    kwargs: dict[str, Any] = {**V2, "warnings": [RESOLUTION_WARNING], **overrides}
    return make_document(**kwargs)


def make_v2_device_document(**overrides: Any) -> dict[str, Any]:
    """The schema-2 models measured on the ARM board from a bundle capped at 200 samples."""
    kwargs: dict[str, Any] = {**V2, "device": "rpi4", "latency_scale": 4.3, "seed": 11,
                              "subset": 200, **overrides}
    return make_document(**kwargs)


GOLDEN = Path(__file__).resolve().parent / "golden"
EVIL = ["<script>alert(1)</script>", 'a&b"c', "x|y*z_[w]", "3", "4", "5", "6", "7", "8", "9"]


def evil_document() -> dict[str, Any]:
    """The sample with hostile class, model, device and path names (escaping tests)."""
    doc = make_document(device="dev<i>ce&\"1", class_names=list(EVIL))
    doc["models"][0]["name"] = "<img src=x onerror=alert(2)>"
    doc["models"][0]["source"] = "/tmp/<b>bold</b>/model.keras"
    doc["models"][0]["modes"][3]["file"]["path"] = "cache/<svg onload=alert(3)>.tflite"
    doc["models"][1]["modes"][5]["error"] = "bad op <script>x</script> & 'quotes'"
    return doc


def check_golden(name: str, text: str) -> None:
    """Compare ``text`` with ``golden/<name>``; TFLBENCH_UPDATE_GOLDEN=1 rewrites it."""
    import os

    path = GOLDEN / name
    if os.environ.get("TFLBENCH_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"golden file {path} missing: run with TFLBENCH_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (f"{name} differs from its golden file; if the change is intended "
                              "re-run with TFLBENCH_UPDATE_GOLDEN=1 and review the diff")


def write_fixtures(directory: Path = FIXTURES, *, schema_2: bool = False) -> list[Path]:
    """Write the host and device documents into ``directory``: the schema-1 fixtures, or with
    ``schema_2`` the schema-2 pair (``sample-v2-host.json``, ``sample-v2-rpi4.json``) the sample
    report in ``reports/sample/`` is rendered from."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    pairs = ((("sample-v2-host.json", make_v2_document()),
              ("sample-v2-rpi4.json", make_v2_device_document())) if schema_2 else
             (("sample-host.json", make_document()),
              ("sample-rpi4.json", make_device_document())))
    for fname, doc in pairs:
        p = directory / fname
        p.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        out.append(p)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    v2 = "--schema-2" in args
    args = [a for a in args if a != "--schema-2"]
    for path in write_fixtures(Path(args[0]) if args else FIXTURES, schema_2=v2):
        print(path)
