"""Regressions against a previous results document (usually the last release).

For every (model, mode) present in both documents:

* ``status``: a mode that ran in the baseline must still run.
* ``accuracy``: test accuracy may not drop by more than ``max_accuracy_drop``.
* ``top1_agreement``: agreement with Keras may not drop by more than ``max_agreement_drop``.
* ``latency_p50_us``: the median latency fails only when it grew by more than
  ``max_latency_increase`` (a fraction of the baseline median) **and** a two-sided
  Mann-Whitney U test on the two runs' latency samples (:func:`tflbench.timing.compare_samples`)
  finds the difference significant at ``alpha``. Without samples on both sides the change is
  reported as not tested and does not fail.

Runs from different machines (hostname or CPU model), different runtime versions or different
thread settings produce warnings, not failures. The result is stored in ``doc["baseline"]``::

    {"path": str | None, "created": <baseline's created>, "device": <baseline's device>,
     "warnings": [str, ...], "passed": bool,
     "changes": [{"model", "mode", "metric", "before", "after", "delta", "significant",
                  "p_value", "passed", "line"}, ...],
     "missing": ["model/mode", ...], "new": ["model/mode", ...]}

This module never imports TensorFlow.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tflbench.errors import ConfigError, GateError
from tflbench.timing import compare_samples


@dataclass(frozen=True)
class Policy:
    """How much a release may regress against its baseline."""

    max_accuracy_drop: float = 0.01
    max_agreement_drop: float = 0.01
    max_latency_increase: float = 0.10
    alpha: float = 0.05

    def __post_init__(self) -> None:
        for name in ("max_accuracy_drop", "max_agreement_drop", "max_latency_increase"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ConfigError(f"baseline {name} must be a number >= 0. Received: {v!r}.")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"baseline alpha must be between 0 and 1. "
                              f"Received: {self.alpha!r}.")

    @classmethod
    def from_config(cls, cfg: Any) -> Policy:
        """From a :class:`tflbench.config.BaselineConfig`."""
        return cls(cfg.max_accuracy_drop, cfg.max_agreement_drop, cfg.max_latency_increase,
                   cfg.alpha)


@dataclass(frozen=True)
class Change:
    """One compared metric of one model/mode; truthy when it passes."""

    model: str
    mode: str
    metric: str
    before: float | str | None
    after: float | str | None
    delta: float | None
    significant: bool | None
    p_value: float | None
    passed: bool
    line: str

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "mode": self.mode, "metric": self.metric,
                "before": self.before, "after": self.after, "delta": self.delta,
                "significant": self.significant, "p_value": self.p_value,
                "passed": self.passed, "line": self.line}


def _records(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["name"], r["mode"]): r for m in doc.get("models", []) for r in m.get("modes", [])}


def _get(rec: dict[str, Any], section: str, key: str) -> Any:
    sec = rec.get(section)
    return sec.get(key) if isinstance(sec, dict) else None


def _drop_change(model: str, mode: str, metric: str, label: str, before: Any, after: Any,
                 limit: float, limit_name: str) -> Change | None:
    if before is None or after is None:
        return None
    delta = float(after) - float(before)
    ok = -delta <= limit + 1e-12
    where = f"{model}/{mode}"
    if ok:
        line = f"{where}: {label} {before:.3f} -> {after:.3f} ({delta:+.3f})"
    else:
        line = (f"{where}: {label} {before:.3f} -> {after:.3f} ({delta:+.3f}), "
                f"drop {-delta:.3f} > {limit:.3f} ({limit_name})")
    return Change(model, mode, metric, before, after, delta, None, None, ok, line)


def _latency_change(model: str, mode: str, before: dict[str, Any], after: dict[str, Any],
                    policy: Policy) -> Change | None:
    b, a = before.get("median"), after.get("median")
    if b is None or a is None:
        return None
    where = f"{model}/{mode}"
    delta = float(a) - float(b)
    growth = (a / b - 1.0) if b > 0 else (0.0 if a == b else math.inf)
    bs, as_ = before.get("samples") or [], after.get("samples") or []
    head = f"{where}: latency p50 {b:.1f} us -> {a:.1f} us ({growth * 100:+.1f}%"
    if not bs or not as_:
        return Change(model, mode, "latency_p50_us", b, a, delta, None, None, True,
                      f"{head}, not tested: latency samples missing in "
                      f"{'the baseline' if not bs else 'this run'})")
    cmp = compare_samples(bs, as_, alpha=policy.alpha)
    sig = bool(cmp.significant)
    too_slow = growth > policy.max_latency_increase
    ok = not (too_slow and sig)
    verdict = f"p={cmp.p_value:.3g} {'significant' if sig else 'not significant'}"
    if ok:
        line = f"{head}, {verdict})"
    else:
        line = (f"{head}, {verdict}) > +{policy.max_latency_increase * 100:.0f}% "
                "(max_latency_increase)")
    return Change(model, mode, "latency_p50_us", b, a, delta, sig, cmp.p_value, ok, line)


def _environment_warnings(doc: dict[str, Any], base: dict[str, Any]) -> list[str]:
    warnings = []
    env, benv = doc.get("environment") or {}, base.get("environment") or {}
    for key, what in (("hostname", "machine"), ("cpu_model", "CPU")):
        if env.get(key) != benv.get(key):
            warnings.append(
                f"baseline ran on a different {what} ({key} {benv.get(key)!r}, this run "
                f"{env.get(key)!r}): latency changes may reflect the machine, not the model")
    rt, brt = env.get("runtime") or {}, benv.get("runtime") or {}
    if (rt.get("name"), rt.get("version")) != (brt.get("name"), brt.get("version")):
        warnings.append(
            f"baseline used runtime {brt.get('name')} {brt.get('version')}, this run "
            f"{rt.get('name')} {rt.get('version')}: changes may come from the runtime")
    for key in ("tensorflow", "keras"):
        if env.get(key) != benv.get(key):
            warnings.append(f"baseline converted with {key} {benv.get(key)}, this run "
                            f"{env.get(key)}")
    s, bs = doc.get("settings") or {}, base.get("settings") or {}
    for key in ("num_threads", "xnnpack"):
        if s.get(key) != bs.get(key):
            warnings.append(f"baseline measured with {key}={bs.get(key)!r}, this run "
                            f"{key}={s.get(key)!r}: latencies are not comparable")
    return warnings


def compare(doc: dict[str, Any], base: dict[str, Any], policy: Policy | None = None,
            path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The ``doc["baseline"]`` object for ``doc`` against ``base`` (see the module docstring)."""
    policy = policy or Policy()
    now, before = _records(doc), _records(base)
    changes: list[Change] = []
    warnings = _environment_warnings(doc, base)
    bmodels = {m["name"]: m for m in base.get("models", [])}
    for m in doc.get("models", []):
        other = bmodels.get(m["name"])
        if other is None:
            continue
        fa = (m.get("dataset") or {}).get("fingerprint")
        fb = (other.get("dataset") or {}).get("fingerprint")
        if fa and fb and fa != fb:
            warnings.append(f"{m['name']}: the test data differs from the baseline's "
                            "(dataset fingerprint); accuracy changes are not like for like")
    for key, rec in now.items():
        brec = before.get(key)
        if brec is None:
            continue
        model, mode = key
        if brec.get("status") == "ok" and rec.get("status") != "ok":
            changes.append(Change(
                model, mode, "status", "ok", rec.get("status"), None, None, None, False,
                f"{model}/{mode}: ran in the baseline but now failed at stage "
                f"{rec.get('stage') or '?'}: {rec.get('error') or 'no error message'}"))
            continue
        if rec.get("status") != "ok" or brec.get("status") != "ok":
            continue
        for c in (
            _drop_change(model, mode, "accuracy", "accuracy", _get(brec, "accuracy", "accuracy"),
                         _get(rec, "accuracy", "accuracy"), policy.max_accuracy_drop,
                         "max_accuracy_drop"),
            _drop_change(model, mode, "top1_agreement", "top-1 agreement",
                         _get(brec, "agreement", "top1"), _get(rec, "agreement", "top1"),
                         policy.max_agreement_drop, "max_agreement_drop"),
            _latency_change(model, mode, brec.get("latency") or {}, rec.get("latency") or {},
                            policy) if rec.get("latency") and brec.get("latency") else None,
        ):
            if c is not None:
                changes.append(c)
    missing = [f"{mo}/{md}" for (mo, md) in before if (mo, md) not in now]
    new = [f"{mo}/{md}" for (mo, md) in now if (mo, md) not in before]
    if missing:
        warnings.append(f"in the baseline but not in this run: {', '.join(missing)}")
    return {
        "path": str(path) if path is not None else None,
        "created": base.get("created"),
        "device": base.get("device"),
        "policy": {"max_accuracy_drop": policy.max_accuracy_drop,
                   "max_agreement_drop": policy.max_agreement_drop,
                   "max_latency_increase": policy.max_latency_increase,
                   "alpha": policy.alpha,
                   "test": "Mann-Whitney U (two-sided, normal approx.)"},
        "warnings": warnings,
        "passed": all(changes),
        "changes": [c.to_dict() for c in changes],
        "missing": missing,
        "new": new,
    }


def apply(doc: dict[str, Any], path: str | os.PathLike[str],
          policy: Policy | None = None) -> dict[str, Any]:
    """Load the baseline at ``path``, compare, and store the result in ``doc["baseline"]``."""
    from tflbench import results

    base = results.load(Path(path))
    doc["baseline"] = compare(doc, base, policy, path)
    return doc["baseline"]


def failure_lines(baseline: dict[str, Any] | None,
                  only: Iterable[tuple[str, str]] | None = None) -> list[str]:
    """Failure lines of a ``doc["baseline"]`` object, optionally only for some (model, mode)."""
    if not baseline:
        return []
    keep = set(only) if only is not None else None
    return [str(c.get("line")) for c in baseline.get("changes") or []
            if isinstance(c, dict) and c.get("passed", True) is False
            and (keep is None or (c.get("model"), c.get("mode")) in keep)]


def enforce(baseline: dict[str, Any] | None) -> None:
    lines = failure_lines(baseline)
    if lines:
        raise GateError(lines)
