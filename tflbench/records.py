"""The typed results record: one home for what a run, a device measurement, a merge and a
baseline comparison write and read.

A results document is a :class:`ResultsDocument` of :class:`ModelRecord`\\ s, each holding a
:class:`ModeRecord` per optimization mode. Every record is a frozen dataclass with
``from_dict`` (strict: a wrong type fails with the JSON path named, e.g.
``models[0].modes[2].agreement.top1``) and ``to_dict`` (plain JSON). Keys a record does not
know are kept in ``extra`` and written back unchanged, so a document from a newer tflbench of
the same schema version, or one a user annotated, round-trips.

The JSON Schema shipped in ``tflbench/schemas/results.schema.json`` is generated from these
classes (:func:`json_schema`); ``tflbench schema results`` prints it. This module never imports
TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from tflbench.errors import ResultsError

SCHEMA = "tflbench.results"
#: Version 2 adds intervals and significance (accuracy.ci95, delta_ci95, mcnemar_p,
#: agreement.top1_ci95), output_kind, dataset.calibration and n_eval. Version 1 documents
#: read as version 2 with those fields null.
SCHEMA_VERSION = 2

R = TypeVar("R", bound="Record")


class Record:
    """Base of every record: strict ``from_dict`` and ``to_dict`` from the type hints."""

    extra: dict[str, Any]

    @classmethod
    def from_dict(cls: type[R], data: Any, path: str = "") -> R:
        return _convert(cls, data, path or cls.__name__)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_none"):
                continue
            out[f.name] = _plain(value)
        out.update(self.extra)
        return out

    def replace(self: R, **changes: Any) -> R:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _omit() -> Any:
    """A field that is left out of ``to_dict`` when it is None (device-only sections)."""
    return field(default=None, metadata={"omit_none": True})


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ----------------------------------------------------------------------------- mode record parts


@dataclass(frozen=True)
class Conversion(Record):
    path: str | None = None
    seconds: float | None = None
    warnings: list[str] = field(default_factory=list)
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileInfo(Record):
    path: str | None = None
    size_bytes: int = 0
    sha256: str | None = None
    size_ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IoInfo(Record):
    input_dtype: str | None = None
    input_scale: float | None = None
    input_zero_point: int | None = None
    input_shape: list[int] | None = None
    output_dtype: str | None = None
    output_scale: float | None = None
    output_zero_point: int | None = None
    output_shape: list[int] | None = _omit()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgreementRecord(Record):
    """Candidate vs Keras outputs on the same rows (:func:`tflbench.metrics.agreement`)."""

    top1: float
    #: Rows compared (0: not recorded).
    n: int = 0
    top_k: float | None = None
    k: int | None = None
    max_abs_diff: float | None = None
    mean_abs_diff: float | None = None
    sqnr_db: float | None = None
    cosine: float | None = None
    kl_divergence: float | None = None
    flipped: list[int] = field(default_factory=list)
    #: Wilson 95% interval of top1 (schema 2).
    top1_ci95: list[float] | None = _omit()
    #: "probabilities" or "logits": how the outputs were compared (schema 2).
    output_kind: str | None = _omit()
    #: SQNR of the raw outputs (logits) when the probability metrics used softmax (schema 2).
    logit_sqnr_db: float | None = _omit()
    #: Samples whose top-1 is tied between two classes in the candidate's outputs (schema 2).
    ties: int | None = _omit()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorstClass(Record):
    index: int
    name: str
    delta: float | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClassChange(Record):
    """The paired accuracy change of one class (schema 2)."""

    index: int
    name: str
    n: int
    delta: float | None = None
    delta_ci95: list[float] | None = _omit()
    mcnemar_p: float | None = _omit()
    holm_p: float | None = None
    significant: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccuracyRecord(Record):
    """Candidate accuracy, per class, and the change against Keras on the same rows."""

    accuracy: float
    accuracy_delta: float | None = None
    per_class_accuracy: list[float | None] = field(default_factory=list)
    per_class_delta: list[float | None] = field(default_factory=list)
    support: list[int] = field(default_factory=list)
    worst_class: WorstClass | None = None
    confusion: list[list[int]] = field(default_factory=list)
    #: Wilson 95% interval of accuracy (schema 2).
    ci95: list[float] | None = _omit()
    #: Newcombe 95% interval of the paired change against Keras (schema 2).
    delta_ci95: list[float] | None = _omit()
    #: Exact McNemar p of the paired change (schema 2).
    mcnemar_p: float | None = _omit()
    #: Discordant counts: Keras right and candidate wrong, and the reverse (schema 2).
    lost: int | None = _omit()
    gained: int | None = _omit()
    per_class_change: list[ClassChange] | None = _omit()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LatencyRecord(Record):
    """:class:`tflbench.timing.LatencyStats` plus how it was measured."""

    unit: str = "us"
    n: int = 0
    warmup: int = 0
    min: float | None = None
    max: float | None = None
    median: float | None = None
    p90: float | None = None
    p99: float | None = None
    mean: float | None = None
    stdev: float | None = None
    iqr: float | None = None
    threads: int | None = None
    xnnpack: bool | None = None
    init_us: float | None = None
    first_invoke_us: float | None = None
    measures: str | None = _omit()
    samples: list[float] | None = _omit()
    warnings: list[str] = field(default_factory=list)
    #: Set when measured under emulation: never shown as a latency figure or gated.
    emulated: bool | None = _omit()
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_stats(cls, stats: Any, *, threads: int | None, xnnpack: bool,
                   init_us: float | None, first_invoke_us: float | None, samples: bool,
                   what: str) -> LatencyRecord:
        """The record of :class:`tflbench.timing.LatencyStats` and how they were measured."""
        d = stats.to_dict(include_samples=samples)
        d.update(threads=threads, xnnpack=xnnpack, init_us=init_us,
                 first_invoke_us=first_invoke_us, measures=what)
        return cls.from_dict(d, "latency")


@dataclass(frozen=True)
class OpRecord(Record):
    """One operator code of the mode's ``.tflite``: the op, the version the converter wrote and
    how many operators use it (``tflbench.compat.flatbuffer.OpUsage``)."""

    name: str
    version: int
    count: int = 1
    #: The ``BuiltinOperator`` value; null for a custom op (``name`` is its custom code).
    builtin_code: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModeRecord(Record):
    """Everything measured for one model under one optimization mode on one device."""

    mode: str
    status: Literal["ok", "failed"] = "ok"
    error: str | None = None
    stage: str | None = None
    conversion: Conversion | None = None
    file: FileInfo | None = None
    io: IoInfo | None = None
    agreement: AgreementRecord | None = None
    accuracy: AccuracyRecord | None = None
    latency: LatencyRecord | None = None
    latency_e2e: LatencyRecord | None = _omit()
    latency_sweep: list[dict[str, Any]] | None = _omit()
    memory: dict[str, Any] | None = _omit()
    #: The device a merged document's record comes from.
    device: str | None = _omit()
    #: The ops and op versions of the ``.tflite`` (read by the verdict step), so the
    #: ``require_compatible`` gate works without the file.
    ops: list[OpRecord] | None = _omit()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def failed(self, stage: str, error: str) -> ModeRecord:
        """This record marked failed at ``stage``; what was measured before is kept."""
        return self.replace(status="failed", stage=stage, error=error)


@dataclass(frozen=True)
class Calibration(Record):
    """Where the full-integer modes' calibration samples came from (schema 2)."""

    source: str
    n: int
    disjoint: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetInfo(Record):
    name: str | None = None
    source: str | None = None
    class_names: list[str] = field(default_factory=list)
    input_shape: list[int] | None = None
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    #: Rows evaluated (the whole evaluation set unless capped).
    n_eval: int | None = _omit()
    preprocessing: dict[str, Any] | None = None
    fingerprint: str | None = None
    notes: list[str] | None = _omit()
    calibration: Calibration | None = _omit()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KerasRecord(Record):
    """The float Keras reference on the evaluated rows."""

    accuracy: float
    per_class_accuracy: list[float | None] = field(default_factory=list)
    support: list[int] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)
    ci95: list[float] | None = _omit()
    output_kind: str | None = _omit()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelRecord(Record):
    name: str
    source: str | None = None
    model_sha256: str | None = None
    dataset: DatasetInfo | None = None
    keras: KerasRecord | None = None
    modes: list[ModeRecord] = field(default_factory=list)
    error: str | None = _omit()
    stage: str | None = _omit()
    extra: dict[str, Any] = field(default_factory=dict)

    def mode(self, name: str, device: str | None = None) -> ModeRecord | None:
        for r in self.modes:
            if r.mode == name and (device is None or r.device in (None, device)):
                return r
        return None


@dataclass(frozen=True)
class ResultsDocument(Record):
    schema: str
    schema_version: int
    created: str | None = None
    tflbench_version: str | None = None
    device: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    models: list[ModelRecord] = field(default_factory=list)
    recommendation: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None
    gates: list[dict[str, Any]] | None = _omit()
    merged: dict[str, Any] | None = _omit()
    #: True when the run stopped early (a signal): the finished modes are kept.
    interrupted: bool | None = _omit()
    #: Lines every report shows: evaluation sets too small to resolve a threshold, seeds that
    #: change a verdict, calibration overlapping the evaluation set (schema 2).
    warnings: list[str] | None = _omit()
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> ResultsDocument:
        where = path or "<results>"
        if not isinstance(data, dict):
            raise ResultsError(f"{where}: expected a JSON object. Received: "
                               f"{type(data).__name__}.")
        if data.get("schema") != SCHEMA:
            raise ResultsError(f"{where}: not a tflbench results file "
                               f"(schema={data.get('schema')!r}, expected {SCHEMA!r}).")
        ver = data.get("schema_version")
        if isinstance(ver, bool) or not isinstance(ver, int):
            raise ResultsError(f"{where}: schema_version must be an integer. "
                               f"Received: {ver!r}.")
        if ver > SCHEMA_VERSION:
            raise ResultsError(
                f"{where}: written by a newer tflbench (schema_version={ver}, this tflbench "
                f"reads up to {SCHEMA_VERSION}). Upgrade tflbench: pip install -U tflbench.")
        return _convert(cls, data, where)  # type: ignore[no-any-return]

    def model(self, name: str) -> ModelRecord | None:
        return next((m for m in self.models if m.name == name), None)

    def iter_modes(self) -> typing.Iterator[tuple[ModelRecord, ModeRecord]]:
        for m in self.models:
            for r in m.modes:
                yield m, r


# ------------------------------------------------------------------------------ strict reading


def _type_name(tp: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "an object", type(None): "null"}
    if tp in names:
        return names[tp]
    origin = get_origin(tp)
    if origin in (list, tuple):
        return "a list"
    if origin is dict or (isinstance(tp, type) and issubclass(tp, Record)):
        return "an object"
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    return str(tp)


def _received(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(path: str, tp: Any, value: Any) -> ResultsError:
    return ResultsError(f"{path}: expected {_type_name(tp)}. Received: {_received(value)}. "
                        "Re-create the file with 'tflbench run' or 'tflbench measure'.")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _convert(tp: Any, value: Any, path: str) -> Any:
    if tp is Any:
        return value
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise _fail(path, tp, value)
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, path)
            except ResultsError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise _fail(path, tp, value)
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise _fail(path, tp, value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _fail(path, tp, value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _fail(path, tp, value)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an integer beyond the float range
                raise _fail(path, tp, value) from None
        raise _fail(path, tp, value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _fail(path, tp, value)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _fail(path, tp, value)
        (item,) = get_args(tp)[:1] or (Any,)
        return [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise _fail(path, tp, value)
        args = get_args(tp)
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _convert(vt, v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Record):
        if not isinstance(value, dict):
            raise _fail(path, tp, value)
        hints = _hints(tp)
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        required = {f.name for f in dataclasses.fields(tp)  # type: ignore[arg-type]
                    if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING}
        for key, v in value.items():
            if key in hints and key != "extra":
                kwargs[key] = _convert(hints[key], v, f"{path}.{key}")
            else:
                extra[key] = v
        missing = sorted(required - set(kwargs))
        if missing:
            raise ResultsError(f"{path}: missing {', '.join(repr(m) for m in missing)}. "
                               "Re-create the file with 'tflbench run' or 'tflbench measure'.")
        return tp(**kwargs, extra=extra)  # type: ignore[call-arg]
    raise TypeError(f"records: unsupported type {tp!r} at {path}")  # pragma: no cover


# ----------------------------------------------------------------------------------- the schema


def _schema_of(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if tp is Any:
        return {}
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return {"anyOf": [_schema_of(a, defs) for a in get_args(tp)]}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string",
              type(None): "null"}
    if tp in simple:
        return {"type": simple[tp]}
    if origin in (list, tuple):
        (item,) = get_args(tp)[:1] or (Any,)
        return {"type": "array", "items": _schema_of(item, defs)}
    if origin is dict or tp is dict:
        args = get_args(tp)
        out: dict[str, Any] = {"type": "object"}
        if len(args) == 2 and args[1] is not Any:
            out["additionalProperties"] = _schema_of(args[1], defs)
        return out
    if isinstance(tp, type) and issubclass(tp, Record):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            hints = _hints(tp)
            props: dict[str, Any] = {}
            required: list[str] = []
            for f in dataclasses.fields(tp):  # type: ignore[arg-type]
                if f.name == "extra":
                    continue
                props[f.name] = _schema_of(hints[f.name], defs)
                if f.default is dataclasses.MISSING and \
                        f.default_factory is dataclasses.MISSING:
                    required.append(f.name)
            entry: dict[str, Any] = {"type": "object", "properties": props}
            if tp.__doc__ and not tp.__doc__.startswith(name + "("):
                entry["description"] = " ".join(tp.__doc__.split())
            if required:
                entry["required"] = required
            defs[name] = entry
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"records: no schema for {tp!r}")  # pragma: no cover


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a results document, generated from the records."""
    defs: dict[str, Any] = {}
    root = _schema_of(ResultsDocument, defs)
    doc = defs.pop("ResultsDocument")
    doc["properties"]["schema"] = {"const": SCHEMA}
    doc["properties"]["schema_version"] = {"type": "integer", "minimum": 1,
                                           "maximum": SCHEMA_VERSION}
    del root
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://tflbench.dev/schemas/results-{SCHEMA_VERSION}.json",
        "title": "tflbench results document",
        "description": "Written by 'tflbench run', the pytest suites and 'tflbench measure'; "
                       "read by every report, gate, baseline comparison and merge. Objects may "
                       "carry keys not listed here; readers keep them.",
        **doc,
        "$defs": dict(sorted(defs.items())),
    }


def iter_mode_records(doc: ResultsDocument | Mapping[str, Any]
                ) -> Iterator[tuple[ModelRecord, ModeRecord]]:
    """Every (model, mode) record of a document, typed; a dict needs only its ``models``."""
    if isinstance(doc, ResultsDocument):
        yield from doc.iter_modes()
        return
    for i, raw in enumerate(doc.get("models") or []):
        model = ModelRecord.from_dict(clean_json(raw), f"models[{i}]")
        for rec in model.modes:
            yield model, rec


def clean_json(obj: Any) -> Any:
    """Make ``obj`` strict JSON: numpy scalars/arrays to Python, NaN/inf to None."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        np = None  # type: ignore[assignment]
    if isinstance(obj, dict):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if np is not None:
        if isinstance(obj, np.ndarray):
            return clean_json(obj.tolist())
        if isinstance(obj, np.generic):
            obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
