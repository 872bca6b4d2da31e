"""One self-contained HTML page: inline CSS and SVG, no scripts, no external URLs.

The page holds the verdict and the document's warnings, recommendation, summary table (95%
intervals on a second line of the accuracy, agreement and Δ cells, significance marks), and per
model: the rows evaluated (per device), the Keras reference, the calibration and logits notes,
size-vs-accuracy and latency-vs-accuracy scatters with the Pareto frontier, a per-class accuracy
heatmap marking the changes significant after Holm, confusion matrices (Keras, worst mode,
difference), latency box plots and histograms; then flipped classes, failed modes, baseline
changes, gates and the environment of every device.

Templating is jinja2 with autoescape on; the SVG fragments come from :mod:`.svg`, which escapes
every text it embeds, and are the only values marked safe.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from tflbench.reports import svg
from tflbench.reports.baseline import baseline_info, change_rows
from tflbench.reports.table import (
    CLASS_SIGNIFICANT,
    SIGNIFICANT,
    Row,
    build_rows,
    class_drops,
    class_names,
    columns,
    devices,
    document_warnings,
    failed_groups,
    fmt_bytes,
    fmt_ci,
    fmt_class_change,
    fmt_evaluated,
    fmt_keras,
    fmt_p,
    fmt_pct,
    fmt_pp,
    fmt_time,
    fmt_us,
    format_row,
    latency_series,
    merge_warnings,
    model_infos,
    notes,
    ordered_modes,
    record_device,
    significant_classes,
    verdict,
)

#: Heatmap / confusion matrices show at most this many classes (the ones that changed most).
MAX_HEATMAP_CLASSES = 40
MAX_CONFUSION_CLASSES = 20


def _env():  # type: ignore[no-untyped-def]
    try:
        from jinja2 import Environment, PackageLoader, StrictUndefined
    except ImportError:
        from tflbench.errors import ConfigError

        raise ConfigError("The HTML report needs jinja2, which this install lacks. Install it "
                          "with: pip install 'tflbench[report]' (or use --format md|json|term)."
                          ) from None

    return Environment(loader=PackageLoader("tflbench.reports", "templates"),
                       autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True)


def _band(value: float | None, good: float, warn: float) -> str:
    if value is None:
        return ""
    return "good" if value >= good else "warn" if value >= warn else "bad"


def _cell_class(row: Row, key: str) -> str:
    if key == "status":
        return "ok" if row.ok else "bad"
    if key == "agreement":
        return _band(row.top1, 0.99, 0.97)
    if key == "delta":
        return _band(row.accuracy_delta, -0.005, -0.02)
    if key == "worst":
        return _band(row.worst_class_delta, -0.005, -0.02)
    return ""


def _first_device_records(doc: dict[str, Any], model: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per mode (the first device that has it ok, else the first one)."""
    out: dict[str, dict[str, Any]] = {}
    for rec in ordered_modes(doc, model):
        cur = out.get(rec["mode"])
        if cur is None or (cur.get("status") != "ok" and rec.get("status") == "ok"):
            out[rec["mode"]] = rec
    return list(out.values())


def _scatters(doc: dict[str, Any], rows: list[Row], name: str) -> list[Markup]:
    mine = [r for r in rows if r.model == name and r.ok and r.accuracy is not None]
    seen: set[str] = set()
    size_pts = []
    for r in mine:
        if r.size_bytes is not None and r.mode not in seen:
            seen.add(r.mode)
            size_pts.append(svg.Point(r.mode, r.size_bytes / 1024.0, r.accuracy or 0.0))
    multi = len({r.device for r in rows}) > 1
    lat_pts = [svg.Point(r.mode, r.p50_us, r.accuracy or 0.0, r.device if multi else "")
               for r in mine if r.p50_us is not None]

    def pct(v: float) -> str:
        return f"{100 * v:.1f}%"

    return [
        Markup(svg.scatter(size_pts, title=f"{name}: size vs accuracy",
                           x_label="file size (KiB)", y_label="test accuracy",
                           x_fmt=lambda v: f"{v:g}", y_fmt=pct)),
        Markup(svg.scatter(lat_pts, title=f"{name}: latency vs accuracy",
                           x_label="p50 latency (µs)", y_label="test accuracy",
                           x_fmt=svg.fmt_compact, y_fmt=pct)),
    ]


def _heatmap(doc: dict[str, Any], model: dict[str, Any]) -> tuple[Markup, str]:
    names = class_names(model)
    keras = model.get("keras") or {}
    keras_pca = keras.get("per_class_accuracy") or []
    support = keras.get("support") or []
    recs = [r for r in _first_device_records(doc, model)
            if r.get("status") == "ok" and (r.get("accuracy") or {}).get("per_class_accuracy")]
    n = len(names)
    order = list(range(n))
    note = ""
    if n > MAX_HEATMAP_CLASSES:
        worst = {i: min([0.0] + [float((r["accuracy"].get("per_class_delta") or [0.0] * n)[i]
                                       or 0.0) for r in recs]) for i in range(n)}
        order = sorted(sorted(range(n), key=lambda i: (worst[i], i))[:MAX_HEATMAP_CLASSES])
        note = (f"Showing the {MAX_HEATMAP_CLASSES} of {n} classes that lost the most "
                "accuracy under any mode.")
    row_labels = ["Keras"] + [str(r["mode"]) for r in recs]
    values: list[list[float | None]] = [[_f(keras_pca, i) for i in order]]
    colours: list[list[float | None]] = [[0.0 if _f(keras_pca, i) is not None else None
                                          for i in order]]
    marks: list[list[bool]] = [[False] * len(order)]
    changes: list[dict[int, dict[str, Any]]] = [{}]
    for r in recs:
        pca = r["accuracy"].get("per_class_accuracy") or []
        pcd = r["accuracy"].get("per_class_delta") or []
        values.append([_f(pca, i) for i in order])
        colours.append([_f(pcd, i) for i in order])
        by_index = {int(c["index"]): c for c in r["accuracy"].get("per_class_change") or []
                    if isinstance(c, dict) and isinstance(c.get("index"), int)}
        changes.append(by_index)
        marks.append([by_index.get(i, {}).get("significant") is True for i in order])
    span = max([0.05] + [abs(v) for row in colours for v in row if v is not None])
    col_labels = [names[i] for i in order]

    def tip(i: int, j: int) -> str:
        cls = order[j]
        sup = f", support {support[cls]}" if cls < len(support) else ""
        if i == 0:
            return f"Keras / class {names[cls]}: {fmt_pct(values[0][j])}{sup}"
        change = changes[i].get(cls, {})
        ci = fmt_ci(_pair(change.get("delta_ci95")), signed=True)
        test = ""
        if isinstance(change.get("holm_p"), (int, float)):
            test = (f"; {'significant' if change.get('significant') else 'not significant'} "
                    f"after Holm, {fmt_p(float(change['holm_p']))}")
        return (f"{row_labels[i]} / class {names[cls]}: {fmt_pct(values[i][j])} "
                f"({fmt_pp(colours[i][j])}{' ' + ci if ci else ''} vs Keras{test}){sup}")

    def fmt(v: float | None) -> str:
        return "" if v is None else f"{100 * v:.0f}" if v >= 0.9995 else f"{100 * v:.1f}"

    out = svg.heatmap(row_labels, col_labels, values, color_values=colours, vmin=-span,
                      vmax=span, diverging=True, fmt=fmt, tooltip=tip,
                      title=f"{model['name']}: per-class accuracy (%) by mode",
                      x_title="class", cell=(40, 24), marks=marks, mark=CLASS_SIGNIFICANT)
    return Markup(out), note


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return float(value[0]), float(value[1])
    return None


def _f(seq: Any, i: int) -> float | None:
    try:
        v = seq[i]
    except (IndexError, TypeError, KeyError):
        return None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _confusions(doc: dict[str, Any], model: dict[str, Any]) -> tuple[list[Markup], str]:
    names = class_names(model)
    keras_conf = (model.get("keras") or {}).get("confusion")
    recs = [r for r in _first_device_records(doc, model) if r.get("status") == "ok"
            and (r.get("accuracy") or {}).get("confusion") is not None
            and (r.get("accuracy") or {}).get("accuracy") is not None]
    if not isinstance(keras_conf, list) or not recs:
        return [], ""
    diffs: dict[str, list[list[float]]] = {}
    for r in recs:
        cand = r["accuracy"]["confusion"]
        try:
            diffs[r["mode"]] = [[float(cand[i][j]) - float(keras_conf[i][j])
                                 for j in range(len(keras_conf))] for i in range(len(keras_conf))]
        except (IndexError, TypeError, ValueError):
            continue
    recs = [r for r in recs if r["mode"] in diffs]
    if not recs:
        return [], ""
    # lowest accuracy; among equals the one whose predictions moved most
    worst = min(recs, key=lambda r: (float(r["accuracy"]["accuracy"]),
                                     -sum(abs(v) for row in diffs[r["mode"]] for v in row)))
    cand = worst["accuracy"]["confusion"]
    diff = diffs[worst["mode"]]
    tie = len({float(r["accuracy"]["accuracy"]) for r in recs}) == 1
    n = len(diff)
    classes = None
    note = ""
    if n > MAX_CONFUSION_CLASSES:
        weight = [sum(abs(diff[i][j]) + abs(diff[j][i]) for j in range(n)) for i in range(n)]
        classes = sorted(sorted(range(n), key=lambda i: (-weight[i], i))[:MAX_CONFUSION_CLASSES])
        note = (f"Showing the {MAX_CONFUSION_CLASSES} of {n} classes whose predictions changed "
                "most.")
    mode = str(worst["mode"])
    why = "all modes equally accurate" if tie else "lowest accuracy"
    return [
        Markup(svg.confusion_matrix(keras_conf, names, title=f"Keras ({model['name']})",
                                    classes=classes)),
        Markup(svg.confusion_matrix(cand, names, title=f"{mode} ({why})",
                                    classes=classes)),
        Markup(svg.confusion_matrix(diff, names, title=f"{mode} − Keras", diff=True,
                                    classes=classes)),
    ], note


def _latency(doc: dict[str, Any], name: str) -> tuple[list[Markup], list[dict[str, Any]]]:
    """One box plot per device (each on its own scale) and one histogram per measurement."""
    series = latency_series(doc, name)
    if not series:
        return [], []
    devs = list(dict.fromkeys(s.device for s in series))
    multi_dev = len(devs) > 1
    threads = len({s.threads for s in series}) > 1
    modes = list(dict.fromkeys(s.mode for s in series))

    def label(s: Any, with_device: bool) -> str:
        parts = [s.mode]
        if with_device:
            parts.append(s.device)
        if threads or s.threads not in (None, 1):
            parts.append(f"{s.threads} thread{'s' if s.threads != 1 else ''}")
        if s.xnnpack is False:
            parts.append("no XNNPACK")
        return " · ".join(parts)

    boxes = []
    for dev in devs:
        mine = [s for s in series if s.device == dev and s.samples]
        if not mine:
            continue
        title = f"{name}: latency per invoke" + (f" on {dev}" if multi_dev else "")
        boxes.append(Markup(svg.box_plot([(label(s, False), s.samples) for s in mine],
                                         title=title,
                                         colors=[modes.index(s.mode) for s in mine])))
    hists = [{"label": label(s, multi_dev),
              "svg": Markup(svg.histogram(s.samples, title=label(s, multi_dev)))}
             for s in series if s.samples]
    return boxes, hists


def _environment(doc: dict[str, Any]) -> list[dict[str, Any]]:
    entries = doc.get("devices") or [{"device": doc.get("device"), "source": None,
                                      "created": doc.get("created"),
                                      "environment": doc.get("environment"),
                                      "settings": doc.get("settings")}]
    out = []
    for e in entries:
        env = e.get("environment") or {}
        st = e.get("settings") or {}
        rt = env.get("runtime") or {}
        lat = st.get("latency") or {}
        items = [
            ("device", e.get("device")),
            ("results file", e.get("source")),
            ("created", fmt_time(e.get("created"))),
            ("hostname", env.get("hostname")),
            ("OS", env.get("os")),
            ("machine", env.get("machine")),
            ("CPU", env.get("cpu_model")),
            ("CPU count / affinity", f"{env.get('cpu_count')} / {env.get('affinity')}"),
            ("CPU governor", env.get("governor")),
            ("Python", env.get("python")),
            ("numpy", env.get("numpy")),
            ("TensorFlow", env.get("tensorflow")),
            ("Keras", env.get("keras")),
            ("runtime", f"{rt.get('name', '?')} {rt.get('version') or ''}".strip()),
            ("threads", st.get("num_threads")),
            ("XNNPACK", {True: "on", False: "off"}.get(bool(st["xnnpack"]))
             if isinstance(st.get("xnnpack"), bool) else None),
            ("latency settings", ", ".join(f"{k}={v}" for k, v in lat.items()) or None),
            ("representative samples", st.get("representative_samples")),
        ]
        out.append({"device": e.get("device"),
                    "items": [(k, "—" if v in (None, "") else str(v)) for k, v in items
                              if k != "results file" or v]})
    return out


def context(doc: dict[str, Any]) -> dict[str, Any]:
    """Everything the template needs, as plain strings and safe SVG fragments."""
    rows = build_rows(doc)
    v = verdict(doc, rows)
    devs = devices(doc)
    cols = columns(rows)
    raw_rec = doc.get("recommendation")
    rec: dict[str, Any] = raw_rec if isinstance(raw_rec, dict) else {}
    recommended = {(n, r.get("mode")) for n, r in rec.items() if isinstance(r, dict)}
    table = []
    for r in rows:
        cells = format_row(r, intervals=False)
        second = {"agreement": fmt_ci(r.top1_ci95), "accuracy": fmt_ci(r.accuracy_ci95),
                  "delta": fmt_ci(r.delta_ci95, signed=True) if r.accuracy_delta is not None
                  else ""}
        table.append({
            "cells": [{"text": cells[k], "ci": second.get(k, ""), "cls": _cell_class(r, k)}
                      for k, _ in cols],
            "cls": ("failed" if not r.ok else "")
                   + (" recommended" if (r.model, r.mode) in recommended else ""),
            "title": r.error or "",
        })
    models = []
    infos = {i.name: i for i in model_infos(doc)}
    for m in doc.get("models", []):
        name = str(m["name"])
        info = infos[name]
        ds = m.get("dataset") or {}
        heat, heat_note = _heatmap(doc, m)
        conf, conf_note = _confusions(doc, m)
        boxes, hists = _latency(doc, name)
        models.append({
            "name": name,
            "source": m.get("source"),
            "sha": str(m.get("model_sha256") or "")[:12],
            "dataset": ds.get("name"),
            "classes": len(class_names(m)),
            "n_test": ds.get("n_test"),
            "n": fmt_evaluated(info),
            "fingerprint": str(ds.get("fingerprint") or "")[:16] or None,
            "keras_accuracy": fmt_keras(info),
            "calibration": info.calibration,
            "calibration_overlaps": info.calibration_overlaps,
            "logits": info.logits,
            "scatters": _scatters(doc, rows, name),
            "heatmap": heat, "heatmap_note": heat_note,
            "heatmap_marked": 'class="cell marked"' in heat,
            "confusions": conf, "confusion_note": conf_note,
            "boxes": boxes, "histograms": hists,
            "files": [{"mode": r["mode"], "device": record_device(doc, r),
                       "path": (r.get("file") or {}).get("path"),
                       "size": fmt_bytes((r.get("file") or {}).get("size_bytes")),
                       "sha": str((r.get("file") or {}).get("sha256") or "")[:12]}
                      for r in _first_device_records(doc, m) if r.get("file")],
        })
    baseline = baseline_info(doc)
    if baseline is not None:
        baseline["created"] = fmt_time(baseline.get("created"))
        baseline["rows"] = change_rows(doc)
    gates = [g for g in doc.get("gates") or [] if isinstance(g, dict)]
    top = class_drops(doc, limit=10)
    drops = [_class_entry(c) for c in top]
    shown = {(c.model, c.mode, c.index, c.delta) for c in top}
    return {
        "title": "tflbench report: " + ", ".join(str(m["name"]) for m in doc.get("models", [])),
        "created": fmt_time(doc.get("created")),
        "version": doc.get("tflbench_version"),
        "devices": devs,
        "multi": len(devs) > 1,
        "verdict": v,
        "warnings": merge_warnings(doc),
        "document_warnings": document_warnings(doc),
        "notes": notes(doc, rows),
        "marks": {"significant": SIGNIFICANT, "class": CLASS_SIGNIFICANT},
        "recommendation": [
            {"model": n, "mode": r.get("mode"), "reason": r.get("reason"),
             "limits": r.get("limits") or {}} for n, r in rec.items() if isinstance(r, dict)],
        "columns": [h for _, h in cols],
        "numeric": [k not in ("model", "mode", "device", "status", "worst") for k, _ in cols],
        "rows": table,
        "failed": [{"model": r.model, "mode": r.mode, "devices": ", ".join(d),
                    "stage": r.stage, "error": r.error} for r, d in failed_groups(rows)],
        "drops": drops,
        "tested": any(d["holm_p"] != "—" for d in drops),
        "significant_classes": [_class_entry(c) for c in significant_classes(doc)
                                if (c.model, c.mode, c.index, c.delta) not in shown],
        "models": models,
        "baseline": baseline,
        "gates": gates,
        "gates_failed": sum(1 for g in gates if not g.get("passed")),
        "environment": _environment(doc),
        "fmt_us": fmt_us,
    }


def _class_entry(c: Any) -> dict[str, Any]:
    return {"model": c.model, "mode": c.mode, "device": ", ".join(c.devices), "name": c.name,
            "keras": fmt_pct(c.keras_accuracy), "accuracy": fmt_pct(c.accuracy),
            "delta": fmt_class_change(c), "holm_p": fmt_p(c.holm_p),
            "significant": c.significant, "lost": c.delta < 0,
            "target": (f"{c.confused_with} (+{c.confused_extra})" if c.confused_with
                       else "—")}


def render(doc: dict[str, Any]) -> str:
    """The HTML report of ``doc`` as one string."""
    from tflbench.reports import crossarch

    doc = crossarch.without_emulated_latency(doc)
    page = _env().get_template("report.html.j2").render(**context(doc))
    if crossarch.applies(doc):  # the cross-architecture section, before the environment
        anchor = '<section id="environment">'
        at = page.find(anchor) if anchor in page else page.find("<footer>")
        page = page[:at] + crossarch.html(crossarch.compare(doc)) + "\n" + page[at:]
    from tflbench.reports import quantization

    section = quantization.html_section(doc)  # converter vs quantizer, attribution, tuning
    if section:
        anchor = '<section id="environment">'
        at = page.find(anchor) if anchor in page else page.find("<footer>")
        page = page[:at] + section + "\n" + page[at:]
    return page
