"""Will a model load on the runtimes a project targets? One verdict per model file.

:func:`check_compatibility` compares the ops of one ``.tflite`` file (read by
:mod:`tflbench.compat.flatbuffer`) with every covered release of every target in the runtime
table (:mod:`tflbench.compat.runtimes`). The result is a frozen :class:`CompatResult`: truthy
when every covered release loads every op, carrying one line per problem::

    FULLY_CONNECTED v12 is not supported by tflite-runtime 2.14.0 (highest: v10)

Targets the table does not cover, or covers only in part, give warnings, not failures: an
unmeasured runtime is unknown, not incompatible. Releases newer than the newest covered one are
taken to support at least what it supports (runtimes keep the kernels of older op versions).

:func:`compatibility_failures` is the entry point of the release gate: one line per problem,
prefixed by ``model/mode``, over a results document, bundles or ``.tflite`` files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from tflbench.compat.flatbuffer import ModelOps, OpUsage, read_ops
from tflbench.compat.runtimes import RuntimeRelease, normalize, releases, version_text
from tflbench.compat.targets import Target, parse_target
from tflbench.errors import ConfigError, ModelFileError, TflbenchError

__all__ = ["CompatResult", "check_compatibility", "compatibility_failures",
           "compatibility_report", "model_files", "parse_target", "resolve_targets"]

ModelLike = Union[str, "os.PathLike[str]", bytes, ModelOps, Iterable[OpUsage]]


@dataclass(frozen=True)
class CompatResult:
    """The verdict for one model against a list of targets. Truthy when compatible."""

    source: str
    ops: tuple[OpUsage, ...]
    targets: tuple[str, ...]
    #: The table releases the ops were checked against, e.g. ``("tflite-runtime 2.14.0",)``.
    checked: tuple[str, ...]
    #: One line per (op, version, release) that will not load.
    problems: tuple[str, ...]
    #: What could not be checked: uncovered target releases, custom ops.
    warnings: tuple[str, ...]

    def __bool__(self) -> bool:
        return not self.problems

    @property
    def compatible(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "compatible": self.compatible,
                "ops": [op.to_dict() for op in self.ops], "targets": list(self.targets),
                "checked": list(self.checked), "problems": list(self.problems),
                "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CompatResult:
        try:
            ops = tuple(OpUsage.from_dict(o) for o in d["ops"])
            fields = {k: tuple(str(x) for x in d[k])
                      for k in ("targets", "checked", "problems", "warnings")}
            source = str(d["source"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a compatibility result: missing or wrong {exc}") from None
        return cls(source=source, ops=ops, **fields)


@dataclass(frozen=True)
class ResolvedTarget:
    """A target and the table releases it admits, with a warning when coverage is partial."""

    target: Target
    text: str
    releases: tuple[RuntimeRelease, ...]
    warning: str | None


def resolve_targets(targets: Iterable[str | Target]) -> tuple[ResolvedTarget, ...]:
    """Parse ``targets`` and find the covered releases each admits; raises
    :class:`~tflbench.errors.ConfigError` for a malformed target."""
    if isinstance(targets, (str, Target)):
        raise ConfigError("targets must be a list of runtime targets, e.g. "
                          f"['tflite-runtime==2.14']. Received a single value: {targets!r}")
    out = []
    for t in targets:
        target = t if isinstance(t, Target) else parse_target(t)
        text = str(t).strip()
        known = releases(target.runtime)
        matched = tuple(r for r in known if target.admits(r.version))
        covered = ", ".join(version_text(r.version) for r in known) or "none"
        warning = None
        if not matched:
            warning = (f"target {text}: the runtime table does not cover it (covered "
                       f"{target.runtime} releases: {covered}); not checked. Measure it with "
                       "'python -m tflbench.compat.probe table'.")
        else:
            low, lowest = target.lower_bound, matched[0].version
            if low is None or low < normalize(lowest):
                warning = (f"target {text}: releases older than {version_text(lowest)} are "
                           f"not covered by the runtime table; checked against "
                           f"{', '.join(r.label for r in matched)} only.")
        out.append(ResolvedTarget(target=target, text=text, releases=matched, warning=warning))
    return tuple(out)


def _ops_of(model: ModelLike) -> tuple[str, tuple[OpUsage, ...]]:
    if isinstance(model, ModelOps):
        return model.source, model.ops
    if isinstance(model, (str, os.PathLike, bytes, bytearray, memoryview)):
        ops = read_ops(model)
        return ops.source, ops.ops
    items = tuple(model)
    if not all(isinstance(o, OpUsage) for o in items):
        raise TypeError("check_compatibility expects a path, the bytes of a .tflite file, "
                        "ModelOps or OpUsage records")
    return "<op list>", items


def check_compatibility(model: ModelLike, targets: Iterable[str | Target]) -> CompatResult:
    """Check the ops of ``model`` (a ``.tflite`` path, its bytes, :class:`ModelOps` or
    :class:`OpUsage` records) against every covered release of every target. Raises
    :class:`~tflbench.errors.ModelFileError` for an unreadable file and
    :class:`~tflbench.errors.ConfigError` for a malformed target."""
    return _check(model, resolve_targets(targets))


def _check(model: ModelLike, resolved: Sequence[ResolvedTarget]) -> CompatResult:
    source, ops = _ops_of(model)
    problems: list[str] = []
    warnings: list[str] = []
    checked: list[str] = []
    for rt in resolved:
        if rt.warning:
            warnings.append(rt.warning)
        for release in rt.releases:
            if release.label in checked:
                continue
            checked.append(release.label)
            problems.extend(why for op in ops if not op.custom
                            for why in [release.refusal(op.name, op.version)] if why)
    if checked:
        warnings.extend(f"custom op {op.name} v{op.version}: not in the runtime tables; the "
                        "application must register it on every target." for op in ops
                        if op.custom)
    return CompatResult(source=source, ops=ops, targets=tuple(rt.text for rt in resolved),
                        checked=tuple(checked), problems=tuple(problems),
                        warnings=tuple(warnings))


def _results_doc_models(doc: Mapping[str, Any]) -> Iterable[tuple[str, ModelLike | str]]:
    """``(model/mode, ops or an error line)`` for every converted mode of a results document."""
    for m in doc.get("models") or []:
        for r in m.get("modes") or []:
            label = f"{m.get('name')}/{r.get('mode')}"
            if r.get("status") != "ok":
                continue  # a failed mode already fails require_conversion
            recorded = r.get("ops") or (r.get("extra") or {}).get("ops")
            if recorded:
                try:
                    yield label, tuple(OpUsage.from_dict(o) for o in recorded)
                except ValueError as exc:
                    yield label, f"cannot check runtime compatibility: {exc}"
                continue
            path = (r.get("file") or {}).get("path")
            if not path:
                yield label, ("cannot check runtime compatibility: the results record no "
                              ".tflite path or op list")
            elif not Path(path).is_file():
                yield label, (f"cannot check runtime compatibility: {path} no longer exists; "
                              "re-run the pipeline (the gate reads the converted file).")
            else:
                yield label, Path(path)


@contextlib.contextmanager
def model_files(path: str | os.PathLike[str]) -> Iterator[list[tuple[str, Path | str]]]:
    """``(label, file or the reason it is unusable)`` for a ``.tflite`` file (label: its name)
    or every mode of a bundle directory or ``.zip`` (label: ``model/mode``). The files exist
    until the block exits (a zip bundle is extracted to a temporary directory)."""
    p = Path(path)
    if p.is_file() and p.suffix == ".tflite":
        yield [(p.name, p)]
        return
    if not p.exists():
        raise ModelFileError(f"Not found: {p}. Give a .tflite file, a bundle directory or a "
                             "bundle .zip.")
    from tflbench.bundle import read_bundle

    with read_bundle(p) as bundle:
        yield [(f"{bm.name}/{md.mode}",
                md.path if md.path is not None else f"cannot check runtime compatibility: "
                                                     f"{md.error}")
               for bm in bundle.models for md in bm.modes]


def compatibility_report(doc_or_paths: Any, targets: Iterable[str | Target]
                         ) -> list[tuple[str, CompatResult | str]]:
    """``(label, result)`` per model file of ``doc_or_paths``: a results document, as a dict or
    a typed record (every mode with status ok; its ``ops`` list, at the top level of the mode
    record or in its ``extra``, when present, else its ``file.path``), a bundle directory
    or ``.zip``, a ``.tflite`` file, or a list of those paths. A file that cannot be checked
    gives a string (the reason) instead of a result."""
    resolved = resolve_targets(targets)
    sources: list[tuple[str, ModelLike | str]] = []
    if callable(getattr(doc_or_paths, "to_dict", None)):  # a typed results record
        doc_or_paths = doc_or_paths.to_dict()
    if isinstance(doc_or_paths, Mapping):
        if "models" not in doc_or_paths:
            raise ConfigError("expected a tflbench results document (with 'models'). Received "
                              f"a mapping with keys {sorted(doc_or_paths)[:8]}.")
        sources = list(_results_doc_models(doc_or_paths))
    else:
        paths = ([doc_or_paths] if isinstance(doc_or_paths, (str, os.PathLike))
                 else list(doc_or_paths))
        for p in paths:
            with model_files(p) as files:  # read now: a zip's extraction goes away
                sources.extend((label, f if isinstance(f, str) else read_ops(f))
                               for label, f in files)
    out: list[tuple[str, CompatResult | str]] = []
    for label, model in sources:
        if isinstance(model, str):
            out.append((label, model))
            continue
        try:
            out.append((label, _check(model, resolved)))
        except TflbenchError as exc:
            out.append((label, f"cannot check runtime compatibility: {exc}"))
    return out


def compatibility_failures(doc_or_paths: Any, targets: Iterable[str | Target]) -> list[str]:
    """One line per op version a target runtime will not load, prefixed by ``model/mode``
    (for ``.tflite`` paths: the file name); empty when every mode loads on every covered
    target, or when ``targets`` is empty. Files that cannot be read or checked fail too.
    Raises :class:`~tflbench.errors.ConfigError` for a malformed target."""
    targets = list(targets) if not isinstance(targets, (str, Target)) else targets
    if not targets:
        return []
    lines = []
    for label, result in compatibility_report(doc_or_paths, targets):
        if isinstance(result, str):
            lines.append(f"{label}: {result}")
        else:
            lines.extend(f"{label}: {p}" for p in result.problems)
    return lines
