"""Markdown report: short enough for a pull-request comment.

Sections: verdict line and the document's warnings, recommendation, models x modes table (95%
intervals, significance marks) with per model the rows evaluated, the Keras reference, the
calibration and logits notes, then gates, failed modes, the most flipped classes, the class
changes significant after Holm and changes against a baseline. Every value from the document is
escaped for GitHub-flavoured Markdown (no raw HTML, no table breakage).
"""

from __future__ import annotations

from typing import Any

from tflbench.reports import crossarch
from tflbench.reports.baseline import baseline_info, change_rows
from tflbench.reports.escape import md
from tflbench.reports.table import (
    DASH,
    build_rows,
    class_drops,
    columns,
    devices,
    document_warnings,
    failed_groups,
    fmt_class_change,
    fmt_evaluated,
    fmt_keras,
    fmt_p,
    fmt_pct,
    fmt_time,
    format_row,
    merge_warnings,
    model_infos,
    notes,
    significant_classes,
    verdict,
)


def _table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> list[str]:
    align = align or ["l"] * len(header)
    sep = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _settings_line(doc: dict[str, Any]) -> str:
    parts = []
    entries = doc.get("devices") or [{"device": doc.get("device"),
                                      "environment": doc.get("environment"),
                                      "settings": doc.get("settings")}]
    for e in entries:
        env = e.get("environment") or {}
        st = e.get("settings") or {}
        rt = env.get("runtime") or {}
        bits = [str(env.get("machine") or "?")]
        if st.get("num_threads") is not None:
            bits.append(f"{st['num_threads']} thread(s)")
        bits.append("XNNPACK " + ("on" if st.get("xnnpack", True) else "off"))
        if rt.get("name"):
            bits.append(f"{rt['name']} {rt.get('version') or ''}".strip())
        parts.append(f"{md(e.get('device'))}: " + ", ".join(md(b) for b in bits))
    return "; ".join(parts)


def render(doc: dict[str, Any]) -> str:
    """The Markdown report of ``doc`` (a results document, possibly merged)."""
    doc = crossarch.without_emulated_latency(doc)
    rows = build_rows(doc)
    v = verdict(doc, rows)
    devs = devices(doc)
    lines: list[str] = ["## tflbench report", ""]
    icon = "✅" if v.passed else "❌"
    n_models = len(doc.get("models", []))
    n_modes = len({r.mode for r in rows})
    lines.append(f"{icon} **{md(v.line)}** · {n_models} model(s) × {n_modes} mode(s) on "
                 f"{md(', '.join(devs))} · {md(fmt_time(doc.get('created')))}")
    lines.append("")
    for w in document_warnings(doc):
        lines += [f"> ⚠️ **Warning:** {md(w)}", ""]
    for w in merge_warnings(doc):
        lines += [f"> ⚠️ {md(w)}", ""]

    rec = doc.get("recommendation")
    if isinstance(rec, dict) and rec:
        lines += ["### Recommendation", ""]
        for name, r in rec.items():
            if not isinstance(r, dict):
                continue
            mode = f"**{md(r['mode'])}**" if r.get("mode") else "**none**"
            lines.append(f"- {md(name)}: {mode}. {md(r.get('reason', ''))}")
        lines.append("")

    lines += ["### Results", ""]
    cols = columns(rows)
    numeric = {"n", "agreement", "accuracy", "delta", "size", "ratio", "p50", "p90"}
    body = []
    for r in rows:
        cells = format_row(r)
        body.append([md(cells[k]) if k != "status" or r.ok else "**FAILED**" for k, _ in cols])
    lines += _table([h for _, h in cols], body,
                    ["r" if k in numeric else "l" for k, _ in cols])
    lines.append("")
    for mi in model_infos(doc):
        parts = [md(fmt_keras(mi))]
        if mi.calibration:
            parts.append(("⚠️ " if mi.calibration_overlaps else "") + md(mi.calibration))
        if mi.logits:
            parts.append(md(mi.logits))
        lines.append(f"- **{md(mi.name)}** ({md(fmt_evaluated(mi))}): " + "; ".join(parts)
                     + ".")
    lines += ["", "Δ = mode − Keras on the same samples. "
              + "".join(md(n) + ". " for n in notes(doc, rows))
              + f"Latency per invoke, batch 1 ({_settings_line(doc)}).", ""]

    gates = doc.get("gates")
    if isinstance(gates, list) and gates:
        failed = [g for g in gates if isinstance(g, dict) and not g.get("passed")]
        lines += ["### Gates", "",
                  f"{len(gates) - len(failed)} of {len(gates)} passed.", ""]
        for g in failed:
            lines.append(f"- ❌ {md(g.get('name', ''))}: {md(g.get('line', ''))}")
        if failed:
            lines.append("")

    if crossarch.applies(doc):
        lines += [crossarch.markdown(crossarch.compare(doc)).rstrip("\n"), ""]

    failed_modes = failed_groups(rows)
    if failed_modes:
        lines += ["### Failed modes", ""]
        for r, on in failed_modes:
            where = f" on {md(', '.join(on))}" if len(devs) > 1 else ""
            stage = f" ({md(r.stage)})" if r.stage else ""
            lines.append(f"- {md(r.model)} / {md(r.mode)}{where}{stage}: "
                         f"{md(r.error or 'failed without a message')}")
        lines.append("")

    drops = class_drops(doc, limit=5)
    tested = any(c.holm_p is not None for c in drops)
    if drops:
        lines += ["### Most flipped classes", ""]
        body = []
        for c in drops:
            target = (f"{md(c.confused_with)} (+{c.confused_extra})" if c.confused_with
                      else DASH)
            only = len(devs) > 1 and len(c.devices) < len(devs)
            drop = [md(c.model), md(c.mode) + (f" ({md(', '.join(c.devices))})" if only
                                               else ""),
                    md(c.name), fmt_pct(c.keras_accuracy), fmt_pct(c.accuracy),
                    md(fmt_class_change(c))]
            if tested:
                drop.append(md(fmt_p(c.holm_p)))
            body.append(drop + [target])
        header = ["model", "mode", "class", "Keras", "mode acc.", "Δ"]
        align = ["l", "l", "l", "r", "r", "r"]
        if tested:
            header.append("Holm p")
            align.append("r")
        lines += _table(header + ["now read as"], body, align + ["l"])
        lines.append("")

    shown = {(c.model, c.mode, c.index, c.delta) for c in drops}
    more = [c for c in significant_classes(doc) if (c.model, c.mode, c.index, c.delta) not in shown]
    if more:
        lines += ["### Other class changes significant after Holm", ""]
        for c in more:
            where = f" ({md(', '.join(c.devices))})" if len(devs) > 1 else ""
            lines.append(f"- {md(c.model)} / {md(c.mode)}{where}: class {md(c.name)} "
                         f"{fmt_pct(c.keras_accuracy)} → {fmt_pct(c.accuracy)}, "
                         f"{md(fmt_class_change(c))}, Holm {md(fmt_p(c.holm_p))}")
        lines.append("")

    info = baseline_info(doc)
    if info is not None:
        lines += [f"### Changes against {md(info['source'])}", ""]
        if info.get("error"):
            lines += [f"> ⚠️ baseline not compared: {md(info['error'])}", ""]
        else:
            verdict_word = "" if info.get("passed") is None else (
                " All within the release policy." if info["passed"]
                else " ❌ Some changes exceed the release policy.")
            lines += [f"Baseline: {md(info.get('device') or DASH)}, "
                      f"{md(fmt_time(info.get('created')))}. ▲ higher, ▼ lower; latency "
                      "differences are tested with Mann-Whitney U on the samples."
                      + verdict_word, ""]
        for w in info.get("warnings") or []:
            lines += [f"> ⚠️ {md(w)}", ""]
        changes = change_rows(doc)
        body = []
        for ch in changes:
            mode = md(ch.mode)
            if ch.status:
                mode += f" ({md(ch.status)})"
            if len(devs) > 1:
                mode += f" ({md(ch.device)})"
            icon = "" if ch.passed else "❌ "
            body.append([md(ch.model), icon + mode, md(ch.accuracy), md(ch.agreement),
                         md(ch.size), md(ch.latency)])
        if body:
            lines += _table(["model", "mode", "accuracy", "top-1 agree", "size", "p50 latency"],
                            body)
            lines.append("")
        for label, key in (("Only in the baseline", "missing"), ("New", "new")):
            items = info.get(key) or []
            if items:
                lines += [f"{label}: " + ", ".join(md(i) for i in items), ""]

    from tflbench.reports import quantization

    section = quantization.markdown_section(doc)  # converter vs quantizer, attribution, tuning
    if section:
        lines += [section.rstrip(), ""]
    lines.append("<sub>tflbench " + md(str(doc.get("tflbench_version") or "")) + "</sub>")
    return "\n".join(lines).rstrip() + "\n"
