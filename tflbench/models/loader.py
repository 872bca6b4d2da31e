"""Load users' Keras models (``.keras``, ``.h5``, SavedModel directories) and hash models.

TensorFlow/Keras are imported only inside these functions.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path
from typing import Any

from tflbench.errors import ModelLoadError


def model_kind(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    if p.is_dir():
        if (p / "saved_model.pb").exists() or (p / "saved_model.pbtxt").exists():
            return "saved_model"
        raise ModelLoadError(
            f"{p} is a directory without saved_model.pb. Give a .keras or .h5 file or a "
            "SavedModel directory."
        )
    suffix = p.suffix.lower()
    if suffix == ".keras":
        return "keras"
    if suffix in (".h5", ".hdf5"):
        return "h5"
    raise ModelLoadError(
        f"Unsupported model file: {p} (suffix {suffix!r}). Expected a .keras file, a .h5 file or "
        "a SavedModel directory."
    )


def load_model(path: str | os.PathLike[str], *, safe_mode: bool = True) -> Any:
    """Load a Keras model for inference and conversion.

    ``.keras`` files load with ``safe_mode=True`` (no arbitrary code from Lambda layers) unless the
    caller opts out. SavedModel directories are wrapped in a Keras ``TFSMLayer`` model.
    """
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"Model not found: {p}. Check the path.")
    kind = model_kind(p)
    if kind == "keras" and not zipfile.is_zipfile(p):
        raise ModelLoadError(
            f"{p} is not a valid .keras file (not a zip archive: truncated, corrupt or of "
            "another format). Save the model again with model.save('model.keras') and copy it "
            "completely."
        )
    import keras  # lazy: TensorFlow is needed only to load/convert

    try:
        if kind == "keras":
            return keras.models.load_model(p, compile=False, safe_mode=safe_mode)
        if kind == "h5":
            return keras.models.load_model(p, compile=False)
        layer = keras.layers.TFSMLayer(str(p), call_endpoint="serving_default")
        return _wrap_saved_model(layer, p)
    except ModelLoadError:
        raise
    except Exception as exc:  # Keras raises many types for bad files
        msg = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__).rstrip(".")
        hint = ""
        if kind == "keras" and safe_mode and "safe_mode" in str(exc):
            hint = (" The model uses a Lambda layer or custom code, refused by safe_mode; "
                    "if you trust this file, opt out with --unsafe-model-loading.")
        raise ModelLoadError(f"Cannot load Keras model {p} ({kind}): {msg}.{hint}") from None


def _wrap_saved_model(layer: Any, path: Path) -> Any:
    import keras

    spec = None
    try:
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        fn = loaded.signatures["serving_default"]
        (spec,) = fn.structured_input_signature[1].values()
    except Exception as exc:
        raise ModelLoadError(
            f"SavedModel {path} has no single-input 'serving_default' signature ({exc})."
        ) from None
    inp = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype.name)
    out = layer(inp)
    if isinstance(out, dict):
        if len(out) != 1:
            raise ModelLoadError(
                f"SavedModel {path} has {len(out)} outputs ({', '.join(out)}); tflbench needs one."
            )
        out = next(iter(out.values()))
    return keras.Model(inp, out)


def model_hash(model: Any) -> str:
    """SHA-256 over the input/output shapes, the architecture (``get_config()``) and every
    weight (order, shape, bytes).

    Stable across save/load of the same model, unlike file hashes of ``.keras`` zips.
    """
    import json

    import numpy as np

    h = hashlib.sha256()
    h.update(repr([tuple(model.input_shape), tuple(model.output_shape)]).encode())
    # The architecture too: layers without weights (activations, rescaling, pooling) change the
    # outputs as much as the weights do.
    try:
        config = model.get_config()
    except Exception:  # models that cannot describe themselves: fall back to their layers
        config = [type(layer).__name__ for layer in model.layers]
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    for w in model.weights:
        a = np.ascontiguousarray(np.asarray(w))
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()
