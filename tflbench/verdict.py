"""The verdict on a results document: its gates, then its baseline comparison, in one step.

``tflbench run``, the pytest plugin (``tflbench test``) and ``tflbench measure --gate`` all call
:func:`apply_verdict`; it stores ``doc["gates"]`` (:func:`tflbench.gates.apply`, then the
``require_compatible`` results of :mod:`tflbench.compat.gate` when runtime ``targets`` are given)
and, when a baseline is given, ``doc["baseline"]`` (:func:`tflbench.baseline.apply`), and returns
one frozen :class:`Verdict` holding every failure line and warning, so the three cannot disagree
about what failed. Every converted mode record gets its ``ops`` list on the way, so a document
can be checked against targets after the converted files are gone. A baseline that cannot be
read is stored as ``{"path", "error", ...}``; it is a failure (one line, ``baseline not
compared: ...``) when ``strict``, else a warning.

This module never imports TensorFlow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tflbench import baseline as baseline_mod
from tflbench import gates
from tflbench.errors import GateError, TflbenchError

#: How the failure line of a baseline that could not be read starts.
NOT_COMPARED = "baseline not compared"


@dataclass(frozen=True)
class Verdict:
    """Gate results, the baseline comparison, failure lines and warnings; truthy on pass."""

    #: Every gate result (``doc["gates"]`` in object form), in document order.
    gates: tuple[gates.CheckResult, ...]
    #: ``doc["baseline"]`` as stored, or None when no baseline was given.
    baseline: Mapping[str, Any] | None
    #: Every failure: the gates' lines, then the baseline's.
    failures: tuple[str, ...]
    #: The baseline's warnings (other machine, runtime, data...).
    warnings: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.passed

    @property
    def baseline_failures(self) -> tuple[str, ...]:
        """The failure lines that come from the baseline (after the gates' lines)."""
        return self.failures[len(gates.failure_lines(self.gates)):]

    @property
    def baseline_error(self) -> str | None:
        """Why the baseline was not compared, or None."""
        error = (self.baseline or {}).get("error")
        return str(error) if error else None

    def enforce(self) -> None:
        """Raise one :class:`~tflbench.errors.GateError` holding every failure line."""
        if self.failures:
            raise GateError(list(self.failures))


def apply_verdict(doc: dict[str, Any], thresholds: gates.Thresholds | None,
                  baseline_path: str | os.PathLike[str] | None = None,
                  policy: baseline_mod.Policy | None = None, *, strict: bool = True,
                  targets: Sequence[str] | None = None) -> Verdict:
    """Gate ``doc`` against ``thresholds`` and the runtime ``targets``, and compare it with the
    baseline at ``baseline_path`` (if any) under ``policy``; store all of it in ``doc``.

    ``targets`` (e.g. ``["tflite-runtime==2.14"]``): every converted mode must load on every
    covered release of every target (``require_compatible``); they are recorded in
    ``doc["settings"]["targets"]``. ``None`` uses the targets the document already records
    (none: no compatibility gate). ``strict``: a baseline that cannot be read fails the verdict
    (else it is a warning).
    """
    from tflbench.compat.gate import compatibility_checks, record_ops, target_list

    record_ops(doc)
    if targets is None:
        targets = (doc.get("settings") or {}).get("targets") or ()
    targets = target_list(targets, "targets")
    if targets:
        doc.setdefault("settings", {})["targets"] = list(targets)
    results = gates.apply(doc, thresholds)
    compat, compat_warnings = compatibility_checks(doc, targets)
    if compat:
        results = _in_record_order(results, compat)
        doc["gates"] = [r.to_dict() for r in results]
    failures = gates.failure_lines(results)
    warnings: list[str] = list(compat_warnings)
    if compat_warnings:
        stored = list(doc.get("warnings") or [])
        doc["warnings"] = stored + [w for w in compat_warnings if w not in stored]
    comparison: dict[str, Any] | None = None
    if baseline_path is not None:
        try:
            comparison = baseline_mod.apply(doc, baseline_path, policy)
        except TflbenchError as exc:
            comparison = baseline_mod.not_compared(baseline_path, str(exc))
            doc["baseline"] = comparison
            (failures if strict else warnings).append(f"{NOT_COMPARED}: {exc}")
        else:
            failures += baseline_mod.failure_lines(comparison)
        warnings += [str(w) for w in comparison.get("warnings") or []]
    return Verdict(tuple(results), comparison, tuple(failures), tuple(warnings))


def _in_record_order(results: list[gates.CheckResult], extra: list[gates.CheckResult]
                     ) -> list[gates.CheckResult]:
    """``results`` with each of ``extra`` placed after the ``require_conversion`` result of its
    model/mode (both say whether the mode runs), the others at the end."""
    by_key: dict[tuple[str, str], list[gates.CheckResult]] = {}
    for r in extra:
        by_key.setdefault((r.model, r.mode), []).append(r)
    out: list[gates.CheckResult] = []
    for r in results:
        out.append(r)
        if r.name == gates.REQUIRE_CONVERSION:
            out.extend(by_key.pop((r.model, r.mode), []))
    for rest in by_key.values():
        out.extend(rest)
    return out


__all__ = ["NOT_COMPARED", "Verdict", "apply_verdict"]
