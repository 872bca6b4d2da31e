"""One interpreter wrapper over the available TFLite runtime (never imports TensorFlow unless no
lightweight runtime is installed).

Backends, in order of preference: ``ai_edge_litert`` (LiteRT), ``tflite_runtime``, then
``tensorflow.lite``. The :class:`Runner` quantizes float inputs and dequantizes outputs from each
tensor's scale and zero point, evaluates in batches by resizing the input tensor, and exposes
``set_single_input`` / ``invoke`` / ``get_output`` for latency measurement of ``invoke()`` alone.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tflbench.capture import captured_fds
from tflbench.errors import ModelFileError, RuntimeBackendError

#: (backend name, module holding ``Interpreter``, distribution name for the version)
BACKENDS: tuple[tuple[str, str, str], ...] = (
    ("ai_edge_litert", "ai_edge_litert.interpreter", "ai-edge-litert"),
    ("tflite_runtime", "tflite_runtime.interpreter", "tflite-runtime"),
    ("tensorflow", "tensorflow.lite.python.interpreter", "tensorflow"),
)

_TFLITE_IDENTIFIER = b"TFL3"


class SampleRows(Protocol):
    """Inputs :meth:`Runner.predict` reads batch by batch without copying them whole: a NumPy
    array, or any object with ``shape``, ``len()`` and slicing of the first axis into arrays
    (such as :class:`tflbench.data.base.LazyArray`, which reads rows on demand)."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, key: Any) -> Any: ...


def _import_backend(preferred: str | None = None) -> tuple[Any, dict[str, str]]:
    """Return ``(interpreter_module, {"name", "version"})`` for the first importable backend."""
    order = [b for b in BACKENDS if preferred in (None, b[0])]
    if preferred and not order:
        raise RuntimeBackendError(
            f"Unknown runtime backend. Received: {preferred!r}. "
            f"Expected one of: {', '.join(b[0] for b in BACKENDS)}."
        )
    errors = []
    for name, module, dist in order:
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
            continue
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = getattr(mod, "__version__", "unknown")
        return mod, {"name": name, "version": version}
    raise RuntimeBackendError(
        "No TFLite runtime is installed (" + "; ".join(errors) + "). "
        "Install one: pip install ai-edge-litert (or tflite-runtime on devices without it)."
    )


def backend_info(preferred: str | None = None) -> dict[str, str]:
    """Name and version of the runtime that :class:`Runner` would use."""
    return dict(_import_backend(preferred)[1])


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype: Any) -> np.ndarray:
    """Affine-quantize float ``x`` to integer ``dtype``: ``round(x / scale) + zero_point``
    (halves away from zero), clipped to the dtype's range. A scale of 0 means the tensor is not
    quantized: cast only."""
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.integer) or scale == 0:
        return np.asarray(x).astype(dt, copy=False)
    info = np.iinfo(dt)
    v = np.asarray(x, dtype=np.float32) / np.float32(scale)
    # Round half away from zero, as TFLite's own quantize kernels do (std::round).
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point
    return np.clip(q, info.min, info.max).astype(dt)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Inverse of :func:`quantize`: ``(q - zero_point) * scale`` as float32 (cast when scale 0)."""
    q = np.asarray(q)
    if not np.issubdtype(q.dtype, np.integer) or scale == 0:
        return q.astype(np.float32, copy=False)
    return ((q.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]
    dtype: np.dtype
    scale: float
    zero_point: int

    @classmethod
    def from_detail(cls, d: dict[str, Any]) -> TensorInfo:
        scale, zp = d.get("quantization", (0.0, 0)) or (0.0, 0)
        sig = d.get("shape_signature", d["shape"])
        return cls(
            index=int(d["index"]),
            name=str(d.get("name", "")),
            shape=tuple(int(s) for s in d["shape"]),
            shape_signature=tuple(int(s) for s in sig),
            dtype=np.dtype(d["dtype"]),
            scale=float(scale),
            zero_point=int(zp),
        )

    @property
    def quantized(self) -> bool:
        return bool(np.issubdtype(self.dtype, np.integer) and self.scale != 0)


#: Lines the runtime prints on every interpreter creation; dropped, everything else is kept.
_RUNTIME_CHATTER = ("Created TensorFlow Lite XNNPACK delegate for CPU",)


def _reemit(lines: list[str]) -> None:
    for line in lines:
        if not any(c in line for c in _RUNTIME_CHATTER):
            print(line, file=sys.stderr)


def read_model_bytes(model: str | os.PathLike[str] | bytes) -> tuple[bytes, str]:
    """Read and sanity-check a ``.tflite`` flatbuffer; returns ``(bytes, label)``."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        data, label = bytes(model), "<in-memory model>"
    else:
        p = Path(model)
        label = str(p)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise ModelFileError(f"TFLite model not found: {p}. Check the path.") from None
        except IsADirectoryError:
            raise ModelFileError(f"Expected a .tflite file, got a directory: {p}.") from None
        except OSError as exc:
            raise ModelFileError(f"Cannot read TFLite model {p}: {exc}.") from None
    if len(data) < 8 or data[4:8] != _TFLITE_IDENTIFIER:
        raise ModelFileError(
            f"{label} is not a TFLite flatbuffer (size {len(data)} bytes, identifier "
            f"{data[4:8]!r}, expected {_TFLITE_IDENTIFIER!r}): the file is corrupt, truncated or "
            "of another format. Re-convert the model or copy it again."
        )
    return data, label


class Runner:
    """A loaded TFLite model on one interpreter.

    ``num_threads`` is fixed at load time; ``xnnpack=False`` uses the builtin kernels without the
    default XNNPACK delegate.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | bytes,
        *,
        num_threads: int | None = 1,
        xnnpack: bool = True,
        backend: str | None = None,
        name: str | None = None,
    ) -> None:
        data, label = read_model_bytes(model)
        self.name = name or label
        self.num_threads = num_threads
        self.xnnpack = xnnpack
        mod, self.backend = _import_backend(backend)
        kwargs: dict[str, Any] = {"model_content": data, "num_threads": num_threads}
        if not xnnpack:
            resolver = getattr(mod, "OpResolverType", None)
            if resolver is None:
                raise RuntimeBackendError(
                    f"Runtime {self.backend['name']} {self.backend['version']} cannot disable "
                    "XNNPACK. Use ai-edge-litert or run with XNNPACK on."
                )
            kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        t0 = time.perf_counter_ns()
        try:
            with captured_fds((2,)) as logged:
                self._interp = mod.Interpreter(**kwargs)
                self._interp.allocate_tensors()
            init_ns = time.perf_counter_ns() - t0
            # A corrupt file can hold tensor names that are not UTF-8 (UnicodeDecodeError).
            ins, outs = self._interp.get_input_details(), self._interp.get_output_details()
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(
                f"The runtime ({self.backend['name']} {self.backend['version']}) rejected "
                f"{self.name}: {exc}. The file may be corrupt or use ops this runtime lacks; "
                "re-convert it or upgrade the runtime."
            ) from None
        self.init_us = init_ns / 1000.0
        _reemit(logged)
        if len(ins) != 1 or len(outs) != 1:
            raise RuntimeBackendError(
                f"{self.name} has {len(ins)} inputs and {len(outs)} outputs; tflbench evaluates "
                "image classifiers with exactly one input and one output."
            )
        self.input = TensorInfo.from_detail(ins[0])
        self.output = TensorInfo.from_detail(outs[0])
        if not self.input.shape or not self.output.shape:
            raise ModelFileError(
                f"{self.name} has a scalar input or output (shapes {list(self.input.shape)} and "
                f"{list(self.output.shape)}); tflbench evaluates image classifiers with a batch "
                "dimension. The file may be corrupt; re-convert it."
            )
        self._batch = self.input.shape[0]

    # -- shape handling ---------------------------------------------------------------------
    @property
    def sample_shape(self) -> tuple[int, ...]:
        return self.input.shape[1:]

    def _check_shape(self, x: np.ndarray | SampleRows) -> None:
        if tuple(x.shape[1:]) != self.sample_shape:
            raise RuntimeBackendError(
                f"Input shape mismatch for {self.name}: received samples of shape "
                f"{tuple(x.shape[1:])}, the model expects {self.sample_shape}. Preprocess the "
                "data to the model's input size (see the preprocessing spec)."
            )

    def _resize(self, batch: int) -> None:
        if batch == self._batch:
            return
        try:
            self._interp.resize_tensor_input(self.input.index, [batch, *self.sample_shape])
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise RuntimeBackendError(
                f"{self.name} cannot take a batch of {batch}: {exc}"
            ) from None
        self._batch = batch

    @property
    def batchable(self) -> bool:
        """True when the batch dimension may be resized (dynamic or unknown signature)."""
        return self.input.shape_signature[:1] in ((-1,), (1,)) and len(self.input.shape) >= 1

    # -- inference ----------------------------------------------------------------------------
    def _set(self, x: np.ndarray) -> None:
        q = quantize(x, self.input.scale, self.input.zero_point, self.input.dtype)
        self._interp.set_tensor(self.input.index, q)

    def get_output(self) -> np.ndarray:
        """Float32 output of the last ``invoke()`` (dequantized; a copy)."""
        out = self._interp.get_tensor(self.output.index)
        return dequantize(out, self.output.scale, self.output.zero_point).copy()

    def set_single_input(self, x1: np.ndarray) -> None:
        """Set one sample (shape ``sample_shape`` or ``(1, *sample_shape)``) as the input."""
        x = np.asarray(x1, dtype=np.float32)
        if x.shape == self.sample_shape:
            x = x[None]
        self._check_shape(x)
        if len(x) != 1:
            raise RuntimeBackendError(
                f"set_single_input takes one sample; received a batch of {len(x)}."
            )
        self._resize(1)
        self._set(x)

    def invoke(self) -> None:
        self._interp.invoke()

    def _batched(self, x: np.ndarray | SampleRows, batch_size: int) -> Iterator[np.ndarray]:
        for start in range(0, len(x), batch_size):
            chunk = np.asarray(x[start : start + batch_size], dtype=np.float32)
            self._resize(len(chunk))
            self._set(chunk)
            self._interp.invoke()
            yield self.get_output()

    def predict(self, x: np.ndarray | SampleRows, batch_size: int = 64) -> np.ndarray:
        """Outputs for every sample of ``x``, evaluated ``batch_size`` samples per invoke.

        ``x`` is read one batch at a time, so a lazy array (see :class:`SampleRows`) is never
        held whole. Falls back to one invoke per sample when the model's batch dimension cannot
        be resized.
        """
        x = _rows(x)
        self._check_shape(x)
        if len(x) == 0:
            return np.zeros((0, *self.output.shape[1:]), np.float32)
        if batch_size < 1:
            raise RuntimeBackendError(f"batch_size must be >= 1. Received: {batch_size}.")
        try:
            return np.concatenate(list(self._batched(x, batch_size)))
        except RuntimeBackendError:
            if batch_size == 1:
                raise
            return self.predict_per_sample(x)

    def predict_batches(
        self, batches: Iterable[np.ndarray], batch_size: int = 64
    ) -> Iterator[np.ndarray]:
        """Stream outputs for an iterable of input batches (nothing held beyond one batch)."""
        for b in batches:
            yield self.predict(b, batch_size=batch_size)

    def predict_per_sample(self, x: np.ndarray | SampleRows) -> np.ndarray:
        """Outputs with one ``invoke()`` per sample (the slow reference path)."""
        x = _rows(x)
        self._check_shape(x)
        self._resize(1)
        outs = []
        for i in range(len(x)):
            self._set(np.asarray(x[i : i + 1], dtype=np.float32))
            self._interp.invoke()
            outs.append(self.get_output())
        if not outs:
            return np.zeros((0, *self.output.shape[1:]), np.float32)
        return np.concatenate(outs)

    def io_record(self) -> dict[str, Any]:
        """The ``io`` object of a mode record."""
        return {
            "input_dtype": self.input.dtype.name,
            "input_scale": self.input.scale,
            "input_zero_point": self.input.zero_point,
            "input_shape": list(self.input.shape_signature),
            "output_dtype": self.output.dtype.name,
            "output_scale": self.output.scale,
            "output_zero_point": self.output.zero_point,
            "output_shape": list(self.output.shape_signature),
        }


def _rows(x: Any) -> np.ndarray | SampleRows:
    """``x`` as is when it can be sliced batch by batch, else as an array (lists, scalars)."""
    if isinstance(x, np.ndarray) or (hasattr(x, "shape") and hasattr(x, "__getitem__")
                                     and hasattr(x, "__len__")):
        return x  # type: ignore[no-any-return]
    return np.asarray(x)
