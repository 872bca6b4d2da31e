"""Write minimal ``.tflite`` files that name chosen operator codes: the probe's test models.

A runtime resolves every operator code of a file while it builds the interpreter, before it
looks at a tensor, so a model of one float tensor (input and output of its only subgraph) plus
the operator codes to test is enough to learn which (op, version) pairs a runtime registers:
the interpreter either builds or reports "Didn't find op for builtin opcode". Operators are
optional (``operators`` lists the operator-code index of each), so tests can also build files
with known op counts.

The layout is written front to back: every table precedes the tables, vectors and strings it
points to, so every offset points forward as the format requires.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from tflbench.compat.flatbuffer import CUSTOM, IDENTIFIER, PLACEHOLDER_FOR_GREATER_OP_CODES

#: ``TensorType.FLOAT32``.
_FLOAT32 = 0


@dataclass(frozen=True)
class OpCode:
    """One operator code to write: a builtin code, or a custom op named ``custom``."""

    builtin_code: int
    version: int = 1
    custom: str | None = None


@dataclass
class _Table:
    #: One entry per field index: None (absent), ``(struct format, int)`` or a child object.
    fields: list[object]


@dataclass
class _Vector:
    #: ``"i"``: int32 elements; ``"o"``: offsets to the tables or strings in ``items``.
    kind: str
    items: list[object]


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray(8)
        self.buf[4:8] = IDENTIFIER

    def _align(self, n: int) -> None:
        self.buf += b"\0" * (-len(self.buf) % n)

    def _patch(self, at: int, target: int) -> None:
        struct.pack_into("<I", self.buf, at, target - at)

    def write(self, obj: object) -> int:
        """Write ``obj`` and everything it points to; returns its position."""
        if isinstance(obj, str):
            self._align(4)
            pos = len(self.buf)
            raw = obj.encode()
            self.buf += struct.pack("<I", len(raw)) + raw + b"\0"
            return pos
        if isinstance(obj, _Vector):
            self._align(4)
            pos = len(self.buf)
            self.buf += struct.pack("<I", len(obj.items))
            if obj.kind == "i":
                self.buf += struct.pack(f"<{len(obj.items)}i", *obj.items)
                return pos
            slots = []
            for _ in obj.items:
                slots.append(len(self.buf))
                self.buf += b"\0\0\0\0"
            for slot, item in zip(slots, obj.items, strict=True):
                self._patch(slot, self.write(item))
            return pos
        assert isinstance(obj, _Table)
        # Field layout: each present field at an offset aligned to its size, after the soffset.
        offsets: list[int] = []
        end = 4
        for f in obj.fields:
            size = 0 if f is None else struct.calcsize(f[1]) if isinstance(f, tuple) else 4
            end += -end % max(size, 1)
            offsets.append(end if size else 0)
            end += size
        end += -end % 4
        self._align(2)
        vtable = len(self.buf)
        self.buf += struct.pack(f"<{2 + len(offsets)}H", 4 + 2 * len(offsets), end, *offsets)
        self._align(4)
        table = len(self.buf)
        self.buf += b"\0" * end
        struct.pack_into("<i", self.buf, table, table - vtable)
        children = []
        for f, off in zip(obj.fields, offsets, strict=True):
            if isinstance(f, tuple):
                struct.pack_into("<" + f[1], self.buf, table + off, f[0])
            elif f is not None:
                children.append((table + off, f))
        for at, child in children:
            self._patch(at, self.write(child))
        return table


def minimal_model(opcodes: Sequence[OpCode], operators: Sequence[int] = ()) -> bytes:
    """A valid ``.tflite`` file with the operator codes ``opcodes``; each entry of ``operators``
    adds an operator (input and output: the model's single tensor) using that operator code."""
    codes: list[object] = []
    for oc in opcodes:
        deprecated = min(oc.builtin_code, PLACEHOLDER_FOR_GREATER_OP_CODES)
        codes.append(_Table([
            (deprecated, "b"),
            None if oc.custom is None else oc.custom,
            (oc.version, "i"),
            (oc.builtin_code, "i"),
        ]))
    if any(oc.custom is not None and oc.builtin_code != CUSTOM for oc in opcodes):
        raise ValueError(f"a custom op must have builtin_code {CUSTOM} (CUSTOM)")
    ops: list[object] = [
        _Table([(index, "I"), _Vector("i", [0]), _Vector("i", [0])]) for index in operators
    ]
    tensor = _Table([_Vector("i", [1]), (_FLOAT32, "b"), (0, "I"), "x"])
    subgraph = _Table([_Vector("o", [tensor]), _Vector("i", [0]), _Vector("i", [0]),
                       _Vector("o", ops), "main"])
    model = _Table([
        (3, "I"),
        _Vector("o", codes),
        _Vector("o", [subgraph]),
        "tflbench synthetic model",
        _Vector("o", [_Table([])]),
    ])
    w = _Writer()
    w._patch(0, w.write(model))
    return bytes(w.buf)
