"""Merge several results documents (devices, thread counts, dates) into one to show side by side.

The merged document is itself a valid results document: models are joined by name and every
mode record carries a ``"device"`` label, so rows are keyed by ``(model, mode, device)``.
It gains two keys::

    "devices": [{"device", "source", "created", "environment", "settings",
                 "models": {name: {"dataset": {"n_eval", "calibration"},
                                   "keras": {"accuracy", "ci95", "support",
                                             "per_class_accuracy", "confusion",
                                             "output_kind"}}}},
                ...],
    "merged": {"sources": [...], "warnings": ["one line per problem", ...]}

``devices[].models`` keeps what each document said about the rows it evaluated: a device runs
the bundle's subset, so its ``n_eval`` and Keras accuracy differ from the host's and every
report shows them per device. The documents' ``warnings`` are joined (each line once, prefixed
with its device when not every document has it).

Labels that collide (two runs on the same device) are made unique with the thread count, then
the date, then a counter. A warning is recorded when the same model was measured on different
data (dataset fingerprint) or is a different model (weights hash) in different documents.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from tflbench.errors import ResultsError


def _label(doc: dict[str, Any], index: int) -> str:
    return str(doc.get("device") or (doc.get("environment") or {}).get("hostname")
               or f"run{index + 1}")


def _unique_labels(docs: Sequence[dict[str, Any]]) -> list[str]:
    labels = [_label(d, i) for i, d in enumerate(docs)]
    if len(set(labels)) == len(labels):
        return labels

    def threads(d: dict[str, Any]) -> str:
        return f"{(d.get('settings') or {}).get('num_threads', '?')}t"

    def date(d: dict[str, Any]) -> str:
        return str(d.get("created") or "")[:16].replace("T", " ")

    for extra in (threads, date):
        new = []
        for lab, d in zip(labels, docs, strict=True):
            new.append(f"{lab} {extra(d)}" if labels.count(lab) > 1 else lab)
        labels = new
        if len(set(labels)) == len(labels):
            return labels
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(f"{lab} #{seen[lab]}" if labels.count(lab) > 1 else lab)
    return out


def _reference(model: dict[str, Any]) -> dict[str, Any]:
    """What one document says about the rows it evaluated for ``model``."""
    dataset = model.get("dataset") or {}
    keras = model.get("keras") or {}
    return {
        "dataset": {k: copy.deepcopy(dataset[k]) for k in ("n_eval", "calibration")
                    if k in dataset},
        "keras": {k: copy.deepcopy(keras[k]) for k in ("accuracy", "ci95", "support",
                                                       "per_class_accuracy", "confusion",
                                                       "output_kind") if k in keras},
    }


def _joined_warnings(labels: Sequence[str], docs: Sequence[dict[str, Any]]) -> list[str]:
    """Every document's ``warnings`` once, in order; a line not in every document is prefixed
    with the device it came from."""
    per_doc = [[str(w) for w in (d.get("warnings") or [])] for d in docs]
    out: list[str] = []
    for lab, lines in zip(labels, per_doc, strict=True):
        for w in lines:
            line = w if all(w in other for other in per_doc) else f"{lab}: {w}"
            if line not in out:
                out.append(line)
    return out


def merge(docs: Sequence[dict[str, Any]],
          sources: Sequence[str] | None = None) -> dict[str, Any]:
    """One document holding every ``(model, mode, device)`` record of ``docs``.

    A single document is returned unchanged (a copy). The inputs are not modified.
    """
    if not docs:
        raise ResultsError("Nothing to merge: give at least one results file.")
    if sources is not None and len(sources) != len(docs):
        raise ResultsError(f"merge() got {len(docs)} documents but {len(sources)} source names.")
    srcs = list(sources) if sources is not None else [f"document {i + 1}"
                                                       for i in range(len(docs))]
    if len(docs) == 1:
        return copy.deepcopy(dict(docs[0]))
    labels = _unique_labels(docs)
    first = docs[0]
    merged: dict[str, Any] = {
        k: copy.deepcopy(v) for k, v in first.items() if k not in ("models", "device")
    }
    merged["schema_version"] = max(int(d.get("schema_version", 1)) for d in docs)
    merged["created"] = max(str(d.get("created") or "") for d in docs)
    merged["device"] = " + ".join(labels)
    merged["recommendation"] = None
    merged["baseline"] = None
    merged.pop("gates", None)
    merged["devices"] = [
        {"device": lab, "source": src, "created": d.get("created"),
         "environment": copy.deepcopy(d.get("environment")),
         "settings": copy.deepcopy(d.get("settings")),
         "models": {str(m.get("name")): _reference(m) for m in d.get("models", [])
                    if isinstance(m, dict)}}
        for lab, src, d in zip(labels, srcs, docs, strict=True)
    ]
    doc_warnings = _joined_warnings(labels, docs)
    if doc_warnings:
        merged["warnings"] = doc_warnings
    else:
        merged.pop("warnings", None)
    warnings: list[str] = []
    models: dict[str, dict[str, Any]] = {}
    seen_from: dict[str, tuple[str, dict[str, Any]]] = {}
    for lab, src, d in zip(labels, srcs, docs, strict=True):
        for model in d.get("models", []):
            name = model["name"]
            if name not in models:
                models[name] = {k: copy.deepcopy(v) for k, v in model.items() if k != "modes"}
                models[name]["modes"] = []
                seen_from[name] = (src, model)
            else:
                first_src, first_model = seen_from[name]
                fp_a = (first_model.get("dataset") or {}).get("fingerprint")
                fp_b = (model.get("dataset") or {}).get("fingerprint")
                if fp_a != fp_b:
                    warnings.append(
                        f"{name}: dataset fingerprints differ between {first_src} ({fp_a}) and "
                        f"{src} ({fp_b}); accuracy columns are not comparable")
                n_a = (first_model.get("dataset") or {}).get("n_eval")
                n_b = (model.get("dataset") or {}).get("n_eval")
                if n_a and n_b and n_a != n_b:
                    warnings.append(
                        f"{name}: evaluated on {n_a} samples in {first_src} but {n_b} in {src} "
                        "(a bundle capped by --max-samples?); accuracy is not comparable")
                sha_a, sha_b = first_model.get("model_sha256"), model.get("model_sha256")
                if sha_a and sha_b and sha_a != sha_b:
                    warnings.append(
                        f"{name}: model weights differ between {first_src} and {src} "
                        f"(model_sha256 {str(sha_a)[:12]} vs {str(sha_b)[:12]})")
            for rec in model.get("modes", []):
                r = copy.deepcopy(rec)
                r["device"] = lab
                models[name]["modes"].append(r)
    merged["models"] = list(models.values())
    merged["merged"] = {"sources": srcs, "warnings": warnings}
    return merged
