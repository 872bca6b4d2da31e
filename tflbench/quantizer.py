"""LiteRT Quantizer modes: a recipe applied to the bytes of the mode ``fp32`` file.

Each ``lq-`` mode of :mod:`tflbench.modes` names a recipe of ``litert_quantizer.recipe``
(data, not code). Static recipes calibrate on the same samples as the converter's full-integer
modes. Layers kept in float (a tuned mode) become ``no_quantize`` entries matching exactly
their tensors. ``litert-quantizer`` comes with ``pip install 'tflbench[convert]'``; without it
an ``lq-`` mode fails with one line saying what to install, and the other modes go on.
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tflbench.capture import captured_fds
from tflbench.errors import ConversionError
from tflbench.modes import Mode

PACKAGE = "litert-quantizer"
INSTALL_HINT = ("pip install litert-quantizer (it comes with pip install 'tflbench[convert]' "
                "or 'tflbench[host]')")


def quantizer_version() -> str | None:
    from tflbench.fileio import package_version

    return package_version(PACKAGE)


def require_quantizer(mode: str) -> Any:
    """The ``litert_quantizer`` package, or one line saying what to install."""
    try:
        import litert_quantizer
    except ImportError:
        raise ConversionError(f"Mode '{mode}' needs the LiteRT Quantizer, which is not "
                              f"installed: {INSTALL_HINT}. The other modes go on.") from None
    return litert_quantizer


def no_quantize_entry(tensors: Sequence[str]) -> dict[str, Any]:
    """A recipe entry that leaves exactly ``tensors`` (op output names) unquantized."""
    regex = "^(?:" + "|".join(re.escape(t) for t in tensors) + ")$"
    return {"regex": regex, "operation": "*", "algorithm_key": "no_quantize"}


def recipe_for(mode: Mode, float_tensors: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The quantizer recipe (a list of JSON-able entries) of ``mode``; later entries win."""
    if mode.tool != "quantizer" or mode.recipe is None:
        raise ConversionError(f"Mode '{mode.name}' is not a LiteRT Quantizer mode "
                              f"(tool={mode.tool!r}); it is converted by the converter.")
    lq = require_quantizer(mode.name)
    from litert_quantizer import recipe as recipes

    make: Callable[[], Any] | None = getattr(recipes, mode.recipe, None)
    if make is None:
        raise ConversionError(f"Mode '{mode.name}': recipe {mode.recipe!r} is not in "
                              f"litert-quantizer {quantizer_version()} ({lq.__name__}.recipe). "
                              "Upgrade litert-quantizer.")
    entries = [dict(e) for e in make()]
    if float_tensors:
        entries.append(no_quantize_entry(float_tensors))
    return entries


@dataclass(frozen=True)
class QuantizeOutcome:
    """The result of quantizing one fp32 file under one quantizer mode."""

    mode: str
    tflite: bytes = field(repr=False)
    seconds: float
    recipe: list[dict[str, Any]] = field(default_factory=list, repr=False)
    warnings: tuple[str, ...] = ()
    path: str = "litert-quantizer"

    def record(self, cached: bool = False) -> dict[str, Any]:
        return {"path": self.path, "seconds": round(self.seconds, 3),
                "warnings": list(self.warnings), "cached": cached,
                "tool": "quantizer", "quantizer_version": quantizer_version()}


def _signature_input(fp32: bytes) -> tuple[str, str]:
    from tflbench.runtime import _import_backend

    mod, _ = _import_backend()
    sigs = mod.Interpreter(model_content=fp32).get_signature_list()
    if len(sigs) != 1:
        raise ConversionError(f"The LiteRT Quantizer modes need a model with one signature. "
                              f"Received: {len(sigs)} signatures ({', '.join(sigs)}).")
    key, sig = next(iter(sigs.items()))
    if len(sig["inputs"]) != 1:
        raise ConversionError(f"The LiteRT Quantizer modes support one input. Received: "
                              f"{len(sig['inputs'])} inputs ({', '.join(sig['inputs'])}).")
    return key, sig["inputs"][0]


class Calibrated:
    """A quantizer loaded with the fp32 file and (for static recipes) its calibration, ready to
    quantize the mode with any set of float tensors (the tuner quantizes many times)."""

    def __init__(self, fp32: bytes, mode: Mode, calibration: np.ndarray | None, *,
                 name: str = "model") -> None:
        self.fp32, self.mode, self.name = fp32, mode, name
        self._calibration: Any = None
        base = recipe_for(mode)
        require_quantizer(mode.name)
        from litert_quantizer import Quantizer

        t0 = time.perf_counter()
        q = Quantizer(fp32, base)
        if q.need_calibration:
            if calibration is None or len(calibration) == 0:
                raise ConversionError(f"Mode '{mode.name}' needs calibration samples; received "
                                      "none. Give training samples (representative_samples > 0)"
                                      " or --calibration-data.")
            sig, inp = _signature_input(fp32)
            data = {sig: [{inp: np.asarray(calibration[i:i + 1], np.float32)}
                          for i in range(len(calibration))]}
            with _quiet():
                self._calibration = _call(name, mode, lambda: q.calibrate(data, num_threads=1))
        self.calibration_seconds = time.perf_counter() - t0

    def quantize(self, float_tensors: Sequence[str] = ()) -> QuantizeOutcome:
        from litert_quantizer import Quantizer

        t0 = time.perf_counter()
        rec = recipe_for(self.mode, float_tensors)
        with _quiet() as caught:
            q = Quantizer(self.fp32, rec)
            result = _call(self.name, self.mode, lambda: q.quantize(
                self._calibration, enable_progress_report=False, enable_progress_bar=False))
        data = bytes(result.quantized_model)
        found = tuple(dict.fromkeys(str(w.message).splitlines()[0] for w in caught
                                    if w.category is not DeprecationWarning
                                    and "preserve_all_tensors" not in str(w.message)))
        return QuantizeOutcome(mode=self.mode.name, tflite=data, recipe=rec, warnings=found,
                               seconds=time.perf_counter() - t0 + self.calibration_seconds)


@contextlib.contextmanager
def _quiet() -> Iterator[list[warnings.WarningMessage]]:
    """Progress bars and logs captured; Python warnings recorded."""
    with captured_fds(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught if caught is not None else []


def _call(name: str, mode: Mode, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ConversionError:
        raise
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise ConversionError(
            f"{name}: quantization to mode '{mode.name}' failed (litert-quantizer "
            f"{quantizer_version()}): {text[0] if text else type(exc).__name__}. The other "
            "modes go on; check that every op is supported by this recipe."
        ) from None


def quantize_tflite(fp32: bytes, mode: Mode, calibration: np.ndarray | None = None, *,
                    name: str = "model",
                    layer_names: Callable[[], Sequence[str]] | None = None) -> QuantizeOutcome:
    """Quantize the fp32 file ``fp32`` under quantizer ``mode``.

    A tuned mode (``mode.float_layers``) needs the Keras layer names (``layer_names``, called
    only then) to find its layers' tensors (:mod:`tflbench.layers`).
    """
    floats: list[str] = []
    if mode.float_layers:
        if layer_names is None:
            raise ConversionError(f"Mode '{mode.name}' keeps layers in float; the Keras model's "
                                  "layer names are needed to find their tensors.")
        from tflbench.layers import layer_tensor_names

        floats = layer_tensor_names(fp32, list(layer_names()), mode.float_layers)
    return Calibrated(fp32, mode, calibration, name=name).quantize(floats)
