"""Preprocessing specs: what was done to raw pixels, recorded with the data (numpy only).

A spec is a JSON-able dict stored in :attr:`Dataset.preprocessing`, in results files and in
bundles, so a device repeats exactly what the host did without TensorFlow::

    {"resize": [H, W], "color": "rgb" | "grayscale", "interpolation": "bilinear",
     "named": "mobilenet_v2", "channel_order": "rgb" | "bgr",
     "scale": s, "offset": o, "mean": [...], "std": [...]}

Every key is optional. :func:`resolve` expands ``named`` (the preprocessing of a
``keras.applications`` family) into explicit numbers, so a stored spec never needs the table in
this module. :func:`apply_preprocessing` then does, in this order:

1. ``color``: grayscale -> RGB repeats the channel; RGB -> grayscale uses ITU-R 601-2 luma
   (``L = 0.299 R + 0.587 G + 0.114 B``, bit-exact with Pillow for uint8); an alpha channel is
   dropped.
2. ``resize``: to ``[H, W]`` with Pillow (``interpolation``, default bilinear), only when the
   input size differs.
3. numbers, in float32: ``x = x[..., ::-1]`` when ``channel_order`` is ``bgr``; then
   ``x = x * scale + offset``; then ``x = x - mean``; then ``x = x / std`` (per channel).

Informational keys (``input_shape``, ``layout``, ``dtype``, ``raw_dtype``) are kept but not acted
on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tflbench.errors import ConfigError, DataError

# Keras-application preprocessing families ("mode" in keras.applications.imagenet_utils).
_TF = {"scale": 1.0 / 127.5, "offset": -1.0}
_TORCH = {"scale": 1.0 / 255.0, "offset": 0.0, "mean": [0.485, 0.456, 0.406],
          "std": [0.229, 0.224, 0.225]}
_CAFFE = {"scale": 1.0, "offset": 0.0, "channel_order": "bgr",
          "mean": [103.939, 116.779, 123.68]}
_RAW = {"scale": 1.0, "offset": 0.0}
_UNIT = {"scale": 1.0 / 255.0, "offset": 0.0}

#: Named preprocessing -> explicit numbers. ``raw`` families rescale inside the model.
NAMED: dict[str, dict[str, Any]] = {
    # [-1, 1]: x / 127.5 - 1
    "tf": _TF, "mobilenet": _TF, "mobilenet_v2": _TF, "inception_v3": _TF, "xception": _TF,
    "inception_resnet_v2": _TF, "nasnet": _TF, "resnet_v2": _TF,
    # x / 255, then ImageNet mean/std per RGB channel
    "torch": _TORCH, "densenet": _TORCH,
    # RGB -> BGR, then subtract the ImageNet mean per BGR channel, no scaling
    "caffe": _CAFFE, "resnet50": _CAFFE, "resnet": _CAFFE, "vgg16": _CAFFE, "vgg19": _CAFFE,
    # raw 0..255 floats: the model rescales itself
    "raw": _RAW, "efficientnet": _RAW, "efficientnet_v2": _RAW, "mobilenet_v3": _RAW,
    "convnext": _RAW, "regnet": _RAW,
    # [0, 1]: x / 255
    "unit": _UNIT,
}
#: Named specs that need exactly three (RGB) channels.
_NEEDS_RGB = {"torch", "densenet", "caffe", "resnet50", "resnet", "vgg16", "vgg19"}

_NUMERIC = ("scale", "offset", "mean", "std", "channel_order")
_INFO = ("input_shape", "layout", "dtype", "raw_dtype")
_KEYS = ("resize", "color", "interpolation", "named", *_NUMERIC, *_INFO)
_COLORS = ("rgb", "grayscale")
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")


def resolve(
    spec: str | Mapping[str, Any] | None,
    *,
    default: Mapping[str, Any] | None = None,
    strict: bool = True,
) -> dict[str, Any]:
    """Validate a spec and expand ``named`` into explicit numbers.

    ``spec`` may be ``None`` (use ``default``), a name from :data:`NAMED`, or a dict. With
    ``strict``, unknown keys raise :class:`ConfigError` (so a typo such as ``sacle`` is caught).
    The result always holds ``scale`` and ``offset``; resolving a resolved spec returns it
    unchanged.
    """
    if spec is None:
        spec = dict(default or {})
    elif isinstance(spec, str):
        spec = {"named": spec}
    elif not isinstance(spec, Mapping):
        raise ConfigError(
            "A preprocessing spec must be a name such as 'mobilenet_v2' or a dict. "
            f"Received: {type(spec).__name__}."
        )
    unknown = sorted(set(spec) - set(_KEYS))
    if unknown and strict:
        raise ConfigError(
            f"Unknown preprocessing key(s): {', '.join(unknown)}. "
            f"Expected some of: {', '.join(_KEYS)}."
        )
    out: dict[str, Any] = {k: v for k, v in spec.items() if k in _KEYS}

    named = out.get("named")
    if named is not None:
        key = str(named).lower()
        if key not in NAMED:
            raise ConfigError(
                f"Unknown named preprocessing. Received: named={named!r}. "
                f"Expected one of: {', '.join(sorted(NAMED))}."
            )
        out["named"] = key
        for k, v in NAMED[key].items():
            if k in spec and not _same(spec[k], v):
                raise ConfigError(
                    f"Preprocessing {k!r}={spec[k]!r} contradicts named={key!r}, which uses "
                    f"{k}={v!r}. Drop '{k}' or 'named'."
                )
            out[k] = list(v) if isinstance(v, list) else v

    out["scale"] = _number(out.get("scale", 1.0), "scale")
    out["offset"] = _number(out.get("offset", 0.0), "offset")
    if out["scale"] == 0.0:
        raise ConfigError("Preprocessing scale must not be 0. Received: scale=0.")
    for k in ("mean", "std"):
        if out.get(k) is not None:
            out[k] = _vector(out[k], k)
        else:
            out.pop(k, None)
    if "std" in out and any(s == 0.0 for s in out["std"]):
        raise ConfigError(f"Preprocessing std must not contain 0. Received: std={out['std']}.")
    order = out.get("channel_order", "rgb")
    if order not in ("rgb", "bgr"):
        raise ConfigError(
            f"Preprocessing channel_order must be 'rgb' or 'bgr'. Received: {order!r}."
        )
    if order == "bgr":
        out["channel_order"] = "bgr"
    else:
        out.pop("channel_order", None)
    if out.get("color") is not None:
        color = str(out["color"]).lower()
        if color in ("l", "gray", "grey", "greyscale"):
            color = "grayscale"
        if color not in _COLORS:
            raise ConfigError(
                f"Preprocessing color must be 'rgb' or 'grayscale'. Received: {out['color']!r}."
            )
        out["color"] = color
    else:
        out.pop("color", None)
    if out.get("resize") is not None:
        out["resize"] = list(image_size(out["resize"], "resize"))
    else:
        out.pop("resize", None)
    if out.get("interpolation") is not None:
        interp = str(out["interpolation"]).lower()
        if interp not in _INTERPOLATIONS:
            raise ConfigError(
                f"Preprocessing interpolation must be one of {', '.join(_INTERPOLATIONS)}. "
                f"Received: {out['interpolation']!r}."
            )
        out["interpolation"] = interp
    else:
        out.pop("interpolation", None)
    named = out.get("named")
    if named in _NEEDS_RGB or (named is None and _channels_needed(out) == 3):
        if out.get("color") == "grayscale":
            raise ConfigError(
                f"Preprocessing {named or 'mean/std'} works on 3 (RGB) channels but "
                "color='grayscale' was asked for. Use color='rgb'."
            )
    return out


def image_size(value: Any, what: str = "input_size") -> tuple[int, int]:
    """``224`` or ``[224, 224]`` or ``"224x224"`` -> ``(224, 224)`` (height, width)."""
    if isinstance(value, str):
        parts = value.lower().replace(",", "x").split("x")
        try:
            value = [int(p) for p in parts] * (2 if len(parts) == 1 else 1)
        except ValueError:
            raise ConfigError(
                f"{what} must be a positive integer or HxW such as 224x224. Received: {value!r}."
            ) from None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = [int(value), int(value)]
    try:
        h, w = (int(v) for v in value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(
            f"{what} must be a positive integer or [height, width]. Received: {value!r}."
        ) from None
    if h <= 0 or w <= 0:
        raise ConfigError(f"{what} must be positive. Received: {value!r}.")
    return h, w


def numeric_only(spec: Mapping[str, Any]) -> bool:
    """True when the spec leaves pixels unchanged (scale 1, offset 0, no mean/std/BGR)."""
    s = resolve(spec, strict=False)
    return (s["scale"] == 1.0 and s["offset"] == 0.0 and "mean" not in s and "std" not in s
            and "channel_order" not in s)


def apply_preprocessing(raw: np.ndarray, spec: Mapping[str, Any] | str | None) -> np.ndarray:
    """Apply a spec to a batch ``(N, H, W)`` or ``(N, H, W, C)`` of uint8 or float pixels.

    Returns float32 NHWC. Uses only numpy (and Pillow when a resize is needed).
    """
    s = resolve(spec, strict=False)
    x = np.asarray(raw)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DataError(f"Pixels must be numeric. Received: dtype {x.dtype}.")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DataError(
            "Pixels must be a batch shaped (N, H, W) or (N, H, W, C). "
            f"Received: shape {tuple(x.shape)}."
        )
    x = convert_color(x, s.get("color"))
    if "resize" in s and tuple(x.shape[1:3]) != tuple(s["resize"]):
        x = resize_batch(x, tuple(s["resize"]), s.get("interpolation", "bilinear"))
    return _numeric(x, s)


def _numeric(x: np.ndarray, s: Mapping[str, Any]) -> np.ndarray:
    out = np.array(x, dtype=np.float32, copy=True)
    channels = out.shape[-1]
    if s.get("channel_order") == "bgr":
        if channels != 3:
            raise DataError(
                f"BGR channel order (named={s.get('named')!r}) needs 3 channels. "
                f"Received: {channels}. Use color='rgb'."
            )
        out = np.ascontiguousarray(out[..., ::-1])
    if s["scale"] != 1.0:
        out *= np.float32(s["scale"])
    if s["offset"] != 0.0:
        out += np.float32(s["offset"])
    for key in ("mean", "std"):
        if key in s:
            vec = np.asarray(s[key], dtype=np.float32)
            if vec.size not in (1, channels):
                raise DataError(
                    f"Preprocessing {key} has {vec.size} values but the images have "
                    f"{channels} channel(s). Give one value or one per channel."
                )
            if key == "mean":
                out -= vec
            else:
                out /= vec
    return out


def convert_color(x: np.ndarray, color: str | None) -> np.ndarray:
    """Convert an NHWC batch to ``rgb`` (3 channels) or ``grayscale`` (1 channel)."""
    if color is None:
        return x
    c = x.shape[-1]
    if c in (2, 4):  # drop alpha
        x = x[..., : c - 1]
        c -= 1
    if color == "rgb":
        if c == 1:
            return np.repeat(x, 3, axis=-1)
        if c == 3:
            return x
    elif color == "grayscale":
        if c == 1:
            return x
        if c == 3:
            if x.dtype == np.uint8:
                # Pillow's fixed-point ITU-R 601-2 luma, bit-exact with Image.convert("L").
                acc = (x[..., 0].astype(np.uint32) * 19595 + x[..., 1].astype(np.uint32) * 38470
                       + x[..., 2].astype(np.uint32) * 7471 + 0x8000) >> 16
                return acc.astype(np.uint8)[..., None]
            xf = x.astype(np.float32)
            return (0.299 * xf[..., 0] + 0.587 * xf[..., 1] + 0.114 * xf[..., 2])[..., None]
    raise DataError(
        f"Cannot convert images with {x.shape[-1]} channel(s) to {color!r}. "
        "Expected 1 (grayscale), 3 (RGB) or 4 (RGBA) channels."
    )


def resize_batch(x: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear"
                 ) -> np.ndarray:
    """Resize an NHWC batch to ``size`` (height, width) with Pillow, keeping the dtype."""
    image_mod = pillow()
    resample = _resample(image_mod, interpolation)
    h, w = size
    n, _, _, c = x.shape
    out = np.empty((n, h, w, c), dtype=x.dtype if x.dtype == np.uint8 else np.float32)
    for i in range(n):
        if x.dtype == np.uint8 and c in (1, 3):
            img = image_mod.fromarray(np.ascontiguousarray(x[i, ..., 0] if c == 1 else x[i]))
            res = np.asarray(img.resize((w, h), resample))
            out[i] = res[..., None] if c == 1 else res
        else:
            for ch in range(c):
                img = image_mod.fromarray(np.ascontiguousarray(x[i, ..., ch], dtype=np.float32))
                out[i, ..., ch] = np.asarray(img.resize((w, h), resample))
    return out


def pillow() -> Any:
    """Import ``PIL.Image`` lazily with a clear error when Pillow is missing."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow is a declared dependency
        raise DataError(
            "Decoding or resizing images needs Pillow, which is not installed. "
            "Install it with: pip install pillow."
        ) from exc
    return Image


def _resample(image_mod: Any, interpolation: str) -> Any:
    return getattr(image_mod.Resampling, interpolation.upper())


def _channels_needed(s: Mapping[str, Any]) -> int | None:
    for key in ("mean", "std"):
        if key in s and len(s[key]) == 3:
            return 3
    return None


def _number(v: Any, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"Preprocessing {name} must be a number. Received: {v!r}.") from None
    if not math.isfinite(f):
        raise ConfigError(f"Preprocessing {name} must be finite. Received: {v!r}.")
    return f


def _vector(v: Any, name: str) -> list[float]:
    if isinstance(v, (int, float)):
        v = [v]
    if not isinstance(v, Sequence) and not isinstance(v, np.ndarray):
        raise ConfigError(
            f"Preprocessing {name} must be a number or a list of numbers. Received: {v!r}."
        )
    return [_number(e, name) for e in v]


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, list):
        try:
            if len(a) != len(b):
                return False
            return all(math.isclose(float(p), q) for p, q in zip(a, b, strict=True))
        except TypeError:
            return False
    if isinstance(b, str):
        return a == b
    try:
        return math.isclose(float(a), float(b))
    except (TypeError, ValueError):
        return False


_NUMBER_KEYS = ("named", "scale", "offset", "mean", "std", "channel_order")


def with_defaults(
    spec: str | Mapping[str, Any] | None,
    *,
    input_size: Any = None,
    color: str | None = None,
    default_named: str = "unit",
) -> dict[str, Any]:
    """Resolve a user's spec for one source, filling what the user left out.

    With no numbers at all (no ``named``/``scale``/``offset``/``mean``/``std``), ``default_named``
    applies: ``unit`` (x / 255) for 8-bit images, ``raw`` for float arrays. ``input_size`` sets
    ``resize`` and ``color`` sets the colour unless the spec already says otherwise.
    """
    if spec is None:
        raw: dict[str, Any] = {}
    elif isinstance(spec, str):
        raw = {"named": spec}
    elif isinstance(spec, Mapping):
        raw = dict(spec)
    else:
        return resolve(spec)  # raises the type error
    if not any(k in raw for k in _NUMBER_KEYS):
        raw["named"] = default_named
    if input_size is not None:
        size = list(image_size(input_size))
        if raw.get("resize") is not None and list(image_size(raw["resize"], "resize")) != size:
            raise ConfigError(
                f"input_size={size} contradicts preprocessing resize={raw['resize']}. "
                "Give only one of them."
            )
        raw["resize"] = size
    if color is not None and raw.get("color") is None:
        raw["color"] = color
    return resolve(raw)
