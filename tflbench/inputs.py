"""Does the data reach the model on the scale the model expects? A model whose first layers
rescale its inputs (``Rescaling``, ``Normalization``) fed data that tflbench already scaled, or
raw 0..255 data fed to a model without such a layer, is evaluated on the wrong inputs: every
figure would be about the wrong thing. These checks produce one warning line each, naming the
model, its layer and the data's preprocessing, and say what to change."""

from __future__ import annotations

from typing import Any

#: Keras layer classes that rescale or normalize inputs.
RESCALING = ("Rescaling", "Normalization")


def input_layers(model: Any) -> list[dict[str, Any]]:
    """The leading rescaling layers of a Keras model as ``{"class", "name", "scale"?,
    "offset"?}`` (stored with the model's hash, so a cached run needs no TensorFlow)."""
    out: list[dict[str, Any]] = []
    for layer in getattr(model, "layers", [])[:4]:
        kind = type(layer).__name__
        if kind in ("InputLayer",):
            continue
        if kind not in RESCALING:
            break
        entry: dict[str, Any] = {"class": kind, "name": layer.name}
        cfg = layer.get_config()
        for key in ("scale", "offset"):
            if isinstance(cfg.get(key), (int, float)):
                entry[key] = float(cfg[key])
        out.append(entry)
    return out


def _describe(pre: dict[str, Any]) -> str:
    named = pre.get("named")
    scale, offset = pre.get("scale"), pre.get("offset")
    parts = [f"preprocessing '{named}'"] if named else []
    if isinstance(scale, (int, float)) and scale != 1.0:
        parts.append(f"x * {scale:.6g}" + (f" + {offset:g}" if offset else ""))
    return ", ".join(parts) or "no scaling"


def input_warnings(model_name: str, layers: list[dict[str, Any]], preprocessing: dict[str, Any],
                   data_name: str, sample_max: float | None) -> list[str]:
    """Warnings when the data's scaling and the model's own input layers disagree. Raw pixels
    asked for explicitly (``preprocess=raw``) are the user's statement of the model's range."""
    pre = preprocessing or {}
    scaled = isinstance(pre.get("scale"), (int, float)) and pre["scale"] != 1.0
    lines = []
    if layers:
        first = layers[0]
        what = first["class"] + (f"(scale={first['scale']:.6g})" if "scale" in first else "")
        if scaled:
            lines.append(
                f"{model_name}: the model rescales its inputs itself ({what} layer "
                f"'{first['name']}') but the data '{data_name}' was already scaled "
                f"({_describe(pre)}): inputs are scaled twice. Pass the raw values, e.g. "
                "'?preprocess=raw' in the data spec.")
        elif first["class"] == "Rescaling" and first.get("scale", 1.0) < 0.1 and \
                sample_max is not None and sample_max <= 1.0:
            lines.append(
                f"{model_name}: the model rescales its inputs ({what} layer '{first['name']}', "
                f"made for 0..255 pixels) but the data '{data_name}' lies in 0..1 "
                f"(max {sample_max:.3g}). Give the data unscaled.")
    elif pre.get("raw_dtype") == "uint8" and not scaled and pre.get("named") != "raw" and \
            sample_max is not None and sample_max > 1.5:
        lines.append(
            f"{model_name}: the data '{data_name}' is raw 0..255 pixels (max {sample_max:.3g}) "
            "and the model has no Rescaling or Normalization layer: check that the model "
            "expects that range, or scale the data with '?preprocess=unit'.")
    return lines


def preprocessing_line(preprocessing: dict[str, Any]) -> str | None:
    """"inputs: uint8 pixels -> float32 x * 0.00392157 (preprocessing 'unit')" for data whose
    raw values were changed on the way in; ``None`` when nothing was scaled."""
    pre = preprocessing or {}
    scaled = isinstance(pre.get("scale"), (int, float)) and pre["scale"] != 1.0
    if not scaled and not pre.get("named"):
        return None
    raw = pre.get("raw_dtype") or "the data's"
    return f"inputs: {raw} values -> float32, {_describe(pre)}"
