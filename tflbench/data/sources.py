"""One entry point for every data source: :func:`load_dataset`.

Spec grammar (a string; the same options fit a dict, see below)::

    spec    := "digits"                          embedded 8x8 digits (the offline default)
             | "npz:" PATH [ "?" options ]        or a PATH ending in ".npz"
             | "folder:" PATH [ "?" options ]     or an existing directory
             | "tfds:" NAME [ "?" options ]       TensorFlow Datasets
             | "keras:" NAME [ "?" options ]      mnist, fashion_mnist, cifar10
    options := KEY "=" VALUE ( "&" KEY "=" VALUE )*

    KEY          VALUE                            applies to
    split        TFDS split strings, comma-separated: train[:80%],train[80%:90%],train[90%:]
                                                  tfds
    data_dir     folder holding prepared TFDS data tfds
    download     true | false (default true)      tfds
    fractions    0.8/0.1/0.1 (train/val/test) or 0.9/0.1 (train/test, val = 10% of train)
                                                  digits, folder, npz with x/y, tfds with 1 split
    size         224 or 224x160 (height x width)  all (resize)
    color        rgb | grayscale                  all (folder default: rgb)
    preprocess   a named preprocessing, e.g. mobilenet_v2, densenet, resnet50, unit, raw
                                                  folder, npz, tfds, keras
    seed         integer (default 1234)           all

Examples: ``folder:/data/flowers?size=224&preprocess=mobilenet_v2&fractions=0.9/0.1``,
``tfds:fashion_mnist?split=train,test&data_dir=/data/tfds``, ``keras:cifar10``.

Dict form: ``{"kind": "tfds", "name": "fashion_mnist", "splits": ["train", "test"],
"data_dir": "/data/tfds"}`` -- keys ``kind``, ``name`` (tfds/keras) or ``path``
(folder/npz), ``splits``, ``data_dir``, ``download``, ``fractions``, ``size`` (or
``input_size``), ``color``, ``preprocessing``, ``seed``.

Keyword arguments of :func:`load_dataset` fill what the spec leaves out; giving the same
option both ways with different values is a :class:`ConfigError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.data import preprocess as pp
from tflbench.data.base import (
    EVAL_ALL,
    Dataset,
    Split,
    check_lazy,
    check_splits_not_empty,
    resolve_fractions,
)
from tflbench.data.base import stratified_split as _stratified_split
from tflbench.errors import ConfigError

SEED = 1234
KINDS = ("digits", "npz", "folder", "tfds", "keras")
OPTION_KEYS = ("split", "data_dir", "download", "fractions", "size", "color", "preprocess",
               "seed")
_DICT_KEYS = ("kind", "name", "path", "splits", "split", "data_dir", "download", "fractions",
              "size", "input_size", "color", "preprocessing", "preprocess", "seed")
_APPLIES: dict[str, set[str]] = {
    "digits": {"fractions", "size", "seed"},
    "npz": {"fractions", "size", "color", "preprocess", "seed"},
    "folder": {"fractions", "size", "color", "preprocess", "seed"},
    "tfds": {"split", "data_dir", "download", "fractions", "size", "color", "preprocess",
             "seed"},
    "keras": {"size", "color", "preprocess", "seed"},
}


@dataclass(frozen=True)
class DataSpec:
    """A parsed data spec: the source kind, its target (path or name) and its options."""

    kind: str
    target: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def to_string(self) -> str:
        head = self.kind if self.kind == "digits" else f"{self.kind}:{self.target}"
        if not self.options:
            return head
        opts = []
        for k, v in self.options.items():
            if isinstance(v, (list, tuple)):
                v = {"split": ",", "size": "x"}.get(k, "/").join(str(e) for e in v)
            elif isinstance(v, bool):
                v = str(v).lower()
            opts.append(f"{k}={v}")
        return f"{head}?{'&'.join(opts)}"


def parse_spec(spec: str | os.PathLike[str] | Mapping[str, Any] | DataSpec) -> DataSpec:
    """Parse a string or dict spec (see the module docstring) without loading anything."""
    if isinstance(spec, DataSpec):
        return spec
    if isinstance(spec, Mapping):
        return _parse_dict(spec)
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(
            "A data spec must be a non-empty string or a dict. Received: "
            f"{spec!r}. Examples: 'digits', 'folder:/data/flowers', 'tfds:fashion_mnist'."
        )
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    kind = kind.lower()
    if kind == "digits" and not sep:
        return DataSpec("digits")
    if kind == "digits" and sep and rest.startswith("?"):
        return _checked(DataSpec("digits", "", _parse_options(rest[1:], text)), text)
    if sep and kind in KINDS and kind != "digits":
        target, options = _split_options(rest, text, is_path=kind in ("npz", "folder"))
        if not target:
            raise ConfigError(
                f"Data spec {text!r} names no {'path' if kind in ('npz', 'folder') else 'dataset'}"
                f". Example: '{kind}:{_EXAMPLE[kind]}'."
            )
        return _checked(DataSpec(kind, target, options), text)
    if text.lower().startswith("digits?"):
        return _checked(DataSpec("digits", "", _parse_options(text[7:], text)), text)
    # A bare path: an existing directory is a folder, a .npz file is npz.
    target, options = _split_options(text, text)
    path = Path(target)
    try:
        path = path.expanduser()
        is_dir = path.is_dir()
    except (OSError, RuntimeError):  # a name too long, an unknown ~user: not a folder
        is_dir = False
    if is_dir:
        return _checked(DataSpec("folder", target, options), text)
    if path.suffix.lower() == ".npz":
        return _checked(DataSpec("npz", target, options), text)
    raise ConfigError(
        f"Unknown data spec. Received: {text!r}. Expected 'digits', 'npz:PATH', "
        "'folder:PATH', 'tfds:NAME', 'keras:NAME', an existing directory or a .npz path."
    )


_EXAMPLE = {"npz": "/data/set.npz", "folder": "/data/flowers", "tfds": "fashion_mnist",
            "keras": "cifar10"}


def _split_options(rest: str, text: str, is_path: bool = True) -> tuple[str, dict[str, Any]]:
    """Split ``TARGET?OPTIONS``. A path keeps a '?' whose tail does not look like options."""
    head, q, tail = rest.rpartition("?")
    if not q:
        return rest, {}
    if is_path and ("=" not in tail or "/" in tail.split("=", 1)[0] or os.sep in tail.split(
            "=", 1)[0]):
        return rest, {}
    return head, _parse_options(tail, text)


def _parse_options(query: str, text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        if not eq or key not in OPTION_KEYS:
            raise ConfigError(
                f"Unknown option {part!r} in data spec {text!r}. Expected KEY=VALUE with KEY "
                f"one of: {', '.join(OPTION_KEYS)}."
            )
        out[key] = _option_value(key, value.strip(), text)
    return out


def _option_value(key: str, value: Any, text: str) -> Any:
    if key == "split":
        if isinstance(value, str):
            return [s.strip() for s in value.split(",") if s.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"split must be a string or a list of split names in {text!r}. "
                              f"Received: {value!r}.")
        return [str(s) for s in value]
    if key == "download":
        if isinstance(value, bool):
            return value
        v = str(value).lower()
        if v in ("1", "true", "yes", "on"):
            return True
        if v in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"download must be true or false in {text!r}. Received: {value!r}.")
    if key == "fractions":
        return _fractions_value(value)
    if key == "size":
        return list(pp.image_size(value, "size"))
    if key == "seed":
        try:
            return int(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"seed must be an integer in {text!r}. Received: {value!r}.") \
                from None
    if key == "color":
        return str(value).lower()
    return value


def _fractions_value(value: Any) -> list[float] | str:
    if isinstance(value, str) and value.strip().lower() == EVAL_ALL:
        return EVAL_ALL
    if isinstance(value, str):
        parts = [p for p in value.replace(",", "/").split("/") if p.strip()]
    try:
        if not isinstance(value, str):
            parts = list(value)
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(
            f"Split fractions must be numbers such as 0.8/0.1/0.1. Received: {value!r}."
        ) from None
    resolve_fractions(numbers)  # validates
    return numbers


def _parse_dict(spec: Mapping[str, Any]) -> DataSpec:
    unknown = sorted(set(spec) - set(_DICT_KEYS))
    if unknown:
        raise ConfigError(
            f"Unknown key(s) in data spec dict: {', '.join(unknown)}. Expected some of: "
            f"{', '.join(_DICT_KEYS)}."
        )
    for key, value in spec.items():
        if _nested_deeper_than(value, _MAX_DEPTH):
            raise ConfigError(f"Data spec dict key {key!r} holds values nested more than "
                              f"{_MAX_DEPTH} levels deep; expected a name, a number or a short "
                              "list.")
    kind = str(spec.get("kind", "")).lower()
    if kind not in KINDS:
        raise ConfigError(
            f"A data spec dict needs 'kind', one of {', '.join(KINDS)}. Received: "
            f"kind={spec.get('kind')!r}."
        )
    target = spec.get("path") if kind in ("npz", "folder") else spec.get("name")
    need = "path" if kind in ("npz", "folder") else "name"
    if kind != "digits" and not target:
        raise ConfigError(f"A '{kind}' data spec dict needs '{need}'. Received: {dict(spec)!r}.")
    if target and not isinstance(target, (str, os.PathLike)):
        raise ConfigError(f"A data spec dict's '{need}' must be a string. Received: "
                          f"{need}={target!r}.")
    options: dict[str, Any] = {}
    text = f"{dict(spec)!r}"
    for key, opt in (("splits", "split"), ("split", "split"), ("data_dir", "data_dir"),
                     ("download", "download"), ("fractions", "fractions"), ("size", "size"),
                     ("input_size", "size"), ("color", "color"), ("seed", "seed")):
        if spec.get(key) is not None:
            options[opt] = _option_value(opt, spec[key], text)
    prep = spec.get("preprocessing", spec.get("preprocess"))
    if prep is not None:
        options["preprocess"] = prep
    return _checked(DataSpec(kind, os.fspath(target) if target else "", options), text)


#: Deepest nesting a data spec dict value may have (a preprocessing dict of lists is 2).
_MAX_DEPTH = 8


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """True when ``value`` has lists, tuples or dicts nested more than ``limit`` levels deep
    (checked without recursion, so any depth is safe)."""
    level = [value]
    for _ in range(limit + 1):
        level = [v for x in level if isinstance(x, (list, tuple, Mapping))
                 for v in (x.values() if isinstance(x, Mapping) else x)]
        if not level:
            return False
    return True


def _checked(ds: DataSpec, text: str) -> DataSpec:
    extra = sorted(set(ds.options) - _APPLIES[ds.kind])
    if extra:
        raise ConfigError(
            f"Option(s) {', '.join(extra)} do not apply to '{ds.kind}' data (in {text}). "
            f"Options for {ds.kind}: {', '.join(sorted(_APPLIES[ds.kind]))}."
        )
    if "color" in ds.options and ds.options["color"] not in ("rgb", "grayscale"):
        raise ConfigError(
            f"color must be 'rgb' or 'grayscale' in {text}. Received: {ds.options['color']!r}."
        )
    return ds


def _merge(options: dict[str, Any], key: str, value: Any, what: str) -> None:
    if value is None:
        return
    if key in options and options[key] != value:
        raise ConfigError(
            f"{what}={value!r} contradicts the data spec's {key}={options[key]!r}. Give it once."
        )
    options[key] = value


@dataclass(frozen=True)
class Request:
    """A data spec merged with keyword arguments: what a loader needs."""

    spec: DataSpec
    seed: int
    fractions: list[float] | None
    size: list[int] | None
    preprocessing: Any


def resolve_request(
    spec: str | os.PathLike[str] | Mapping[str, Any] | DataSpec,
    *,
    seed: int | None = None,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    input_size: Any = None,
) -> Request:
    """Parse ``spec`` and merge the keyword arguments into it (conflicts are ConfigErrors)."""
    ds = parse_spec(spec)
    opts = dict(ds.options)
    _merge(opts, "seed", None if seed is None else int(seed), "seed")
    _merge(opts, "fractions", None if fractions is None else _fractions_value(fractions),
           "fractions")
    _merge(opts, "data_dir", None if data_dir is None else os.fspath(data_dir), "data_dir")
    _merge(opts, "size", None if input_size is None else list(pp.image_size(input_size)),
           "input_size")
    prep = _preprocessing(opts.pop("preprocess", None), preprocessing, opts.pop("color", None))
    if ds.kind == "digits" and prep is not None:
        raise ConfigError(
            "The embedded digits are already scaled to [0, 1] as 8x8 grayscale, so a "
            f"preprocessing spec does not apply. Received: {prep!r}. Use a recipe's prepare() "
            "or another source."
        )
    merged = _checked(DataSpec(ds.kind, ds.target, opts), ds.to_string())
    return Request(merged, int(opts.get("seed", SEED)), opts.get("fractions"), opts.get("size"),
                   prep)


def load_dataset(
    spec: str | os.PathLike[str] | Mapping[str, Any] | DataSpec = "digits",
    *,
    seed: int | None = None,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    input_size: Any = None,
    lazy: bool | str = False,
) -> Dataset:
    """Load any supported source into a :class:`Dataset` (grammar in the module docstring).

    ``seed`` (default 1234) drives every split made here; ``fractions`` apply to sources without
    their own splits; ``preprocessing`` is a name or dict (see :mod:`tflbench.data.preprocess`);
    ``data_dir`` is the TFDS data folder; ``input_size`` (``224`` or ``(H, W)``) resizes.

    ``lazy=True`` makes ``folder:`` and ``npz:`` splits read their inputs only when indexed
    (each ``x`` is a :class:`~tflbench.data.base.LazyArray`; same samples, same fingerprint);
    ``lazy="auto"`` does so when the float32 inputs would exceed
    :data:`~tflbench.data.base.LAZY_AUTO_BYTES` (64 MiB). Other sources are always in memory.
    """
    choice = check_lazy(lazy)
    req = resolve_request(spec, seed=seed, fractions=fractions, preprocessing=preprocessing,
                          data_dir=data_dir, input_size=input_size)
    ds, s, fr, size, prep = req.spec, req.seed, req.fractions, req.size, req.preprocessing
    opts = ds.options

    if ds.kind == "digits":
        return _digits(s, fr, size)
    if ds.kind == "npz":
        from tflbench.data import npz

        return npz.load(ds.target, seed=s, fractions=fr, preprocessing=prep, input_size=size,
                        lazy=choice)
    if ds.kind == "folder":
        from tflbench.data import folder

        return folder.load(ds.target, seed=s, fractions=fr, preprocessing=prep, input_size=size,
                           lazy=choice)
    if ds.kind == "tfds":
        from tflbench.data import tfds

        return tfds.load(ds.target, splits=opts.get("split"), data_dir=opts.get("data_dir"),
                         download=bool(opts.get("download", True)), seed=s, fractions=fr,
                         preprocessing=prep, input_size=size)
    from tflbench.data import keras_datasets

    return keras_datasets.load(ds.target, seed=s, preprocessing=prep, input_size=size)


def _preprocessing(named: Any, given: Any, color: str | None) -> Any:
    if named is not None and given is not None and (
        pp.resolve(named, strict=False) != pp.resolve(given, strict=False)
    ):
        raise ConfigError(
            f"preprocessing={given!r} contradicts the data spec's preprocess={named!r}. "
            "Give it once."
        )
    spec = given if given is not None else named
    if color is None:
        return spec
    if spec is None:
        return {"color": color}
    if not isinstance(spec, (str, Mapping)):
        raise ConfigError("A preprocessing spec must be a name such as 'mobilenet_v2' or a dict. "
                          f"Received: {type(spec).__name__}.")
    base = {"named": spec} if isinstance(spec, str) else dict(spec)
    if base.get("color") not in (None, color):
        raise ConfigError(
            f"color={color!r} contradicts preprocessing color={base['color']!r}. Give it once."
        )
    base["color"] = color
    return base


def _digits(seed: int, fractions: Sequence[float] | None, size: Sequence[int] | None) -> Dataset:
    from tflbench.data import digits

    ds = digits.load(seed)
    if fractions is None and size is None:
        return ds
    parts = [ds.train, ds.val, ds.test]
    spec = dict(ds.preprocessing)
    notes = list(ds.notes)
    if fractions is not None:
        x = np.concatenate([p.x for p in parts])
        y = np.concatenate([p.y for p in parts])
        fr = resolve_fractions(fractions)
        idx = _stratified_split(y, fr, seed)
        check_splits_not_empty([len(i) for i in idx], "digits", fr)
        parts = [Split(x[i], y[i]) for i in idx]
        notes.append(f"split with fractions {[round(f, 6) for f in fr]} and seed {seed}")
    if size is not None:
        hw = pp.image_size(size)
        parts = [Split(pp.resize_batch(np.asarray(p.x), hw), p.y) for p in parts]
        spec["resize"] = list(hw)
        spec["input_shape"] = [hw[0], hw[1], 1]
    return Dataset(
        name=ds.name,
        class_names=ds.class_names,
        train=parts[0],
        val=parts[1],
        test=parts[2],
        preprocessing=spec,
        source=ds.source,
        notes=tuple(notes),
    )
