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
    """Convert ``model`` under ``mode``. Raises :class:`ConversionError` on failure."""
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
