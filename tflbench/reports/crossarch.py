"""Cross-architecture verdicts: where two machines' results for the same bundle differ.

A merged document (:func:`tflbench.reports.merge.merge`) of the same bundle measured on an x86
host and on an aarch64 device (or emulated aarch64, see ``scripts/aarch64-measure.sh``) holds,
per model and mode, one record per device. The float modes usually agree to the last sample;
integer kernels differ between architectures, so an int8 model can flip a few samples on one
machine and not on the other. :func:`compare` turns the merged document into one
:class:`ArchDiff` per (model, mode, device) against a reference device:

* top-1 agreement with Keras and accuracy on both, with their 95% intervals and sample counts;
* the samples whose top-1 left Keras on one architecture only (indices are rows of the
  bundle's ``inputs.npy``), the paired change of agreement (Newcombe interval) and its exact
  McNemar test on those samples;
* whether the comparison is valid at all: both records ``ok``, the same number of rows and the
  same ``.tflite`` (SHA-256).

:func:`gate_devices` runs the release gates on every device's records, so a merged report says
which device failed (:class:`DeviceVerdict`). Emulated latency (``latency.emulated``) is never a
figure here: a device measured under an emulator is marked as such, and
:func:`without_emulated_latency` is what the Markdown and HTML reports render from, so an
emulator's speed never appears as a latency figure.

Renderers: :func:`text_lines` (terminal), :func:`markdown` and :func:`html` (snippets a report
embeds). Everything reads only the merged document; nothing here imports TensorFlow.
"""

from __future__ import annotations

import html as html_mod
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tflbench import gates, stats
from tflbench.errors import ResultsError

#: Sample indices listed per cell before "+N more" (the full lists are in :meth:`to_dict`).
SHOWN_SAMPLES = 12
DASH = "\u2014"
MINUS = "\u2212"


# ----------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Side:
    """One device's record of one model/mode, as the comparison needs it."""

    device: str
    status: str  # "ok", "failed" or "missing"
    n: int = 0
    agreement: float | None = None
    agreement_ci95: tuple[float, float] | None = None
    accuracy: float | None = None
    accuracy_ci95: tuple[float, float] | None = None
    flipped: tuple[int, ...] = ()
    sha256: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "status": self.status, "n": self.n,
                "agreement": self.agreement, "agreement_ci95": _list(self.agreement_ci95),
                "accuracy": self.accuracy, "accuracy_ci95": _list(self.accuracy_ci95),
                "flipped": list(self.flipped), "sha256": self.sha256, "error": self.error}


@dataclass(frozen=True)
class ArchDiff:
    """One model/mode on ``device`` against the same model/mode on ``reference``.

    Truthy when the two agree exactly: the same samples flipped and the same accuracy.
    """

    model: str
    mode: str
    reference: Side
    device: Side
    #: Why the two cannot be compared sample by sample (None when they can).
    not_comparable: str | None = None
    #: Samples that left Keras's top-1 on the reference only / on the device only.
    only_reference: tuple[int, ...] = ()
    only_device: tuple[int, ...] = ()
    #: Device minus reference agreement, its paired 95% interval and exact McNemar p.
    agreement_delta: float | None = None
    agreement_delta_ci95: tuple[float, float] | None = None
    mcnemar_p: float | None = None
    #: Device minus reference accuracy (same rows, same labels).
    accuracy_delta: float | None = None

    @property
    def comparable(self) -> bool:
        return self.not_comparable is None

    @property
    def identical(self) -> bool:
        return (self.comparable and not self.only_reference and not self.only_device
                and self.accuracy_delta == 0.0)

    def __bool__(self) -> bool:
        return self.identical

    @property
    def flipped_differently(self) -> int:
        """Samples flipped on one architecture and not on the other."""
        return len(self.only_reference) + len(self.only_device)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "mode": self.mode, "identical": self.identical,
                "not_comparable": self.not_comparable,
                "reference": self.reference.to_dict(), "device": self.device.to_dict(),
                "only_reference": list(self.only_reference),
                "only_device": list(self.only_device),
                "agreement_delta": self.agreement_delta,
                "agreement_delta_ci95": _list(self.agreement_delta_ci95),
                "mcnemar_p": self.mcnemar_p, "accuracy_delta": self.accuracy_delta}


@dataclass(frozen=True)
class DeviceVerdict:
    """The release gates on one device's records of a merged document; truthy on pass."""

    device: str
    checked: int
    failures: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "checked": self.checked, "passed": self.passed,
                "failures": list(self.failures)}


@dataclass(frozen=True)
class DeviceInfo:
    """Who measured: the device label, its machine and whether it ran under an emulator."""

    device: str
    machine: str | None = None
    emulated: bool = False
    emulator: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "machine": self.machine, "emulated": self.emulated,
                "emulator": self.emulator}


@dataclass(frozen=True)
class CrossArch:
    """Every cross-architecture difference of a merged document; truthy when none."""

    reference: str
    devices: tuple[DeviceInfo, ...]
    diffs: tuple[ArchDiff, ...]
    verdicts: tuple[DeviceVerdict, ...] = ()
    notes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return not self.differing

    @property
    def compared(self) -> tuple[ArchDiff, ...]:
        """The pairs compared sample by sample."""
        return tuple(d for d in self.diffs if d.comparable)

    @property
    def differing(self) -> tuple[ArchDiff, ...]:
        """Compared pairs whose flipped samples or accuracy differ."""
        return tuple(d for d in self.compared if not d.identical)

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "devices": [d.to_dict() for d in self.devices],
                "diffs": [d.to_dict() for d in self.diffs],
                "verdicts": [v.to_dict() for v in self.verdicts], "notes": list(self.notes)}


def _list(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [pair[0], pair[1]]


# -------------------------------------------------------------------------------- comparison


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = _num(value[0]), _num(value[1])
        if lo is not None and hi is not None:
            return lo, hi
    return None


def _side(device: str, rec: Mapping[str, Any] | None) -> Side:
    if rec is None:
        return Side(device=device, status="missing")
    agr, acc = _obj(rec.get("agreement")), _obj(rec.get("accuracy"))
    n = agr.get("n")
    flipped = agr.get("flipped") or []
    return Side(
        device=device,
        status=str(rec.get("status") or "ok"),
        n=int(n) if isinstance(n, int) and not isinstance(n, bool) else 0,
        agreement=_num(agr.get("top1")),
        agreement_ci95=_pair(agr.get("top1_ci95")),
        accuracy=_num(acc.get("accuracy")),
        accuracy_ci95=_pair(acc.get("ci95")),
        flipped=tuple(sorted({int(i) for i in flipped if isinstance(i, int)})),
        sha256=_obj(rec.get("file")).get("sha256"),
        error=str(rec["error"]) if rec.get("error") else None,
    )


def _why_not(ref: Side, dev: Side) -> str | None:
    for side in (ref, dev):
        if side.status == "missing":
            return f"not measured on {side.device}"
        if side.status != "ok":
            return f"failed on {side.device}" + (f": {side.error}" if side.error else "")
    if ref.agreement is None or dev.agreement is None:
        return "agreement not recorded on both"
    if not ref.n or not dev.n:
        return "the number of compared samples is not recorded"
    if ref.n != dev.n:
        return (f"different samples: {ref.n} on {ref.device}, {dev.n} on {dev.device} "
                "(compare measurements of the same bundle)")
    if ref.sha256 and dev.sha256 and ref.sha256 != dev.sha256:
        return f"different .tflite files (sha256 {ref.sha256[:12]} vs {dev.sha256[:12]})"
    return None


def diff_sides(model: str, mode: str, ref: Side, dev: Side) -> ArchDiff:
    """Compare one model/mode of two devices (pure; see :class:`ArchDiff`)."""
    why = _why_not(ref, dev)
    if why is not None:
        return ArchDiff(model, mode, ref, dev, not_comparable=why)
    n = ref.n
    on_ref, on_dev = set(ref.flipped), set(dev.flipped)
    only_ref = tuple(sorted(on_ref - on_dev))
    only_dev = tuple(sorted(on_dev - on_ref))
    both = len(on_ref & on_dev)
    # Agreeing with Keras is "correct": the reference is the paired table's reference.
    table = stats.PairedTable(a=max(n - len(on_ref | on_dev), 0), b=len(only_dev),
                              c=len(only_ref), d=both)
    acc_delta = None
    if ref.accuracy is not None and dev.accuracy is not None:
        # Accuracies are k / n on the same rows: round away float noise to whole samples.
        acc_delta = round((dev.accuracy - ref.accuracy) * n) / n
    return ArchDiff(
        model, mode, ref, dev,
        only_reference=only_ref, only_device=only_dev,
        agreement_delta=table.delta,
        agreement_delta_ci95=stats.paired_difference_interval(table),
        mcnemar_p=stats.mcnemar_exact_p(table.b, table.c),
        accuracy_delta=acc_delta,
    )


def device_infos(doc: Mapping[str, Any]) -> tuple[DeviceInfo, ...]:
    """The devices of a merged document, in order (a single document is one device)."""
    entries = doc.get("devices")
    if not isinstance(entries, list) or not entries:
        entries = [{"device": doc.get("device") or "this device",
                    "environment": doc.get("environment")}]
    out = []
    for e in entries:
        env = _obj(_obj(e).get("environment"))
        out.append(DeviceInfo(device=str(_obj(e).get("device")), machine=env.get("machine"),
                              emulated=bool(env.get("emulated")),
                              emulator=env.get("emulator") or None))
    return tuple(out)


def _reference_device(devices: Sequence[DeviceInfo], wanted: str | None) -> str:
    labels = [d.device for d in devices]
    if wanted is not None:
        if wanted not in labels:
            raise ResultsError(f"Unknown reference device. Received: {wanted!r}. The merged "
                               f"document holds: {', '.join(labels)}.")
        return wanted
    native = [d.device for d in devices if not d.emulated]
    return native[0] if native else labels[0]


def compare(doc: Mapping[str, Any], reference: str | None = None) -> CrossArch:
    """Every (model, mode, device) of a merged document against ``reference`` (default: the
    first device not run under an emulator, else the first device)."""
    devices = device_infos(doc)
    ref_label = _reference_device(devices, reference)
    single = not isinstance(doc.get("devices"), list)
    diffs: list[ArchDiff] = []
    for model in doc.get("models") or []:
        name = str(_obj(model).get("name"))
        by_key: dict[tuple[str, str], Mapping[str, Any]] = {}
        mode_order: list[str] = []
        for rec in _obj(model).get("modes") or []:
            rec = _obj(rec)
            mode = str(rec.get("mode"))
            label = ref_label if single else str(rec.get("device"))
            by_key.setdefault((mode, label), rec)
            if mode not in mode_order:
                mode_order.append(mode)
        other_data = any(str(w).startswith(f"{name}: dataset fingerprints differ")
                         for w in _obj(doc.get("merged")).get("warnings") or [])
        for mode in mode_order:
            ref = _side(ref_label, by_key.get((mode, ref_label)))
            for d in devices:
                if d.device == ref_label:
                    continue
                diff = diff_sides(name, mode, ref, _side(d.device, by_key.get((mode, d.device))))
                if other_data and diff.comparable:
                    diff = ArchDiff(name, mode, diff.reference, diff.device,
                                    not_comparable="different data (dataset fingerprints "
                                                   "differ)")
                diffs.append(diff)
    notes: list[str] = []
    for d in devices:
        if d.emulated:
            notes.append(f"{d.device} ran under an emulator ({d.emulator or 'emulated'}): its "
                         "agreement and accuracy are exact, its latency is the emulator's and "
                         "is neither shown nor gated.")
    if diffs:
        notes.append("Sample numbers are rows of the bundle's inputs.npy.")
    return CrossArch(reference=ref_label, devices=devices, diffs=tuple(diffs),
                     verdicts=verdicts(doc), notes=tuple(notes))


# ---------------------------------------------------------------------------- emulated latency

#: The figures of a latency record (or sweep entry) that an emulated one does not show; how it
#: was measured (runs, threads, XNNPACK, ``emulated``) stays.
_FIGURES = ("min", "max", "median", "p90", "p99", "mean", "stdev", "iqr", "init_us",
            "first_invoke_us")


def _hidden(latency: Any) -> Any:
    if isinstance(latency, Mapping) and latency.get("emulated"):
        return {k: (None if k in _FIGURES else v) for k, v in latency.items()
                if k != "samples"}
    return latency


def without_emulated_latency(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` whose latency records marked ``emulated`` hold no figures (statistics
    null, samples dropped), so a renderer shows a dash where an emulator's speed would be."""
    models = []
    for m in doc.get("models") or []:
        m = _obj(m)
        modes = []
        for rec in m.get("modes") or []:
            rec = dict(_obj(rec))
            for key in ("latency", "latency_e2e"):
                if key in rec:
                    rec[key] = _hidden(rec[key])
            if isinstance(rec.get("latency_sweep"), list):
                rec["latency_sweep"] = [_hidden(e) for e in rec["latency_sweep"]]
            modes.append(rec)
        models.append({**m, "modes": modes})
    return {**doc, "models": models}


def applies(doc: Mapping[str, Any]) -> bool:
    """Whether a report of ``doc`` shows the cross-architecture section: a merged document in
    which at least one model/mode pair of two devices can be compared sample by sample (the
    usual host results + device results of a capped bundle cannot: different samples)."""
    entries = doc.get("devices")
    if not isinstance(entries, list) or len(entries) < 2:
        return False
    return bool(compare(doc).compared)


# ------------------------------------------------------------------------------------- gates


def _device_subset(doc: Mapping[str, Any], device: str) -> dict[str, Any]:
    models = []
    for m in doc.get("models") or []:
        m = _obj(m)
        models.append({**m, "modes": [r for r in m.get("modes") or []
                                      if _obj(r).get("device") == device]})
    return {**doc, "models": models}


def gate_devices(doc: Mapping[str, Any], thresholds: gates.Thresholds | None = None
                 ) -> list[dict[str, Any]]:
    """The gates of every device of a merged document, as ``doc["gates"]`` entries that also
    name their ``device`` (the lines read ``model/mode@device: ...``)."""
    out: list[dict[str, Any]] = []
    for info in device_infos(doc):
        sub = _device_subset(doc, info.device) if isinstance(doc.get("devices"), list) \
            else dict(doc)
        for result in gates.evaluate(sub, thresholds):
            out.append({**result.to_dict(), "device": info.device})
    return out


def verdicts(doc: Mapping[str, Any]) -> tuple[DeviceVerdict, ...]:
    """One :class:`DeviceVerdict` per device from ``doc["gates"]`` (empty when not gated).

    Entries name their device (:func:`gate_devices`); older entries are attributed by the
    ``@device:`` in their line."""
    entries = [_obj(g) for g in doc.get("gates") or []]
    if not entries:
        return ()
    out = []
    for info in device_infos(doc):
        mine = [g for g in entries if g.get("device") == info.device
                or (g.get("device") is None and f"@{info.device}:" in str(g.get("line")))]
        out.append(DeviceVerdict(device=info.device, checked=len(mine),
                                 failures=tuple(gates.failure_lines(dict(g) for g in mine))))
    return tuple(out)


# ------------------------------------------------------------------------------- formatting


def _pct(x: float | None, digits: int = 2) -> str:
    return DASH if x is None else f"{100.0 * x:.{digits}f}%"


def _pp(x: float | None, digits: int = 2) -> str:
    if x is None:
        return DASH
    v = round(100.0 * x, digits)
    if v == 0:
        return f"{0:.{digits}f} pp"
    return ("+" if v > 0 else MINUS) + f"{abs(v):.{digits}f} pp"


def _ci(pair: tuple[float, float] | None, signed: bool = False) -> str:
    if pair is None:
        return ""
    lo, hi = (round(100.0 * v, 2) for v in pair)
    if signed:
        return "[" + ", ".join((MINUS if v < 0 else "") + f"{abs(v):.2f}" for v in (lo, hi)) + "]"
    return f"[{lo:.2f}, {hi:.2f}]"


def _p(p: float | None) -> str:
    if p is None:
        return DASH
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def samples_text(indices: Iterable[int], shown: int = SHOWN_SAMPLES) -> str:
    """``3, 17, 40 (+5 more)``; a dash when empty."""
    items = list(indices)
    if not items:
        return DASH
    text = ", ".join(str(i) for i in items[:shown])
    return text + (f" (+{len(items) - shown} more)" if len(items) > shown else "")


def _state(d: ArchDiff) -> str:
    if not d.comparable:
        return f"not compared: {d.not_comparable}"
    if d.identical:
        return "identical"
    if not d.flipped_differently:
        return "same samples flipped, accuracy differs"
    return (f"differs: {d.flipped_differently} sample(s) flipped on one architecture only "
            f"(McNemar {_p(d.mcnemar_p)})")


def _change(ref: float | None, dev: float | None, delta: float | None,
            ci: tuple[float, float] | None = None) -> str:
    if ref is None and dev is None:
        return DASH
    text = f"{_pct(ref)} → {_pct(dev)}"
    if delta is not None:
        text += f" ({_pp(delta)}" + (f" {_ci(ci, signed=True)}" if ci is not None else "") + ")"
    return text


def summary_line(cross: CrossArch) -> str:
    """One line: how many compared model/mode pairs differ between architectures, and which."""
    if not cross.diffs:
        return "Cross-architecture: one device only, nothing to compare."
    compared, bad = cross.compared, cross.differing
    skipped = len(cross.diffs) - len(compared)
    if not compared:
        return (f"Cross-architecture: no model/mode pair compared sample by sample "
                f"({cross.diffs[0].not_comparable}).")
    rest = f" {skipped} not compared (see the table)." if skipped else ""
    others = ", ".join(d.device for d in cross.devices if d.device != cross.reference)
    if not bad:
        return (f"Cross-architecture: {others} identical to {cross.reference} in every "
                f"compared mode ({len(compared)} model/mode pairs: the same samples flipped, "
                f"the same accuracy).{rest}")
    names = ", ".join(f"{d.model}/{d.mode}@{d.device.device}" for d in bad)
    return (f"Cross-architecture: {len(bad)} of {len(compared)} compared model/mode pairs "
            f"differ from {cross.reference}: {names}.{rest}")


def rows(cross: CrossArch) -> tuple[list[str], list[list[str]]]:
    """The comparison table as plain strings: header and one row per :class:`ArchDiff`.

    Agreement and accuracy read ``reference → device (change)``; the agreement change
    carries its paired 95% interval when samples flipped differently."""
    ref = cross.reference
    header = ["model", "mode", "device", "samples", f"top-1 agreement, {ref} → device",
              f"accuracy, {ref} → device", f"flipped on {ref} only",
              "flipped on device only", "verdict"]
    out = []
    for d in cross.diffs:
        ci = d.agreement_delta_ci95 if d.flipped_differently else None
        out.append([
            d.model, d.mode, d.device.device,
            f"{d.reference.n:,}" if d.reference.n else DASH,
            _change(d.reference.agreement, d.device.agreement, d.agreement_delta, ci),
            _change(d.reference.accuracy, d.device.accuracy, d.accuracy_delta),
            samples_text(d.only_reference) if d.comparable else DASH,
            samples_text(d.only_device) if d.comparable else DASH,
            _state(d),
        ])
    return header, out


def verdict_lines(cross: CrossArch) -> list[str]:
    """One line per device with its gate result, then each failure line."""
    lines = []
    for v in cross.verdicts:
        if v.passed:
            lines.append(f"{v.device}: gates pass ({v.checked} checks)")
        else:
            lines.append(f"{v.device}: {len(v.failures)} of {v.checked} gate checks FAILED")
            lines += [f"  {line}" for line in v.failures]
    return lines


def device_lines(cross: CrossArch) -> list[str]:
    out = []
    for d in cross.devices:
        tag = " (reference)" if d.device == cross.reference else ""
        emu = f", emulated by {d.emulator or 'an emulator'}" if d.emulated else ""
        out.append(f"{d.device}{tag}: {d.machine or '?'}{emu}")
    return out


def text_lines(cross: CrossArch) -> list[str]:
    """The comparison as plain text (terminal, logs)."""
    lines = [summary_line(cross), *device_lines(cross)]
    header, body = rows(cross)
    for d, r in zip(cross.diffs, body, strict=True):
        line = f"  {d.model}/{d.mode}@{d.device.device}: {r[-1]}"
        if d.comparable:
            line += f"; agreement {r[4]}; accuracy {r[5]}"
            if d.flipped_differently:
                line += f"; {header[6]}: {r[6]}; {header[7]}: {r[7]}"
        lines.append(line)
    lines += verdict_lines(cross)
    lines += list(cross.notes)
    return lines


# ------------------------------------------------------------------------ Markdown and HTML


def _md(text: object) -> str:
    from tflbench.reports.escape import md

    return md(text)


def markdown(cross: CrossArch) -> str:
    """The Markdown section (``### Cross-architecture``) of a merged report."""
    lines = ["### Cross-architecture", "", _md(summary_line(cross)), ""]
    lines += [f"- {_md(line)}" for line in device_lines(cross)]
    lines.append("")
    if cross.diffs:
        header, body = rows(cross)
        align = ["l", "l", "l", "r", "r", "r", "l", "l", "l"]
        lines.append("| " + " | ".join(_md(h) for h in header) + " |")
        lines.append("| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |")
        lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in body]
        lines.append("")
    if cross.verdicts:
        lines += ["Gates per device:", ""]
        for v in cross.verdicts:
            if v.passed:
                lines.append(f"- {_md(v.device)}: pass ({v.checked} checks)")
            else:
                lines.append(f"- **{_md(v.device)}: {len(v.failures)} of {v.checked} checks "
                             "failed**")
                lines += [f"  - {_md(f)}" for f in v.failures]
        lines.append("")
    lines += [f"_{_md(n)}_" for n in cross.notes]
    return "\n".join(lines).rstrip("\n") + "\n"


def html(cross: CrossArch) -> str:
    """The HTML section (``<section id="crossarch">``) of a merged report; every value escaped."""
    e = html_mod.escape
    parts = ['<section id="crossarch">', "<h2>Cross-architecture</h2>",
             f"<p>{e(summary_line(cross))}</p>", "<ul>"]
    parts += [f"<li>{e(line)}</li>" for line in device_lines(cross)]
    parts.append("</ul>")
    if cross.diffs:
        header, body = rows(cross)
        parts.append('<table class="crossarch">')
        parts.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        for d, r in zip(cross.diffs, body, strict=True):
            cls = "same" if d.identical else ("na" if not d.comparable else "differs")
            parts.append(f'<tr class="{cls}">' + "".join(f"<td>{e(c)}</td>" for c in r)
                         + "</tr>")
        parts.append("</table>")
    if cross.verdicts:
        parts.append("<ul class=\"verdicts\">")
        for v in cross.verdicts:
            if v.passed:
                parts.append(f"<li>{e(v.device)}: pass ({v.checked} checks)</li>")
            else:
                items = "".join(f"<li>{e(f)}</li>" for f in v.failures)
                parts.append(f'<li class="fail"><strong>{e(v.device)}: {len(v.failures)} of '
                             f"{v.checked} checks failed</strong><ul>{items}</ul></li>")
        parts.append("</ul>")
    parts += [f'<p class="note">{e(n)}</p>' for n in cross.notes]
    parts.append("</section>")
    return "\n".join(parts) + "\n"


__all__ = ["ArchDiff", "CrossArch", "DeviceInfo", "DeviceVerdict", "Side", "applies", "compare",
           "device_infos", "diff_sides", "gate_devices", "html", "markdown", "rows",
           "samples_text", "summary_line", "text_lines", "verdicts",
           "without_emulated_latency"]
