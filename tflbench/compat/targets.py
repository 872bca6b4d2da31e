"""Runtime targets of a project: ``"tflite-runtime==2.14"``, ``"ai-edge-litert>=2.3"``.

A target is a runtime name (ai-edge-litert, tflite-runtime, tensorflow; ``_`` and ``-`` and case
are equivalent) followed by zero or more comma-separated PEP 440-like clauses with the
operators ``==``, ``>=``, ``<=``, ``>``, ``<`` and ``~=`` over dotted release numbers. A bare name
admits every release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tflbench.compat.runtimes import RUNTIME_NAMES, Version, normalize, parse_version
from tflbench.errors import ConfigError

_OPERATORS = ("~=", "==", ">=", "<=", ">", "<")
_NAME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.-]*)\s*(.*)$")


def _cmp(a: Version, b: Version) -> int:
    width = max(len(a), len(b))
    pa, pb = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    return (pa > pb) - (pa < pb)


@dataclass(frozen=True)
class Clause:
    """One comparison, e.g. ``>=2.3``."""

    op: str
    version: Version

    def admits(self, v: Version) -> bool:
        c = _cmp(v, self.version)
        if self.op == "==":
            return c == 0
        if self.op == ">=":
            return c >= 0
        if self.op == "<=":
            return c <= 0
        if self.op == ">":
            return c > 0
        if self.op == "<":
            return c < 0
        # ~=X.Y[.Z]: >= X.Y[.Z] and the same release up to the last component but one
        prefix = self.version[:-1]
        return c >= 0 and (v + (0,) * len(prefix))[:len(prefix)] == prefix

    def __str__(self) -> str:
        return self.op + ".".join(str(p) for p in self.version)


@dataclass(frozen=True)
class Target:
    """A runtime and the releases of it a project ships on."""

    runtime: str
    clauses: tuple[Clause, ...]

    def admits(self, v: Version) -> bool:
        return all(c.admits(v) for c in self.clauses)

    @property
    def lower_bound(self) -> Version | None:
        """The lowest release the clauses allow (None: unbounded below). ``>X`` counts as X."""
        bounds = [c.version for c in self.clauses if c.op in ("==", ">=", ">", "~=")]
        if not bounds:
            return None
        best = bounds[0]
        for b in bounds[1:]:
            if _cmp(b, best) > 0:
                best = b
        return normalize(best)

    def __str__(self) -> str:
        return self.runtime + ",".join(str(c) for c in self.clauses)


def parse_target(text: str) -> Target:
    """Parse ``"tflite-runtime==2.14"`` and the like; raises :class:`ConfigError` naming what
    was received and what is accepted."""
    if not isinstance(text, str):
        raise ConfigError(f"a runtime target must be a string such as 'tflite-runtime==2.14'. "
                          f"Received: {text!r}")
    m = _NAME.match(text)
    if not m:
        raise ConfigError(f"a runtime target must start with a runtime name ("
                          f"{', '.join(sorted(set(RUNTIME_NAMES.values())))}). Received: {text!r}")
    raw_name, rest = m.group(1), m.group(2).strip()
    name = RUNTIME_NAMES.get(raw_name.lower().replace("_", "-"))
    if name is None:
        raise ConfigError(f"unknown runtime {raw_name!r} in target {text!r}. Expected one of: "
                          f"{', '.join(sorted(set(RUNTIME_NAMES.values())))}.")
    clauses: list[Clause] = []
    if rest:
        for part in rest.split(","):
            part = part.strip()
            op = next((o for o in _OPERATORS if part.startswith(o)), None)
            if op is None or part.startswith(("===", "!=")):
                raise ConfigError(f"target {text!r}: each clause must be one of "
                                  f"{' '.join(_OPERATORS)} and a release number, e.g. ==2.14. "
                                  f"Received: {part!r}")
            value = part[len(op):].strip()
            try:
                version = parse_version(value)
            except ValueError:
                raise ConfigError(f"target {text!r}: expected a release number such as 2.14 or "
                                  f"2.14.0 after {op!r} (no wildcards or pre-releases). "
                                  f"Received: {value!r}") from None
            if op == "~=" and len(version) < 2:
                raise ConfigError(f"target {text!r}: '~=' needs at least two components, "
                                  f"e.g. ~=2.14. Received: {value!r}")
            clauses.append(Clause(op, version))
    return Target(runtime=name, clauses=tuple(clauses))
