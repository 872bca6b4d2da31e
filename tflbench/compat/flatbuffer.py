"""Read which ops, at which versions, a ``.tflite`` file uses: a small flatbuffer reader.

Only the part of the TFLite schema (``tensorflow/compiler/mlir/lite/schema/schema.fbs``) that
decides whether a runtime can load a model is read::

    Model         field 1 operator_codes: [OperatorCode]   field 2 subgraphs: [SubGraph]
    OperatorCode  field 0 deprecated_builtin_code: int8    field 1 custom_code: string
                  field 2 version: int32 = 1               field 3 builtin_code: int32
    SubGraph      field 3 operators: [Operator]
    Operator      field 0 opcode_index: uint32

The builtin code of an operator code is the larger of ``builtin_code`` and
``deprecated_builtin_code``, as the runtimes compute it: files from old converters have only the
int8 field, newer files put 127 (``PLACEHOLDER_FOR_GREATER_OP_CODES``) there and the real code in
``builtin_code``. Every read is bounds-checked; a truncated or corrupt file raises one
:class:`~tflbench.errors.ModelFileError` naming the file. Nothing here needs a TFLite runtime,
the ``flatbuffers`` package or TensorFlow.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tflbench.compat.builtin_ops import BUILTIN_OPS
from tflbench.errors import ModelFileError

IDENTIFIER = b"TFL3"
#: ``BuiltinOperator.CUSTOM``: the op is named by ``custom_code``.
CUSTOM = 32
#: ``deprecated_builtin_code`` of files whose real code is in ``builtin_code``.
PLACEHOLDER_FOR_GREATER_OP_CODES = 127

# Field indices of the tables read here (vtable slot = 4 + 2 * index).
_MODEL_VERSION, _MODEL_OPERATOR_CODES, _MODEL_SUBGRAPHS = 0, 1, 2
_OPCODE_DEPRECATED, _OPCODE_CUSTOM, _OPCODE_VERSION, _OPCODE_BUILTIN = 0, 1, 2, 3
_SUBGRAPH_OPERATORS = 3
_OPERATOR_OPCODE_INDEX = 0


def builtin_name(code: int) -> str:
    """The ``BuiltinOperator`` name of ``code``; codes newer than the table read
    ``BUILTIN_<code>``."""
    if 0 <= code < len(BUILTIN_OPS):
        return BUILTIN_OPS[code]
    return f"BUILTIN_{code}"


@dataclass(frozen=True)
class OpUsage:
    """One operator code of a model: the op, its version and how many operators use it.

    ``count`` may be 0: a runtime resolves every operator code of the file when it loads it,
    used or not, so an unused code still has to be supported.
    """

    name: str
    version: int
    count: int
    #: The ``BuiltinOperator`` value, or None for a custom op (``name`` is its custom code).
    builtin_code: int | None

    @property
    def custom(self) -> bool:
        return self.builtin_code is None

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "count": self.count,
                "builtin_code": self.builtin_code}

    @classmethod
    def from_dict(cls, d: Any) -> OpUsage:
        if not isinstance(d, dict):
            raise ValueError(f"an op record must be a mapping. Received: {d!r}")
        name, version, count = d.get("name"), d.get("version"), d.get("count", 1)
        code = d.get("builtin_code")
        if not isinstance(name, str) or not name:
            raise ValueError(f"op record: 'name' must be a non-empty string. Received: {name!r}")
        for key, value, low in (("version", version, 1), ("count", count, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"op record {name}: {key!r} must be an integer >= {low}. "
                                 f"Received: {value!r}")
        if code is not None and (not isinstance(code, int) or isinstance(code, bool)
                                 or code < 0):
            raise ValueError(f"op record {name}: 'builtin_code' must be a non-negative integer "
                             f"or null. Received: {code!r}")
        assert isinstance(version, int) and isinstance(count, int)
        return cls(name=name, version=version, count=count, builtin_code=code)


@dataclass(frozen=True)
class ModelOps:
    """The op table of one ``.tflite`` file."""

    source: str
    #: ``Model.version``, the schema version (3 for every current file).
    schema_version: int
    subgraphs: int
    #: Sorted by name, then version; one entry per distinct (op, version).
    ops: tuple[OpUsage, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "schema_version": self.schema_version,
                "subgraphs": self.subgraphs, "ops": [op.to_dict() for op in self.ops]}


class _Reader:
    """Bounds-checked access to flatbuffer tables, vectors and strings in ``buf``."""

    def __init__(self, buf: Any, label: str) -> None:
        self.buf = buf
        self.size = len(buf)
        self.label = label

    def fail(self, what: str) -> ModelFileError:
        return ModelFileError(
            f"{self.label} is not a valid TFLite flatbuffer ({what}; file size {self.size} "
            "bytes): the file is truncated or corrupt. Re-convert the model or copy it again.")

    def unpack(self, fmt: str, pos: int) -> int:
        n = struct.calcsize(fmt)
        if pos < 0 or pos + n > self.size:
            raise self.fail(f"a read of {n} bytes at offset {pos} runs past the end")
        value: int = struct.unpack_from(fmt, self.buf, pos)[0]
        return value

    def deref(self, pos: int) -> int:
        """The position a uoffset stored at ``pos`` points to."""
        return pos + self.unpack("<I", pos)

    def field(self, table: int, index: int) -> int | None:
        """Position of field ``index`` of the table at ``table``, or None when absent."""
        vtable = table - self.unpack("<i", table)
        vt_size = self.unpack("<H", vtable)
        slot = 4 + 2 * index
        if vt_size < 4 or vt_size % 2:
            raise self.fail(f"a table at offset {table} has a vtable of {vt_size} bytes")
        if slot + 2 > vt_size:
            return None
        off = self.unpack("<H", vtable + slot)
        return table + off if off else None

    def scalar(self, table: int, index: int, fmt: str, default: int) -> int:
        pos = self.field(table, index)
        return default if pos is None else self.unpack(fmt, pos)

    def vector(self, table: int, index: int) -> tuple[int, int]:
        """``(first element position, length)`` of a vector field; ``(0, 0)`` when absent."""
        pos = self.field(table, index)
        if pos is None:
            return 0, 0
        start = self.deref(pos)
        length = self.unpack("<I", start)
        if start + 4 + 4 * length > self.size:
            raise self.fail(f"a vector of {length} entries at offset {start} runs past the end")
        return start + 4, length

    def tables(self, table: int, index: int) -> Iterator[int]:
        first, length = self.vector(table, index)
        for i in range(length):
            yield self.deref(first + 4 * i)

    def string(self, table: int, index: int) -> str | None:
        pos = self.field(table, index)
        if pos is None:
            return None
        start = self.deref(pos)
        length = self.unpack("<I", start)
        if start + 4 + length > self.size:
            raise self.fail(f"a string of {length} bytes at offset {start} runs past the end")
        raw = bytes(self.buf[start + 4:start + 4 + length])
        return raw.decode("utf-8", errors="replace")


def _parse(buf: Any, label: str) -> ModelOps:
    r = _Reader(buf, label)
    if r.size < 8:
        raise r.fail("shorter than a flatbuffer header")
    if bytes(buf[4:8]) != IDENTIFIER:
        raise ModelFileError(
            f"{label} is not a TFLite flatbuffer (identifier {bytes(buf[4:8])!r}, expected "
            f"{IDENTIFIER!r}): the file is corrupt, truncated or of another format.")
    model = r.deref(0)
    schema_version = r.scalar(model, _MODEL_VERSION, "<I", 0)
    codes: list[tuple[str, int, int | None]] = []
    for oc in r.tables(model, _MODEL_OPERATOR_CODES):
        deprecated = r.scalar(oc, _OPCODE_DEPRECATED, "<b", 0)
        code = max(deprecated, r.scalar(oc, _OPCODE_BUILTIN, "<i", 0))
        version = r.scalar(oc, _OPCODE_VERSION, "<i", 1)
        if code < 0:
            raise r.fail(f"operator code {len(codes)} has builtin code {code}")
        if code == CUSTOM:
            codes.append((r.string(oc, _OPCODE_CUSTOM) or "<unnamed custom op>", version, None))
        else:
            codes.append((builtin_name(code), version, code))
    counts = [0] * len(codes)
    n_subgraphs = 0
    for sg in r.tables(model, _MODEL_SUBGRAPHS):
        n_subgraphs += 1
        for op in r.tables(sg, _SUBGRAPH_OPERATORS):
            index = r.scalar(op, _OPERATOR_OPCODE_INDEX, "<I", 0)
            if index >= len(codes):
                raise r.fail(f"an operator uses operator code {index} of {len(codes)}")
            counts[index] += 1
    merged: dict[tuple[str, int, int | None], int] = {}
    for key, count in zip(codes, counts, strict=True):
        merged[key] = merged.get(key, 0) + count
    ops = tuple(OpUsage(name=n, version=v, count=c, builtin_code=code)
                for (n, v, code), c in sorted(merged.items(), key=lambda kv: kv[0][:2]))
    return ModelOps(source=label, schema_version=schema_version, subgraphs=n_subgraphs,
                    ops=ops)


def read_ops(model: str | os.PathLike[str] | bytes | bytearray | memoryview) -> ModelOps:
    """The ops and op versions of a ``.tflite`` file (a path or its bytes)."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return _parse(memoryview(model), "<in-memory model>")
    path = Path(model)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 8:
                return _parse(f.read(), str(path))
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return _parse(mm, str(path))
    except FileNotFoundError:
        raise ModelFileError(f"TFLite model not found: {path}. Check the path.") from None
    except IsADirectoryError:
        raise ModelFileError(f"Expected a .tflite file, got a directory: {path}.") from None
    except OSError as exc:
        raise ModelFileError(f"Cannot read TFLite model {path}: {exc.strerror or exc}.") from None
