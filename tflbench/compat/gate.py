"""The ``require_compatible`` gate: every converted mode must load on every target runtime.

Two steps of the verdict (:func:`tflbench.verdict.apply_verdict`):

* :func:`record_ops` stores the ops of each converted mode's ``.tflite`` in its mode record
  (``ops: [{name, version, count, builtin_code}]``), so the gate, the reports and a later
  ``tflbench ops``-style check work after the conversion cache is gone;
* :func:`compatibility_checks` gates those op lists against the project's ``targets`` and gives
  one :class:`~tflbench.gates.CheckResult` per problem, named ``require_compatible``::

      digits-cnn/dynamic: FULLY_CONNECTED v12 is not supported by tflite-runtime 2.14.0
      (highest: v10) (require_compatible)

  A mode that loads on every covered target release gives one passing result. Coverage gaps
  (a target the runtime table does not cover, custom ops) are warnings, as in
  :mod:`tflbench.compat.check`.

Nothing here needs TensorFlow or a TFLite runtime.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from tflbench.compat.check import _check, resolve_targets
from tflbench.compat.flatbuffer import OpUsage, read_ops
from tflbench.errors import ConfigError, TflbenchError
from tflbench.gates import CheckResult

#: The name of the gate (the ``name`` of its results in ``doc["gates"]``).
REQUIRE_COMPATIBLE = "require_compatible"


def op_records(path: str | os.PathLike[str] | bytes) -> list[dict[str, Any]]:
    """The ``ops`` list of a mode record for the ``.tflite`` at ``path`` (or its bytes).

    Raises :class:`~tflbench.errors.ModelFileError` when the file cannot be read."""
    return [op.to_dict() for op in read_ops(path).ops]


def record_ops(doc: MutableMapping[str, Any], base_dir: str | os.PathLike[str] | None = None
               ) -> None:
    """Store ``ops`` in every converted mode record of ``doc`` that has none and whose
    ``file.path`` (relative paths against ``base_dir``, default the current directory) is a
    readable ``.tflite``. Records whose file is gone or unreadable are left as they are: the
    gate then says it cannot check them."""
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    for model in doc.get("models") or []:
        for rec in model.get("modes") or []:
            if not isinstance(rec, MutableMapping) or rec.get("status") != "ok" \
                    or rec.get("ops") or (rec.get("extra") or {}).get("ops"):
                continue
            path = (rec.get("file") or {}).get("path")
            if not path:
                continue
            p = Path(path)
            p = p if p.is_absolute() else base / p
            if not p.is_file():
                continue
            try:
                rec["ops"] = op_records(p)
            except TflbenchError:
                continue


def target_list(value: Any, where: str) -> tuple[str, ...]:
    """Validated runtime targets from a list of strings; ``where`` names the setting in the
    error (e.g. ``[tool.tflbench] targets``). An empty list means no gate."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or \
            not all(isinstance(v, str) for v in value):
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ConfigError(f"{where}: expected a list of runtime targets such as "
                          f"[\"ai-edge-litert>=2.3\", \"tflite-runtime==2.14\"]. Received: "
                          f"{shown} ({type(value).__name__}).")
    out = []
    for text in value:
        try:
            resolve_targets([text])
        except ConfigError as exc:
            raise ConfigError(f"{where}: {str(exc).rstrip('.')}.") from None
        if text.strip() not in out:
            out.append(text.strip())
    return tuple(out)


def _recorded_ops(rec: Mapping[str, Any]) -> tuple[OpUsage, ...] | str:
    raw = rec.get("ops") or (rec.get("extra") or {}).get("ops")
    if not raw:
        path = (rec.get("file") or {}).get("path")
        where = f"{path} is gone or unreadable" if path else "no .tflite path was recorded"
        return (f"cannot check runtime compatibility: the record has no op list and {where}; "
                "re-run the pipeline")
    try:
        return tuple(OpUsage.from_dict(o) for o in raw)
    except ValueError as exc:
        return f"cannot check runtime compatibility: {exc}"


def compatibility_checks(doc: Mapping[str, Any], targets: Sequence[str]
                         ) -> tuple[list[CheckResult], list[str]]:
    """``(results, warnings)`` of the ``require_compatible`` gate over every converted mode of
    ``doc`` (a failed mode already fails ``require_conversion``). Nothing when ``targets`` is
    empty. Raises :class:`~tflbench.errors.ConfigError` for a malformed target."""
    if not targets:
        return [], []
    resolved = resolve_targets(list(targets))
    limit_text = ", ".join(rt.text for rt in resolved)
    results: list[CheckResult] = []
    warnings: list[str] = []
    for model in doc.get("models") or []:
        for rec in model.get("modes") or []:
            if rec.get("status") != "ok":
                continue
            name, mode = str(model.get("name")), str(rec.get("mode"))
            where = f"{name}/{mode}" + (f"@{rec['device']}" if rec.get("device") else "")
            ops = _recorded_ops(rec)
            if isinstance(ops, str):
                results.append(CheckResult(REQUIRE_COMPATIBLE, name, mode, False, None, True,
                                           f"{where}: {ops} ({REQUIRE_COMPATIBLE})"))
                continue
            verdict = _check(ops, resolved)
            for w in verdict.warnings:
                if w not in warnings:
                    warnings.append(w)
            if verdict.problems:
                results.extend(CheckResult(REQUIRE_COMPATIBLE, name, mode, False, "incompatible",
                                           True, f"{where}: {p} ({REQUIRE_COMPATIBLE})")
                               for p in verdict.problems)
            elif verdict.checked:
                results.append(CheckResult(
                    REQUIRE_COMPATIBLE, name, mode, True, "compatible", True,
                    f"{where}: loads on {', '.join(verdict.checked)} ({REQUIRE_COMPATIBLE})"))
    if not any(True for _ in _covered(resolved)):
        warnings.append(f"targets {limit_text}: no target is covered by the runtime table; "
                        f"{REQUIRE_COMPATIBLE} checked nothing.")
    return results, warnings


def _covered(resolved: Iterable[Any]) -> Iterable[Any]:
    return (r for rt in resolved for r in rt.releases)


__all__ = ["REQUIRE_COMPATIBLE", "compatibility_checks", "op_records", "record_ops",
           "target_list"]
