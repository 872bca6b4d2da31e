"""Per-layer attribution of quantization error, and calibration sensitivity.

:func:`attribute` runs the fp32 and the quantized model layer by layer on samples and ranks the
Keras layers by their error: RMSE relative to the quantization scale, SQNR, and the top-1
agreement regained when that one layer alone stays float. Converter modes use the converter's
``QuantizationDebugger`` (each op compared with its float twin on the same inputs); ``lq-``
modes use the LiteRT Quantizer's own validation (every tensor of the quantized model compared
with the fp32 model's). Tensors are mapped to layers by :mod:`tflbench.layers`; unmapped ones
are listed.

:func:`calibration_sensitivity` re-calibrates a full-integer mode with several calibration-set
sizes and seeds and reports the spread of agreement and accuracy, warning when a gate's verdict
depends on the seed.

Results are frozen records with ``to_dict``; they travel in a mode record's ``extra``
(``attribution``, ``calibration_sensitivity``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

import numpy as np

from tflbench.errors import ConversionError
from tflbench.layers import LayerMap, keras_layer_names, map_tensors, ops_of
from tflbench.modes import MODES, Mode

#: Layers whose "kept float" agreement is measured, in rmse/scale order (each is one
#: re-quantization and one run over the samples).
DEFAULT_PROBES = 12


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class LayerError:
    """The quantization error of one Keras layer (its op outputs), and what keeping it float
    regains."""

    layer: str
    tensors: tuple[str, ...]
    #: Worst RMSE / quantization scale over the layer's quantized outputs (``None``: none).
    rmse_over_scale: float | None = None
    #: Worst SQNR (dB) over the layer's outputs.
    sqnr_db: float | None = None
    #: Top-1 agreement with Keras when this layer alone stays float (``None``: not probed).
    agreement_float: float | None = None
    #: ``agreement_float`` minus the quantized model's agreement.
    regained: float | None = None
    #: Top-1 agreement of the Keras model with only this layer's weights as int8
    #: (:mod:`tflbench.weight_sensitivity`; ``None``: no weights, or not measured).
    agreement_weights_int8: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "tensors": list(self.tensors),
                "rmse_over_scale": self.rmse_over_scale, "sqnr_db": self.sqnr_db,
                "agreement_float": self.agreement_float, "regained": self.regained,
                "agreement_weights_int8": self.agreement_weights_int8, "note": self.note}


def rank_key(e: LayerError) -> tuple[float, float, float, float]:
    """Most harmful first: agreement regained, then agreement lost to int8 weights alone, then
    rmse/scale, then lowest SQNR."""
    return (-(e.regained if e.regained is not None else -math.inf),
            e.agreement_weights_int8 if e.agreement_weights_int8 is not None else math.inf,
            -(e.rmse_over_scale if e.rmse_over_scale is not None else -math.inf),
            e.sqnr_db if e.sqnr_db is not None else math.inf)


def _probe_candidates(errors: list[LayerError], probes: int) -> list[LayerError]:
    """``probes`` layers to re-quantize with that layer float: the worst by int8 weights alone
    and the worst by activation statistics, taken in turn."""
    by_weights = sorted((e for e in errors if e.agreement_weights_int8 is not None
                         and e.agreement_weights_int8 < 1.0),
                        key=lambda e: e.agreement_weights_int8)  # type: ignore[arg-type,return-value]
    out: dict[str, LayerError] = {}
    for pair in zip_longest(by_weights, sorted(errors, key=rank_key)):
        for e in pair:
            if e is not None:
                out.setdefault(e.layer, e)
    return list(out.values())[:probes]


@dataclass(frozen=True)
class Attribution:
    """Layers ranked by their quantization error for one model under one mode."""

    model: str
    mode: str
    method: str
    n: int
    samples: str
    agreement: float
    layers: tuple[LayerError, ...]
    unmapped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def top(self, k: int = 5) -> list[LayerError]:
        return list(self.layers[:k])

    @property
    def order(self) -> list[str]:
        """Layer names, most harmful first (the tuner's order)."""
        return [e.layer for e in self.layers]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "mode": self.mode, "method": self.method, "n": self.n,
                "samples": self.samples, "agreement": self.agreement,
                "layers": [e.to_dict() for e in self.layers], "unmapped": list(self.unmapped),
                "notes": list(self.notes)}


# ------------------------------------------------------------------------- quantize backends


class Backend:
    """One model and mode, calibrated once; quantized files with any layers kept float."""

    method = ""
    mode: Mode
    lmap: LayerMap

    def quantized(self, float_layers: Sequence[str] = ()) -> bytes:
        raise NotImplementedError

    def tensor_stats(self, samples: np.ndarray) -> dict[str, tuple[float | None, float | None]]:
        """Op output tensor -> (rmse/scale, SQNR dB)."""
        raise NotImplementedError

    def tensors_of(self, layers: Sequence[str]) -> list[str]:
        out: list[str] = []
        for layer in layers:
            names = self.lmap.tensors_of(layer)
            if not names:
                raise ConversionError(f"Layer {layer!r} has no op in the converted model. "
                                      f"Layers with ops: {', '.join(self.lmap.layers())}.")
            out.extend(names)
        return out


class ConverterBackend(Backend):
    method = "converter QuantizationDebugger"

    def __init__(self, model: Any, mode: Mode, calibration: np.ndarray, *,
                 name: str = "model", debug_samples: np.ndarray | None = None) -> None:
        from tflbench.convert import DebugSession

        self.mode = mode
        self.session = DebugSession(model, mode, calibration, name=name,
                                    debug_samples=debug_samples)
        self.lmap = map_tensors(ops_of(self.session.calibrated_model), keras_layer_names(model))

    def quantized(self, float_layers: Sequence[str] = ()) -> bytes:
        return self.session.quantized(self.tensors_of(float_layers))

    def tensor_stats(self, samples: np.ndarray) -> dict[str, tuple[float | None, float | None]]:
        stats = self.session.layer_statistics()
        scales = _tensor_scales(self.quantized())
        out: dict[str, tuple[float | None, float | None]] = {}
        for t, s in stats.items():
            mse, scale = _finite(s.get("mean_squared_error")), scales.get(t)
            ros = math.sqrt(mse) / scale if mse is not None and scale else None
            out[t] = (ros, _finite(s.get("sqnr_db")))
        return out


class QuantizerBackend(Backend):
    method = "LiteRT Quantizer validation"

    def __init__(self, model: Any, mode: Mode, calibration: np.ndarray | None, *,
                 name: str = "model", fp32: bytes | None = None) -> None:
        from tflbench.convert import convert
        from tflbench.quantizer import Calibrated

        self.mode = mode
        self.fp32 = fp32 if fp32 is not None else convert(model, MODES["fp32"], None,
                                                          name=name).tflite
        self.calibrated = Calibrated(self.fp32, mode, calibration, name=name)
        self.lmap = map_tensors(ops_of(self.fp32), keras_layer_names(model))

    def quantized(self, float_layers: Sequence[str] = ()) -> bytes:
        return self.calibrated.quantize(self.tensors_of(float_layers)).tflite

    def tensor_stats(self, samples: np.ndarray) -> dict[str, tuple[float | None, float | None]]:
        from litert_quantizer import model_validator
        from litert_quantizer.utils.validation_utils import ValidationErrorMetric as VM

        from tflbench.capture import captured_fds
        from tflbench.quantizer import _signature_input

        q = self.quantized()
        sig, inp = _signature_input(self.fp32)
        data = {sig: [{inp: np.asarray(samples[i:i + 1], np.float32)}
                      for i in range(len(samples))]}
        with captured_fds():
            res = model_validator.compare_model(self.fp32, q, data, [VM.MSE, VM.SNR],
                                                num_threads=1)
        scales = _tensor_scales(q)
        out: dict[str, tuple[float | None, float | None]] = {}
        for tensor, m in res.get_all_tensor_results().items():
            mse, snr = _finite(m.get("mse")), _finite(m.get("snr"))
            scale = scales.get(tensor)
            ros = math.sqrt(mse) / scale if mse is not None and scale else None
            db = 10.0 * math.log10(snr) if snr is not None and snr > 0 else None
            out[tensor] = (ros, db)
        return out


def _tensor_scales(tflite: bytes) -> dict[str, float]:
    """Per-tensor quantization scale of each integer tensor (first channel's when per-axis)."""
    from tflbench.runtime import _import_backend

    mod, _ = _import_backend()
    interp = mod.Interpreter(model_content=tflite)
    out: dict[str, float] = {}
    for d in interp.get_tensor_details():
        qp = d.get("quantization_parameters") or {}
        scales = qp.get("scales")
        if d["dtype"] in (np.int8, np.int16) and scales is not None and len(scales):
            out[d["name"]] = float(scales[0])
    return out


def backend_for(model: Any, mode: Mode, calibration: np.ndarray, *, name: str = "model",
                debug_samples: np.ndarray | None = None, fp32: bytes | None = None) -> Backend:
    """The converter's debugger for converter modes, the LiteRT Quantizer for ``lq-`` modes."""
    base = MODES.get(mode.base) if mode.base else mode
    if base is None:
        raise ConversionError(f"Unknown base mode {mode.base!r} of mode {mode.name!r}.")
    if base.tool == "quantizer":
        return QuantizerBackend(model, base, calibration, name=name, fp32=fp32)
    return ConverterBackend(model, base, calibration, name=name, debug_samples=debug_samples)


# --------------------------------------------------------------------------------- attribution


def predict(tflite: bytes, x: np.ndarray) -> np.ndarray:
    from tflbench.runtime import Runner

    return Runner(tflite, num_threads=1).predict(x)


def top1_agreement(reference: np.ndarray, candidate: np.ndarray) -> float:
    return float(np.mean(np.argmax(reference, -1) == np.argmax(candidate, -1)))


def layer_errors(lmap: LayerMap, stats: dict[str, tuple[float | None, float | None]]
                 ) -> list[LayerError]:
    """Per-tensor statistics aggregated per Keras layer (worst rmse/scale, lowest SQNR)."""
    out: list[LayerError] = []
    for layer in lmap.layers():
        tensors = tuple(lmap.tensors_of(layer))
        ros = [s[0] for t in tensors if (s := stats.get(t)) and s[0] is not None]
        sq = [s[1] for t in tensors if (s := stats.get(t)) and s[1] is not None]
        via = [t for t in tensors if lmap.tensors[t].via == "input"]
        notes = [f"{len(via)} tensor(s) named no layer, mapped by their input: "
                 + ", ".join(via)] if via else []
        out.append(LayerError(layer=layer, tensors=tensors,
                              rmse_over_scale=max(ros) if ros else None,
                              sqnr_db=min(sq) if sq else None, note="; ".join(notes)))
    return out


def attribute(model: Any, mode: Mode, calibration: np.ndarray, samples: np.ndarray, *,
              reference: np.ndarray | None = None, name: str = "model",
              sample_source: str = "evaluation", probes: int = DEFAULT_PROBES,
              backend: Backend | None = None, weights: bool = True,
              progress: Callable[[str], None] | None = None) -> Attribution:
    """Rank ``model``'s layers by their quantization error under ``mode`` on ``samples``.

    ``reference``: the Keras outputs on ``samples`` (predicted here when not given). With
    ``weights``, each weighted layer's int8 kernel alone is measured in Keras
    (:mod:`tflbench.weight_sensitivity`). The ``probes`` layers worst by that and by rmse/scale
    (then lowest SQNR), in turn, are re-quantized one at a time with that layer kept float,
    and ranked first by the agreement that regains.
    """
    say = progress or (lambda _m: None)
    if len(samples) == 0:
        raise ConversionError("Attribution needs samples; received none.")
    if reference is None:
        reference = np.asarray(model.predict(samples, batch_size=256, verbose=0), np.float32)
    be = backend or backend_for(model, mode, calibration, name=name,
                                debug_samples=samples[:min(len(samples), 200)])
    say("per-layer statistics")
    errors = layer_errors(be.lmap, be.tensor_stats(samples[:min(len(samples), 200)]))
    if weights:
        errors = _with_weight_sensitivity(model, errors, samples, reference, say)
    base = top1_agreement(reference, predict(be.quantized(), samples))
    candidates = _probe_candidates(errors, max(0, probes))
    probed: dict[str, LayerError] = {}
    for i, e in enumerate(candidates):
        say(f"layer {i + 1}/{len(candidates)} kept float: {e.layer}")
        try:
            agree = top1_agreement(reference, predict(be.quantized([e.layer]), samples))
        except ConversionError as exc:
            probed[e.layer] = LayerError(**{**e.__dict__, "note": str(exc)})
            continue
        probed[e.layer] = LayerError(**{**e.__dict__, "agreement_float": agree,
                                        "regained": agree - base})
    ranked = sorted((probed.get(e.layer, e) for e in errors), key=rank_key)
    unmapped = tuple(be.lmap.unmapped)
    notes = [f"{len(unmapped)} tensor(s) cannot be mapped to a Keras layer: "
             + ", ".join(unmapped[:5])] if unmapped else []
    return Attribution(model=name, mode=mode.name, method=be.method, n=int(len(samples)),
                       samples=sample_source, agreement=base, layers=tuple(ranked),
                       unmapped=unmapped, notes=tuple(notes))


def _with_weight_sensitivity(model: Any, errors: list[LayerError], samples: np.ndarray,
                             reference: np.ndarray, say: Callable[[str], None]
                             ) -> list[LayerError]:
    """``errors`` with ``agreement_weights_int8`` of the layer each weighted Keras layer's op
    is named after (the worst when several map to one)."""
    from tflbench.weight_sensitivity import fused_names, weight_sensitivity

    found = weight_sensitivity(model, samples, reference, progress=say)
    worst: dict[str, float] = {}
    for layer, target in fused_names(model, found, {e.layer for e in errors}).items():
        worst[target] = min(found[layer], worst.get(target, 1.0))
    return [LayerError(**{**e.__dict__, "agreement_weights_int8": worst[e.layer]})
            if e.layer in worst else e for e in errors]


# ----------------------------------------------------------------------- calibration sensitivity


@dataclass(frozen=True)
class CalibrationRun:
    size: int
    seed: int
    agreement: float
    accuracy: float
    passed: dict[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "seed": self.seed, "agreement": self.agreement,
                "accuracy": self.accuracy, "passed": dict(self.passed)}


@dataclass(frozen=True)
class Sensitivity:
    """Agreement and accuracy over calibration-set sizes x seeds; truthy when no gate's verdict
    depends on the seed."""

    mode: str
    n_eval: int
    runs: tuple[CalibrationRun, ...]
    warnings: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return not self.warnings

    def spread(self) -> list[dict[str, Any]]:
        """Per size: min/max/mean of agreement and accuracy over the seeds."""
        out = []
        for size in sorted({r.size for r in self.runs}):
            rs = [r for r in self.runs if r.size == size]
            ag = [r.agreement for r in rs]
            ac = [r.accuracy for r in rs]
            out.append({"size": size, "seeds": [r.seed for r in rs],
                        "agreement": {"min": min(ag), "max": max(ag), "mean": float(np.mean(ag))},
                        "accuracy": {"min": min(ac), "max": max(ac), "mean": float(np.mean(ac))}})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "n_eval": self.n_eval,
                "runs": [r.to_dict() for r in self.runs], "spread": self.spread(),
                "warnings": list(self.warnings)}


def seed_warnings(runs: Sequence[CalibrationRun], mode: str) -> list[str]:
    """One line per (size, gate) whose verdict differs between seeds."""
    out = []
    for size in sorted({r.size for r in runs}):
        rs = [r for r in runs if r.size == size]
        for gate in sorted({g for r in rs for g in r.passed}):
            verdicts = {r.seed: r.passed[gate] for r in rs if gate in r.passed}
            if len(set(verdicts.values())) > 1:
                fails = [s for s, ok in verdicts.items() if not ok]
                out.append(f"{mode}: the {gate} verdict depends on the calibration seed with "
                           f"{size} samples (fails with seed(s) {', '.join(map(str, fails))}, "
                           f"passes with the others); calibrate on more samples or fix the "
                           "seed's sample in the project.")
    return out


def sample_rows(x: Any, n: int, seed: int) -> np.ndarray:
    """``n`` seeded rows of ``x`` (all of them when fewer)."""
    idx = np.random.default_rng(seed).permutation(len(x))[: min(n, len(x))]
    return np.asarray(x[np.sort(idx)], dtype=np.float32)


def calibration_sensitivity(
    quantize: Callable[[np.ndarray], bytes], mode: str, pool: Any, x: np.ndarray,
    y: np.ndarray, reference: np.ndarray, *, sizes: Sequence[int] = (25, 100, 400),
    seeds: Sequence[int] = (0, 1, 2), min_top1_agreement: float | None = None,
    max_accuracy_drop: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Sensitivity:
    """Re-calibrate with each size x seed (``quantize(calibration) -> .tflite bytes``) and
    evaluate on ``x``/``y`` against the Keras ``reference``."""
    say = progress or (lambda _m: None)
    keras_acc = float(np.mean(np.argmax(reference, -1) == y))
    runs: list[CalibrationRun] = []
    for size in sizes:
        for seed in seeds:
            say(f"calibration {size} samples, seed {seed}")
            out = predict(quantize(sample_rows(pool, size, seed)), x)
            agree = top1_agreement(reference, out)
            acc = float(np.mean(np.argmax(out, -1) == y))
            passed: dict[str, bool] = {}
            if min_top1_agreement is not None:
                passed["min_top1_agreement"] = agree >= min_top1_agreement
            if max_accuracy_drop is not None:
                passed["max_accuracy_drop"] = keras_acc - acc <= max_accuracy_drop
            runs.append(CalibrationRun(size=min(size, len(pool)), seed=seed, agreement=agree,
                                       accuracy=acc, passed=passed))
    return Sensitivity(mode=mode, n_eval=int(len(y)), runs=tuple(runs),
                       warnings=tuple(seed_warnings(runs, mode)))
