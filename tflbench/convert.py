"""Keras -> TFLite conversion under one optimization mode (the only converter code).

Reads a :class:`~tflbench.modes.Mode` record and applies it to ``tf.lite.TFLiteConverter``.
``from_keras_model`` is tried first; when it fails (a known issue with some Keras 3 models) the
model is exported as a SavedModel and converted with ``from_saved_model``. The path used, the
time taken and the converter's warnings are recorded. A failure raises
:class:`~tflbench.errors.ConversionError` with the converter's own message.
"""

from __future__ import annotations

import re
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tflbench.capture import captured_fds
from tflbench.errors import ConversionError
from tflbench.modes import Mode

_WARNING_RE = re.compile(r"(warning|^W\d{4}|deprecat)", re.IGNORECASE)
_NOISE_RE = re.compile(r"(All log messages before absl|oneDNN custom operations|cpu_feature_guard"
                       r"|rebuild TensorFlow with the appropriate compiler flags|computation "
                       r"placer already registered|Unable to register cu|Ignored output_format"
                       r"|Ignored drop_control_dependency)", re.IGNORECASE)
_GLOG_PREFIX_RE = re.compile(r"^[WEI]\d{4} [\d:. ]+\s+\d+ \S+:\d+\] ")


@dataclass(frozen=True)
class ConversionOutcome:
    """The result of converting one model under one mode."""

    mode: str
    tflite: bytes = field(repr=False)
    path: str  # "from_keras_model" or "saved_model"
    seconds: float
    warnings: tuple[str, ...] = ()

    def record(self, cached: bool = False) -> dict[str, Any]:
        return {"path": self.path, "seconds": round(self.seconds, 3),
                "warnings": list(self.warnings), "cached": cached}


def _representative(x: np.ndarray) -> Any:
    def gen() -> Iterator[list[np.ndarray]]:
        for i in range(len(x)):
            yield [np.asarray(x[i : i + 1], dtype=np.float32)]

    return gen


def _configure(converter: Any, mode: Mode, representative: np.ndarray | None) -> None:
    import tensorflow as tf

    if mode.optimizations:
        converter.optimizations = [getattr(tf.lite.Optimize, o) for o in mode.optimizations]
    if mode.supported_ops:
        converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, o)
                                               for o in mode.supported_ops]
    if mode.supported_types:
        converter.target_spec.supported_types = [tf.dtypes.as_dtype(t)
                                                 for t in mode.supported_types]
    if mode.inference_input_type:
        converter.inference_input_type = tf.dtypes.as_dtype(mode.inference_input_type)
    if mode.inference_output_type:
        converter.inference_output_type = tf.dtypes.as_dtype(mode.inference_output_type)
    if mode.needs_representative_data:
        if representative is None or len(representative) == 0:
            raise ConversionError(
                f"Mode '{mode.name}' needs a representative dataset; received none. "
                "Give training samples (representative_samples > 0)."
            )
        converter.representative_dataset = _representative(representative)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errs = [ln for ln in lines if "error" in ln.lower()]
    return (errs[0] if errs else lines[0] if lines else type(exc).__name__)[:500].rstrip(".")


def convert(
    model: Any, mode: Mode, representative: np.ndarray | None = None, *, name: str = "model"
) -> ConversionOutcome:
    """Convert ``model`` under ``mode``. Raises :class:`ConversionError` on failure.

    A LiteRT Quantizer mode converts to ``fp32`` and quantizes that file
    (:mod:`tflbench.quantizer`; the pipeline reuses its cached ``fp32`` file instead). A
    converter mode with layers kept in float goes through the converter's quantization
    debugger with those layers' tensors denylisted (:func:`convert_keeping_float`).
    """
    if mode.tool == "quantizer":
        from tflbench.layers import keras_layer_names
        from tflbench.modes import MODES
        from tflbench.quantizer import quantize_tflite

        fp32 = convert(model, MODES["fp32"], None, name=name)
        q = quantize_tflite(fp32.tflite, mode, representative, name=name,
                            layer_names=lambda: keras_layer_names(model))
        return ConversionOutcome(mode=mode.name, tflite=q.tflite, path=q.path,
                                 seconds=fp32.seconds + q.seconds,
                                 warnings=fp32.warnings + q.warnings)
    if mode.float_layers:
        return convert_keeping_float(model, mode, representative, name=name)
    import tensorflow as tf

    t0 = time.perf_counter()
    captured: list[str] = []
    py_warnings: list[str] = []
    path = "from_keras_model"
    try:
        with captured_fds() as captured, warnings.catch_warnings(record=True) as wlist:
            warnings.simplefilter("always")
            try:
                conv = tf.lite.TFLiteConverter.from_keras_model(model)
                _configure(conv, mode, representative)
                data = conv.convert()
            except ConversionError:
                raise
            except Exception:
                path = "saved_model"
                with tempfile.TemporaryDirectory(prefix="tflbench-export-") as d:
                    model.export(d, verbose=False)
                    conv = tf.lite.TFLiteConverter.from_saved_model(d)
                    _configure(conv, mode, representative)
                    data = conv.convert()
            py_warnings = [str(w.message).splitlines()[0] for w in wlist
                           if w.category is not DeprecationWarning]
    except ConversionError:
        raise
    except Exception as exc:
        raise ConversionError(
            f"{name}: conversion to mode '{mode.name}' failed ({path}): {_first_line(exc)}. "
            "The other modes go on; check that every layer is supported by this mode "
            "(see 'tflbench modes')."
        ) from None
    seconds = time.perf_counter() - t0
    logged = [ln for ln in captured if _WARNING_RE.search(ln) and not _NOISE_RE.search(ln)]
    found = list(dict.fromkeys(py_warnings + [_GLOG_PREFIX_RE.sub("", ln)[:300] for ln in logged]))
    return ConversionOutcome(mode=mode.name, tflite=bytes(data), path=path, seconds=seconds,
                             warnings=tuple(found))


# ------------------------------------------------------------- layers kept in float (converter)


class DebugSession:
    """The converter's ``QuantizationDebugger`` on one model and mode: calibrated once, then
    per-layer error statistics (:meth:`layer_statistics`) and quantized files with any set of
    tensors denylisted (:meth:`quantized`), as the tuner needs."""

    def __init__(self, model: Any, mode: Mode, representative: np.ndarray | None, *,
                 name: str = "model", debug_samples: np.ndarray | None = None) -> None:
        import tensorflow as tf

        if mode.tool != "converter" or not mode.needs_representative_data:
            raise ConversionError(f"The converter's quantization debugger needs a full-integer "
                                  f"converter mode. Received: mode '{mode.name}'.")
        if mode.name == "int16x8" or mode.base == "int16x8":
            raise ConversionError("The converter's quantization debugger supports int8 "
                                  "activations only. Received: mode 'int16x8'; diagnose "
                                  "lq-static-int16x8 instead.")
        self.mode, self.name = mode, name
        dbg_x = np.asarray(representative if debug_samples is None else debug_samples,
                           np.float32)
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        _configure(conv, _float_io(mode), representative)

        def dataset() -> Iterator[list[np.ndarray]]:
            for i in range(len(dbg_x)):
                yield [np.asarray(dbg_x[i:i + 1], np.float32)]

        options = tf.lite.experimental.QuantizationDebugOptions(
            layer_direct_compare_metrics={"rmse/scale": _rmse_over_scale, "sqnr_db": _sqnr_db})
        try:
            with captured_fds(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._dbg = tf.lite.experimental.QuantizationDebugger(
                    converter=conv, debug_dataset=dataset, debug_options=options)
        except ConversionError:
            raise
        except Exception as exc:
            raise ConversionError(f"{name}: the quantization debugger failed for mode "
                                  f"'{mode.name}': {_first_line(exc)}.") from None
        self.calibrated_model = bytes(self._dbg.calibrated_model)

    def layer_statistics(self) -> dict[str, dict[str, float]]:
        """Per-op statistics keyed by the op's output tensor name (``NumericVerify`` names
        mapped back to the float tensor names of :attr:`calibrated_model`)."""
        with captured_fds(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._dbg.run()
        from tflbench.layers import ops_of

        known = {op.output for op in ops_of(self.calibrated_model)}
        out: dict[str, dict[str, float]] = {}
        for key, stats in (self._dbg.layer_statistics or {}).items():
            tensor = verify_tensor_name(key, known)
            if tensor is not None:
                out[tensor] = {k: float(v) for k, v in stats.items()}
        return out

    def quantized(self, denylisted: list[str]) -> bytes:
        """The quantized file with ``denylisted`` tensors' ops kept in float (this mode's I/O
        types)."""
        import tensorflow as tf
        from tensorflow.lite.python import util as tfl_util

        opts = tf.lite.experimental.QuantizationDebugOptions(
            denylisted_nodes=list(denylisted) or None)
        with captured_fds(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._dbg.options = opts
            data = bytes(self._dbg.get_nondebug_quantized_model())
            if self.mode.inference_input_type or self.mode.inference_output_type:
                data = bytes(tfl_util.modify_model_io_type(
                    data, tf.dtypes.as_dtype(self.mode.inference_input_type or "float32"),
                    tf.dtypes.as_dtype(self.mode.inference_output_type or "float32")))
        return data


def _float_io(mode: Mode) -> Mode:
    import dataclasses

    return dataclasses.replace(mode, inference_input_type=None, inference_output_type=None)


def verify_tensor_name(key: str, known: set[str]) -> str | None:
    """``NumericVerify/<tensor><n>:<index>`` -> ``<tensor>`` when it is one of ``known``."""
    name = re.sub(r":\d+$", "", key.removeprefix("NumericVerify/"))
    for cand in (name, re.sub(r"\d$", "", name)):
        if cand in known:
            return cand
    return None


def _dequantized(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray | None:
    if q.dtype not in (np.int8, np.int16, np.uint8) or not (np.isfinite(scale) and scale > 0):
        return None
    return (q.astype(np.float32) - zero_point) * scale


def _rmse_over_scale(f: np.ndarray, q: np.ndarray, scale: float, zero_point: int) -> float:
    d = _dequantized(q, scale, zero_point)
    if d is None:
        return float("nan")
    return float(np.sqrt(np.mean((f.astype(np.float32) - d) ** 2)) / scale)


def _sqnr_db(f: np.ndarray, q: np.ndarray, scale: float, zero_point: int) -> float:
    d = _dequantized(q, scale, zero_point)
    if d is None:
        return float("nan")
    f = f.astype(np.float32)
    noise = float(np.mean((f - d) ** 2))
    signal = float(np.mean(f ** 2))
    if noise == 0.0:
        return float("inf") if signal > 0 else float("nan")
    return 10.0 * float(np.log10(max(signal, 1e-30) / noise))


def convert_keeping_float(model: Any, mode: Mode, representative: np.ndarray | None, *,
                          name: str = "model") -> ConversionOutcome:
    """A full-integer converter mode with ``mode.float_layers`` kept in float."""
    from tflbench.layers import keras_layer_names, layer_tensor_names

    t0 = time.perf_counter()
    session = DebugSession(model, mode, representative, name=name,
                           debug_samples=None if representative is None else representative[:1])
    tensors = layer_tensor_names(session.calibrated_model, keras_layer_names(model),
                                 mode.float_layers)
    data = session.quantized(tensors)
    return ConversionOutcome(mode=mode.name, tflite=data, path="quantization_debugger",
                             seconds=time.perf_counter() - t0)
