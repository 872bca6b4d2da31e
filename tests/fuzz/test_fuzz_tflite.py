"""The ``.tflite`` mutation fuzzer: bit flips, byte and integer overwrites, zeroed ranges and
truncations of the committed bundle's model files, re-signed in the manifest so that the bundle
check passes and the runtime really loads each mutant, measured by ``measure_bundle``.

Every mutant must end as a recorded result of its mode (``ok``, or ``failed`` with a stage and
one line), never as an exception out of ``measure_bundle``, a native crash or a hang. Each
mutant runs in a child process (``tflite_worker.py``), so a crash of the interpreter is detected
and reported with the seed, the mutant's index and its mutations, and the fuzzer goes on with a
fresh child.

Mutant ``i`` of seed ``s`` is fully determined by ``(s, i)``: :func:`mutant` rebuilds it.
"""

from __future__ import annotations

import json
import os
import random
import selectors
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fuzz_helpers import FIXTURE_BUNDLE, FUZZ_SECONDS, FUZZ_SEED, REPO, Tally

pytestmark = pytest.mark.xdist_group("tflite")

WORKER = Path(__file__).with_name("tflite_worker.py")
MARK = "@@result "
#: Mutants of the default run (seed ``TFLBENCH_FUZZ_SEED``, indices 0..N-1).
CI_MUTANTS = 60
#: Mutants of seed 0 the default run also measures (docs/fuzzing.md): 733 crashes the runtime
#: natively (SIGSEGV), 1860 leaves a scalar input.
KNOWN = (733, 1860)
#: A mutant whose measurement takes longer than this is a hang (seconds).
HANG_SECONDS = 60.0
#: Share of ``TFLBENCH_FUZZ_SECONDS`` this fuzzer runs for.
BUDGET_SHARE = 0.4
#: Stages a failed mode record may name.
STAGES = {"load", "evaluate", "latency"}

MODELS = {f"digits-mini/{m}.tflite": m for m in ("fp32", "dynamic", "int8")}
ORIGINALS = {rel: (FIXTURE_BUNDLE / rel).read_bytes() for rel in MODELS}

_INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


def _interesting_ints(size: int, old: int) -> list[int]:
    return [0, 1, 2, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, size, size - 4, size + 4,
            (old + 4) & 0xFFFFFFFF, (old - 4) & 0xFFFFFFFF, old * 2 & 0xFFFFFFFF, 0xFFFF, 0x10000]


def _structural_positions(data: bytes) -> list[int]:
    """4-aligned positions whose uint32 is a plausible offset, length or index (< file size):
    the flatbuffer's own structure rather than weight bytes."""
    n = len(data)
    return [p for p in range(0, n - 3, 4) if 0 < struct.unpack_from("<I", data, p)[0] < n]


_STRUCTURAL = {rel: _structural_positions(data) for rel, data in ORIGINALS.items()}


@dataclass
class Mutant:
    seed: int
    index: int
    file: str
    ops: list[list[Any]] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return MODELS[self.file]

    def apply(self) -> bytes:
        data = bytearray(ORIGINALS[self.file])
        for op in self.ops:
            kind = op[0]
            if kind == "flip":
                data[op[1]] ^= 1 << op[2]
            elif kind == "byte":
                data[op[1]] = op[2]
            elif kind == "u32":
                struct.pack_into("<I", data, op[1], op[2])
            elif kind == "zero":
                data[op[1]:op[1] + op[2]] = bytes(len(data[op[1]:op[1] + op[2]]))
            elif kind == "truncate":
                del data[op[1]:]
        return bytes(data)

    def describe(self) -> dict[str, Any]:
        return {"seed": self.seed, "index": self.index, "file": self.file, "ops": self.ops}


KINDS = ("flip", "byte", "u32", "structural", "zero", "truncate")


def mutant(seed: int, index: int) -> Mutant:
    """Mutant ``index`` of ``seed``: a file and one to a few mutations of one kind."""
    rng = random.Random(f"tflbench-fuzz:{seed}:{index}")
    rel = rng.choice(sorted(MODELS))
    size = len(ORIGINALS[rel])
    m = Mutant(seed, index, rel)
    kind = KINDS[index % len(KINDS)] if index < 2 * len(KINDS) else rng.choice(KINDS)
    for _ in range(rng.randint(1, 4)):
        if kind == "flip":
            m.ops.append(["flip", rng.randrange(size), rng.randrange(8)])
        elif kind == "byte":
            m.ops.append(["byte", rng.randrange(size), rng.choice(_INTERESTING_BYTES)])
        elif kind in ("u32", "structural"):
            pos = (rng.choice(_STRUCTURAL[rel]) if kind == "structural"
                   else rng.randrange(0, size - 3) & ~3)
            old = struct.unpack_from("<I", ORIGINALS[rel], pos)[0]
            m.ops.append(["u32", pos, rng.choice(_interesting_ints(size, old))])
        elif kind == "zero":
            start = rng.randrange(size)
            m.ops.append(["zero", start, rng.randint(1, 64)])
        else:
            m.ops.append(["truncate", rng.choice([0, 4, 7, 8, 16, rng.randrange(size)])])
            break
    return m


class Worker:
    """A child process measuring mutants one at a time (``tflite_worker.py``)."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="tflbench-fuzz-tflite-"))
        root = self.tmp / "digits-mini"
        shutil.copytree(FIXTURE_BUNDLE, root)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO),
                                                             os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(root)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=self.tmp)
        self.sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        ready = self._answer(120.0)
        assert ready == {"ready": True}, f"the fuzz worker did not start: {ready}"

    def _answer(self, timeout: float) -> dict[str, Any] | str:
        """The next answer, or "crash: <returncode>" / "hang" / "eof"."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "hang"
            if not self.sel.select(left):
                continue
            line = self.proc.stdout.readline()
            if not line:
                code = self.proc.wait(timeout=30)
                return f"crash: exit status {code}"
            if line.startswith(MARK):
                answer: dict[str, Any] = json.loads(line[len(MARK):])
                return answer

    def measure(self, m: Mutant) -> dict[str, Any] | str:
        assert self.proc.stdin is not None
        req = {"id": m.index, "file": m.file, "mode": m.mode, "data_hex": m.apply().hex()}
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return f"crash: exit status {self.proc.wait(timeout=30)}"
        return self._answer(HANG_SECONDS)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.sel.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _indices() -> Iterator[int]:
    if FUZZ_SECONDS is None:
        yield from range(CI_MUTANTS)
        yield from KNOWN
        return
    deadline = time.monotonic() + FUZZ_SECONDS * BUDGET_SHARE
    i = 0
    while time.monotonic() < deadline:
        yield i
        i += 1


def _error_kind(error: str) -> str:
    """A short class of a failure line, for the tally."""
    for needle, kind in (("not a TFLite flatbuffer", "not a flatbuffer (identifier)"),
                         ("not a valid TFLite flatbuffer", "refused by the structural check"),
                         ("not a valid Flatbuffer", "runtime: invalid flatbuffer"),
                         ("rejected", "runtime rejected"),
                         ("not finite", "non-finite outputs"), ("NaN", "non-finite outputs"),
                         ("inputs and", "wrong number of inputs/outputs"),
                         ("shape", "shape mismatch")):
        if needle in error:
            return kind
    return error.split(":")[0][:60]


def test_mutated_tflite_files_end_as_recorded_results() -> None:
    tally = Tally("tflite-mutants")
    findings: list[dict[str, Any]] = []
    failed_kinds: dict[str, int] = {}
    examples: dict[str, dict[str, Any]] = {}
    worker = Worker()
    try:
        for index in _indices():
            m = mutant(FUZZ_SEED, index)
            answer = worker.measure(m)
            if isinstance(answer, str):  # the child died or hung: restart it
                findings.append({**m.describe(), "finding": answer})
                tally.add("CRASH" if answer.startswith("crash") else "HANG")
                worker.close()
                worker = Worker()
                continue
            if "exception" in answer:
                findings.append({**m.describe(), "finding": answer["exception"],
                                 "at": answer.get("at")})
                tally.add("EXCEPTION")
                continue
            status, error = answer["status"], answer.get("error") or ""
            if status == "failed":
                if not error.strip() or "\n" in error or answer.get("stage") not in STAGES:
                    findings.append({**m.describe(), "finding": f"unclear failure: {answer}"})
                kind = _error_kind(error)
                failed_kinds[kind] = failed_kinds.get(kind, 0) + 1
                examples.setdefault(kind, {"index": index, "error": error[:300]})
            elif status != "ok":
                findings.append({**m.describe(), "finding": f"status {status!r}"})
            tally.add(f"{status} at {answer.get('stage')}" if status == "failed" else status)
    finally:
        worker.close()
        tally.rounds = 1
        tally.extra.update(failure_kinds=dict(sorted(failed_kinds.items())),
                           examples=dict(sorted(examples.items())), findings=findings)
        tally.write()
    assert not findings, "mutants that did not end as a recorded result:\n" + "\n".join(
        json.dumps(f) for f in findings[:20])


def test_mutants_are_reproducible() -> None:
    a, b = mutant(3, 17), mutant(3, 17)
    assert a.describe() == b.describe() and a.apply() == b.apply()
    assert {mutant(0, i).ops[0][0] for i in range(len(KINDS))} == {
        "flip", "byte", "u32", "zero", "truncate"}
