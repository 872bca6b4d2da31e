"""Shared pieces of the fuzz tests: the Hypothesis profiles, strategies for JSON-like values and
mutated documents, the property every reader must keep, and the run-for-a-budget loop.

Profiles (see docs/fuzzing.md):

* ``ci``, the default run: a fixed, derandomized set of examples per property;
* ``fuzz``, chosen by ``TFLBENCH_FUZZ_SECONDS`` (the wall-clock budget of ``tests/fuzz`` run in
  one process, ``-p no:xdist``): every property runs round after round, round ``k`` seeded with
  ``TFLBENCH_FUZZ_SEED + k``, until its share of the budget is spent.

``HYPOTHESIS_PROFILE`` overrides the profile name. With ``TFLBENCH_FUZZ_REPORT`` set to a
folder, every fuzz test writes there a JSON summary of what it tried.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st

from tflbench.errors import TflbenchError

REPO = Path(__file__).resolve().parents[2]
FIXTURE_BUNDLE = REPO / "fixtures" / "bundles" / "digits-mini"

_env_seconds = os.environ.get("TFLBENCH_FUZZ_SECONDS", "").strip()
#: Wall-clock budget of the whole folder in the long run; None in the default run.
FUZZ_SECONDS: float | None = float(_env_seconds) if _env_seconds else None
FUZZ_SEED = int(os.environ.get("TFLBENCH_FUZZ_SEED", "0") or 0)

_RELAXED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
            HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None,
                          database=None, print_blob=True, suppress_health_check=_RELAXED)
settings.register_profile("fuzz", max_examples=300, derandomize=False, deadline=None,
                          database=None, print_blob=True, suppress_health_check=_RELAXED)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("fuzz" if FUZZ_SECONDS else "ci")


def fuzz_settings(**overrides: Any) -> settings:
    """The selected profile (without loading it globally), with ``overrides``."""
    return settings(settings.get_profile(PROFILE), **overrides)


# ------------------------------------------------------------------------------ the property

#: What a traceback or a leaked Python internal looks like inside a message.
_TRACEBACKISH = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|"
                           r"\bat 0x[0-9a-f]{6,}>")


class Tally:
    """Outcomes of one fuzz test (``ok`` or the error class), written to the fuzz report."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outcomes: Counter[str] = Counter()
        self.rounds = 0
        self.extra: dict[str, Any] = {}

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] += 1

    @property
    def cases(self) -> int:
        return sum(self.outcomes.values())

    def write(self) -> None:
        line = (f"fuzz {self.name}: {self.cases} cases in {self.rounds} round(s): "
                + ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items())))
        print(line)
        folder = os.environ.get("TFLBENCH_FUZZ_REPORT")
        if folder:
            out = Path(folder)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{self.name}.json").write_text(json.dumps({
                "test": self.name, "profile": PROFILE, "seed": FUZZ_SEED,
                "rounds": self.rounds, "cases": self.cases,
                "outcomes": dict(sorted(self.outcomes.items())), **self.extra,
            }, indent=2) + "\n", encoding="utf-8")


def check_clear_error(exc: TflbenchError) -> None:
    """A user-facing error: a non-empty message without traceback text or object addresses."""
    text = str(exc)
    assert text.strip(), f"{type(exc).__name__} with an empty message"
    assert not _TRACEBACKISH.search(text), f"traceback-like text in the message: {text[:500]}"


def outcome(tally: Tally, call: Callable[[], Any]) -> Any:
    """Run ``call``: success, or a :class:`TflbenchError` with a clear message (tallied). Any
    other exception propagates and fails the property."""
    try:
        result = call()
    except TflbenchError as exc:
        check_clear_error(exc)
        tally.add(type(exc).__name__)
        return None
    tally.add("ok")
    return result


class Failures:
    """Unexpected exceptions of a deterministic sweep, collected so that one run shows every
    distinct one (by exception type and the line that raised it)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], str] = {}

    def run(self, tally: Tally, call: Callable[[], Any], case: str) -> None:
        try:
            outcome(tally, call)
        except Exception as exc:
            tally.add(f"UNEXPECTED {type(exc).__name__}")
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = (f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None
                     else "?")
            self.seen.setdefault((type(exc).__name__, where),
                                 f"{case}: {type(exc).__name__}: {str(exc)[:200]} at {where}")

    def check(self) -> None:
        assert not self.seen, "\n".join(self.seen.values())


def sweep_values(index: int, values: list[Any], per_path: int = 4) -> list[Any]:
    """The values a deterministic sweep tries at its ``index``-th path: all of them in the long
    run; in the default run ``per_path`` of them, rotating, so every value is still tried."""
    if FUZZ_SECONDS is not None:
        return values
    start = (index * per_path) % len(values)
    return [values[(start + j) % len(values)] for j in range(min(per_path, len(values)))]


def run_property(prop: Callable[[], None], tally: Tally, share: float) -> None:
    """Run the Hypothesis test ``prop`` once (default run) or, in the long run, round after
    round with seeds ``FUZZ_SEED, FUZZ_SEED + 1, ...`` until ``share`` of the budget is spent."""
    if FUZZ_SECONDS is None or PROFILE != "fuzz":
        tally.rounds = 1
        prop()
        tally.write()
        return
    budget = FUZZ_SECONDS * share
    start = time.monotonic()
    try:
        while True:
            seed(FUZZ_SEED + tally.rounds)(prop)
            prop()
            tally.rounds += 1
            if time.monotonic() - start >= budget:
                break
    finally:
        tally.extra["seeds"] = [FUZZ_SEED, FUZZ_SEED + max(tally.rounds - 1, 0)]
        tally.write()


# ------------------------------------------------------------------------------- strategies

#: Numbers a parser may not expect: huge, negative, non-finite, subnormal, large exponents.
NASTY_NUMBERS: list[Any] = [
    0, -1, 1, 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**30, 10**400, -(10**400), 0.5, -0.0,
    1e-320, 1e308, math.inf, -math.inf, math.nan,
]
nasty_numbers = st.sampled_from(NASTY_NUMBERS)

#: Strings a parser may not expect: empty, blanks, NUL, unicode of every plane, path-like.
NASTY_STRINGS: list[str] = [
    "", " ", "\x00", "a\x00b", "\n", "\u2028", "é", "Ω≈ç√", "🙂", "\ud800", "\U0010ffff",
    "../../etc/passwd", "/abs/path", "C:\\win", "~", "~nobody/x", "a" * 5000, "NaN", "1e999",
    "true", "null", "0x10", "-1", "all", "fp32", "int8", "digits", "?", "=", "&",
]
nasty_strings = st.sampled_from(NASTY_STRINGS) | st.text(max_size=40)
#: One value of every JSON type, nasty ones included: tried at every path of a valid document.
NASTY_VALUES: list[Any] = [*NASTY_NUMBERS, *NASTY_STRINGS, None, True, False, [], {}, [None],
                           {"": None}]

scalars = (st.none() | st.booleans() | st.integers() | nasty_numbers
           | st.floats(allow_nan=True, allow_infinity=True) | nasty_strings)

#: Any JSON-like value (TOML-like: string keys), nested a few levels.
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(NASTY_STRINGS[:12]) | st.text(max_size=8), children,
                      max_size=4),
    max_leaves=10,
)


def deep(depth: int, leaf: Any = 0, kind: str = "list") -> Any:
    """``leaf`` nested ``depth`` times in lists or objects (built without recursion)."""
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


class Deep:
    """A placeholder for :func:`deep` in a drawn document, so that Hypothesis prints a failing
    example as ``Deep(5000, 'list')``; :func:`materialize` builds the nested value."""

    def __init__(self, depth: int, kind: str) -> None:
        self.depth, self.kind = depth, kind

    def __repr__(self) -> str:
        return f"Deep({self.depth}, {self.kind!r})"


def materialize(doc: Any) -> Any:
    """``doc`` with every :class:`Deep` placeholder replaced by its nested value."""
    if isinstance(doc, Deep):
        return deep(doc.depth, kind=doc.kind)
    stack = [doc]
    while stack:
        value = stack.pop()
        items = (list(value.items()) if isinstance(value, dict)
                 else list(enumerate(value)) if isinstance(value, list) else [])
        for k, v in items:
            if isinstance(v, Deep):
                value[k] = deep(v.depth, kind=v.kind)
            else:
                stack.append(v)
    return doc


def all_paths(doc: Any, limit: int = 40) -> list[tuple[Any, ...]]:
    """Every path (tuple of keys and indices) inside ``doc`` down to ``limit`` levels."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        if len(path) >= limit:
            continue
        items = (value.items() if isinstance(value, dict)
                 else enumerate(value) if isinstance(value, list) else ())
        for k, v in items:
            out.append((*path, k))
            stack.append(((*path, k), v))
    out.sort(key=lambda p: [str(x) for x in p])
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        doc = doc[k]
    return doc


def set_path(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _retype(value: Any) -> Any:
    """The same information in another JSON type."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return [value]
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    return 0


MUTATIONS = ("delete", "replace", "retype", "number", "string", "nest", "add", "empty", "null")


@st.composite
def mutated(draw: st.DrawFn, base: Any, max_mutations: int = 4) -> Any:
    """A copy of the valid JSON document ``base`` with 1 to ``max_mutations`` mutations, each
    at a random path: delete, replace with any value, retype, a nasty number or string, deep
    nesting (a :class:`Deep` placeholder: :func:`materialize` the result), an unknown key, an
    empty container or null."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = all_paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _get(doc, path[:-1]), path[-1]
        kind = draw(st.sampled_from(MUTATIONS))
        if kind == "delete":
            del parent[key]
        elif kind == "replace":
            parent[key] = draw(json_values)
        elif kind == "retype":
            parent[key] = _retype(parent[key])
        elif kind == "number":
            parent[key] = draw(nasty_numbers)
        elif kind == "string":
            parent[key] = draw(nasty_strings)
        elif kind == "nest":
            parent[key] = Deep(draw(st.sampled_from([50, 500, 5000])),
                               draw(st.sampled_from(["list", "dict"])))
        elif kind == "add":
            target = parent if isinstance(parent, dict) else None
            if isinstance(parent[key], dict):
                target = parent[key]
            if target is not None:
                target[draw(nasty_strings)] = draw(json_values)
        elif kind == "empty":
            parent[key] = draw(st.sampled_from([[], {}, ""]))
        else:
            parent[key] = None
    return doc


def mutate_text(data: bytes, draw: st.DrawFn) -> bytes:
    """``data`` with a few byte-level edits: flips, overwrites, insertions, deletions, a cut."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not buf:
            break
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, len(buf) - 1))
        if kind == "flip":
            buf[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            buf[pos] = draw(st.sampled_from([0, 0x22, 0x7B, 0x5B, 0x5C, 0x80, 0xFF]))
        elif kind == "insert":
            buf[pos:pos] = draw(st.sampled_from([b"\x00", b'"', b"{", b"[", b",", b"\xff",
                                                 b"\\u0000", b"1e999", b"NaN", b"-"]))
        elif kind == "delete":
            del buf[pos:pos + draw(st.integers(1, 16))]
        else:
            del buf[pos:]
    return bytes(buf)
