"""Regressions against a previous results document (usually the last release).

Records are keyed by ``(model, mode, device)``: a record's device is its ``device`` key in a
merged document (``tflbench report A.json B.json``), else the document's ``device``. Every
device of this run is compared with the same device of the baseline, so a merged multi-device
document works as a baseline and host latency is never compared with a device's. A device whose
label is not in the baseline is compared with the one baseline device left unmatched, when
exactly one is left on each side (a CI runner's hostname changes from release to release);
otherwise it is reported as new, with a warning.

For every ``(model, mode, device)`` present on both sides:

* ``status``: a mode that ran in the baseline must still run.
* ``accuracy``: test accuracy may not drop by more than ``max_accuracy_drop``.
* ``top1_agreement``: agreement with Keras may not drop by more than ``max_agreement_drop``.
* ``latency_p50_us``: the median latency fails only when it grew by more than
  ``max_latency_increase`` (a fraction of the baseline median) **and** a two-sided
  Mann-Whitney U test on the two runs' latency samples (:func:`tflbench.timing.compare_samples`)
  finds the difference significant at ``alpha``. Without samples on both sides the change is
  reported as not tested and does not fail. ``max_latency_increase = None`` (``false`` in the
  configuration) records the change without gating it.
* ``size_bytes``: the ``.tflite`` file size, recorded for the reports; it never fails.

Runs from different machines (hostname or CPU model), different runtime versions or different
thread settings produce warnings, not failures; environments are compared device by device. The
result is stored in ``doc["baseline"]`` (``docs/results-schema.md``, section Baseline)::

    {"path": str | None, "created": <baseline's created>, "device": <baseline's devices>,
     "policy": {...}, "warnings": [str, ...], "passed": bool,
     "changes": [{"model", "mode", "device", "metric", "before", "after", "delta",
                  "significant", "p_value", "passed", "line"}, ...],
     "missing": ["model/mode", ...], "new": ["model/mode", ...]}

In a multi-device run lines and entries name the device as ``model/mode@device``. A baseline
that could not be read is stored by :func:`not_compared` as ``{"path", "error", ...}``.

This module never imports TensorFlow.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tflbench.errors import ConfigError, GateError
from tflbench.gates import _fmt_pair
from tflbench.timing import compare_samples

#: The metric of the latency comparison (its own test and marker in the suites).
LATENCY_METRIC = "latency_p50_us"
#: The device label of a document that names none.
DEFAULT_DEVICE = "host"


@dataclass(frozen=True)
class Policy:
    """How much a release may regress against its baseline.

    ``max_latency_increase=None`` turns the latency check off (the change is still recorded).
    """

    max_accuracy_drop: float = 0.01
    max_agreement_drop: float = 0.01
    max_latency_increase: float | None = 0.10
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if self.max_latency_increase is False:
            object.__setattr__(self, "max_latency_increase", None)
        for name in ("max_accuracy_drop", "max_agreement_drop", "max_latency_increase"):
            v = getattr(self, name)
            if v is None and name == "max_latency_increase":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ConfigError(f"baseline {name} must be a number >= 0. Received: {v!r}.")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"baseline alpha must be between 0 and 1. "
                              f"Received: {self.alpha!r}.")

    @property
    def gates_latency(self) -> bool:
        return self.max_latency_increase is not None

    @classmethod
    def from_config(cls, cfg: Any) -> Policy:
        """From a :class:`tflbench.config.BaselineConfig`."""
        return cls(cfg.max_accuracy_drop, cfg.max_agreement_drop, cfg.max_latency_increase,
                   cfg.alpha)

    def to_dict(self) -> dict[str, Any]:
        return {"max_accuracy_drop": self.max_accuracy_drop,
                "max_agreement_drop": self.max_agreement_drop,
                "max_latency_increase": self.max_latency_increase,
                "alpha": self.alpha,
                "test": "Mann-Whitney U (two-sided, normal approx.)"}


@dataclass(frozen=True)
class Change:
    """One compared metric of one model/mode/device; truthy when it passes."""

    model: str
    mode: str
    device: str
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
        return {"model": self.model, "mode": self.mode, "device": self.device,
                "metric": self.metric, "before": self.before, "after": self.after,
                "delta": self.delta, "significant": self.significant,
                "p_value": self.p_value, "passed": self.passed, "line": self.line}


# ---------------------------------------------------------------------------------- devices


def record_device(doc: dict[str, Any], rec: dict[str, Any]) -> str:
    """The device of a mode record: its own ``device`` (merged documents), else the
    document's."""
    dev = rec.get("device")
    if isinstance(dev, str) and dev:
        return dev
    return str(doc.get("device") or DEFAULT_DEVICE)


def devices(doc: dict[str, Any]) -> list[str]:
    """Every device of ``doc`` that has mode records, in document order."""
    seen: list[str] = []
    for m in doc.get("models", []):
        for r in m.get("modes", []):
            d = record_device(doc, r)
            if d not in seen:
                seen.append(d)
    return seen or [str(doc.get("device") or DEFAULT_DEVICE)]


def device_view(doc: dict[str, Any], device: str) -> dict[str, Any]:
    """The part of ``doc`` measured on ``device``, with that device's environment and settings
    (from ``doc["devices"]`` in a merged document)."""
    view = {k: v for k, v in doc.items() if k not in ("models", "devices", "merged")}
    for entry in doc.get("devices") or []:
        if isinstance(entry, dict) and entry.get("device") == device:
            view["environment"] = entry.get("environment") or {}
            view["settings"] = entry.get("settings") or {}
    view["device"] = device
    view["models"] = []
    for m in doc.get("models", []):
        recs = [r for r in m.get("modes", []) if record_device(doc, r) == device]
        if recs:
            view["models"].append({**{k: v for k, v in m.items() if k != "modes"},
                                   "modes": recs})
    return view


def pair_devices(now: list[str], before: list[str]) -> list[tuple[str, str | None]]:
    """``(device, baseline device or None)`` for every device of this run: the same label,
    else the only unmatched baseline device when exactly one is unmatched on each side."""
    left_now = [d for d in now if d not in before]
    left_before = [d for d in before if d not in now]
    fallback = left_before[0] if len(left_now) == 1 and len(left_before) == 1 else None
    return [(d, d if d in before else fallback) for d in now]


# -------------------------------------------------------------------------------- the checks


def _records(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["name"], r["mode"]): r for m in doc.get("models", []) for r in m.get("modes", [])}


def _get(rec: dict[str, Any], section: str, key: str) -> Any:
    sec = rec.get(section)
    return sec.get(key) if isinstance(sec, dict) else None


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def _drop_change(where: str, key: tuple[str, str, str], metric: str, label: str, before: Any,
                 after: Any, limit: float, limit_name: str) -> Change | None:
    if before is None or after is None:
        return None
    delta = float(after) - float(before)
    ok = -delta <= limit + 1e-12
    if ok:
        line = f"{where}: {label} {before:.3f} -> {after:.3f} ({delta:+.3f})"
    else:
        drop, lim = _fmt_pair(-delta, float(limit), 3, "")
        d = max(3, _decimals(drop))
        line = (f"{where}: {label} {before:.{d}f} -> {after:.{d}f} ({delta:+.{d}f}), "
                f"drop {drop} > {lim} ({limit_name})")
    return Change(*key, metric, before, after, delta, None, None, ok, line)


def _latency_change(where: str, key: tuple[str, str, str], before: dict[str, Any],
                    after: dict[str, Any], policy: Policy) -> Change | None:
    b, a = before.get("median"), after.get("median")
    if b is None or a is None:
        return None
    delta = float(a) - float(b)
    growth = (a / b - 1.0) if b > 0 else (0.0 if a == b else math.inf)
    bs, as_ = before.get("samples") or [], after.get("samples") or []
    head = f"{where}: latency p50 {b:.1f} us -> {a:.1f} us"
    off = "" if policy.gates_latency else "; not gated (max_latency_increase = false)"
    if not bs or not as_:
        return Change(*key, LATENCY_METRIC, b, a, delta, None, None, True,
                      f"{head} ({growth * 100:+.1f}%, not tested: latency samples missing in "
                      f"{'the baseline' if not bs else 'this run'}{off})")
    cmp = compare_samples(bs, as_, alpha=policy.alpha)
    sig = bool(cmp.significant)
    limit = policy.max_latency_increase
    ok = limit is None or not (growth > limit and sig)
    verdict = f"p={cmp.p_value:.3g} {'significant' if sig else 'not significant'}"
    if ok:
        line = f"{head} ({growth * 100:+.1f}%, {verdict}{off})"
    else:
        assert limit is not None
        g, lim = _fmt_pair(growth * 100, limit * 100, 1, "")
        line = f"{head} (+{g}%, {verdict}) > +{lim}% (max_latency_increase)"
    return Change(*key, LATENCY_METRIC, b, a, delta, sig, cmp.p_value, ok, line)


def _size_change(where: str, key: tuple[str, str, str], before: Any, after: Any
                 ) -> Change | None:
    if not isinstance(before, int) or not isinstance(after, int):
        return None
    delta = after - before
    return Change(*key, "size_bytes", before, after, delta, None, None, True,
                  f"{where}: size {before} -> {after} bytes ({delta:+d})")


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


def _dataset_warnings(doc: dict[str, Any], base: dict[str, Any]) -> list[str]:
    warnings = []
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
    return warnings


def _compare_records(now: dict[str, Any], before: dict[str, Any], device: str, tag: str,
                     policy: Policy) -> list[Change]:
    """Every change of one device's records (``tag`` "" or "@device" for the lines)."""
    changes: list[Change] = []
    brecs = _records(before)
    for (model, mode), rec in _records(now).items():
        brec = brecs.get((model, mode))
        if brec is None:
            continue
        where, key = f"{model}/{mode}{tag}", (model, mode, device)
        if brec.get("status") == "ok" and rec.get("status") != "ok":
            changes.append(Change(
                *key, "status", "ok", rec.get("status"), None, None, None, False,
                f"{where}: ran in the baseline but now failed at stage "
                f"{rec.get('stage') or '?'}: {rec.get('error') or 'no error message'}"))
            continue
        if rec.get("status") != "ok" or brec.get("status") != "ok":
            continue
        for c in (
            _drop_change(where, key, "accuracy", "accuracy", _get(brec, "accuracy", "accuracy"),
                         _get(rec, "accuracy", "accuracy"), policy.max_accuracy_drop,
                         "max_accuracy_drop"),
            _drop_change(where, key, "top1_agreement", "top-1 agreement",
                         _get(brec, "agreement", "top1"), _get(rec, "agreement", "top1"),
                         policy.max_agreement_drop, "max_agreement_drop"),
            _latency_change(where, key, brec.get("latency") or {}, rec.get("latency") or {},
                            policy) if rec.get("latency") and brec.get("latency") else None,
            _size_change(where, key, _get(brec, "file", "size_bytes"),
                         _get(rec, "file", "size_bytes")),
        ):
            if c is not None:
                changes.append(c)
    return changes


def compare(doc: dict[str, Any], base: dict[str, Any], policy: Policy | None = None,
            path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The ``doc["baseline"]`` object for ``doc`` against ``base`` (see the module docstring)."""
    policy = policy or Policy()
    now_devices, base_devices = devices(doc), devices(base)
    multi = len(now_devices) > 1
    single = not multi and len(base_devices) == 1
    changes: list[Change] = []
    warnings = _dataset_warnings(doc, base)
    missing: list[str] = []
    new: list[str] = []
    matched: set[str] = set()
    for dev, bdev in pair_devices(now_devices, base_devices):
        tag = f"@{dev}" if multi else ""
        view = device_view(doc, dev)
        if bdev is None:
            new += [f"{m['name']}/{r['mode']}{tag}" for m in view["models"] for r in m["modes"]]
            warnings.append(f"no baseline measurement for device {dev!r} (the baseline has "
                            f"{', '.join(map(repr, base_devices))}); its records are new")
            continue
        matched.add(bdev)
        bview = device_view(base, bdev)
        prefix = "" if single else f"{dev}: "
        if bdev != dev and not single:
            warnings.append(f"{dev}: compared with the baseline's device {bdev!r} (the only "
                            "device left unmatched)")
        warnings += [f"{prefix}{w}" for w in _environment_warnings(view, bview)]
        changes += _compare_records(view, bview, dev, tag, policy)
        now, before = _records(view), _records(bview)
        missing += [f"{mo}/{md}{tag}" for (mo, md) in before if (mo, md) not in now]
        new += [f"{mo}/{md}{tag}" for (mo, md) in now if (mo, md) not in before]
    for bdev in base_devices:
        if bdev not in matched:
            warnings.append(f"baseline device {bdev!r} is not in this run; not compared")
    if missing:
        warnings.append(f"in the baseline but not in this run: {', '.join(missing)}")
    return {
        "path": str(path) if path is not None else None,
        "created": base.get("created"),
        "device": ", ".join(base_devices),
        "policy": policy.to_dict(),
        "warnings": warnings,
        "passed": all(changes),
        "changes": [c.to_dict() for c in changes],
        "missing": missing,
        "new": new,
    }


def not_compared(path: str | os.PathLike[str], error: str) -> dict[str, Any]:
    """The ``doc["baseline"]`` object of a baseline that could not be read or compared."""
    return {"path": str(path), "error": error, "warnings": [], "changes": [], "passed": False,
            "missing": [], "new": []}


def apply(doc: dict[str, Any], path: str | os.PathLike[str],
          policy: Policy | None = None) -> dict[str, Any]:
    """Load the baseline at ``path``, compare, and store the result in ``doc["baseline"]``.

    Raises :class:`~tflbench.errors.ResultsError` when the file cannot be read.
    """
    from tflbench import results

    base = results.load(Path(path))
    doc["baseline"] = compare(doc, base, policy, path)
    return doc["baseline"]


def failure_lines(baseline: dict[str, Any] | None,
                  only: Iterable[tuple[str, str]] | None = None,
                  metrics: Collection[str] | None = None,
                  exclude: Collection[str] = ()) -> list[str]:
    """Failure lines of a ``doc["baseline"]`` object: optionally only for some (model, mode)
    pairs, only some metrics, or without some metrics."""
    if not baseline:
        return []
    keep = set(only) if only is not None else None
    return [str(c.get("line")) for c in baseline.get("changes") or []
            if isinstance(c, dict) and c.get("passed", True) is False
            and (keep is None or (c.get("model"), c.get("mode")) in keep)
            and (metrics is None or c.get("metric") in metrics)
            and c.get("metric") not in exclude]


def enforce(baseline: dict[str, Any] | None) -> None:
    lines = failure_lines(baseline)
    if lines:
        raise GateError(lines)
