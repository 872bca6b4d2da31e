"""The versioned results document: the one thing every renderer, gate and merge reads.

A document is plain JSON (see ``docs/results-schema.md``)::

    {"schema": "tflbench.results", "schema_version": 1, "created": ISO-8601,
     "tflbench_version": str, "device": str, "environment": {...}, "settings": {...},
     "models": [ModelRecord, ...], "recommendation": {...} | null, "baseline": {...} | null}

This module builds, validates, saves and loads documents; it never imports TensorFlow.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

from tflbench import __version__
from tflbench.errors import ResultsError
from tflbench.fileio import atomic_write_text
from tflbench.records import SCHEMA, SCHEMA_VERSION, ResultsDocument, clean_json


def new_document(
    environment: dict[str, Any], settings: dict[str, Any], device: str | None = None
) -> dict[str, Any]:
    """An empty results document for one run on one device."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "tflbench_version": __version__,
        "device": device or environment.get("hostname") or "host",
        "environment": environment,
        "settings": settings,
        "models": [],
        "recommendation": None,
        "baseline": None,
    }


_clean = clean_json  # the one JSON cleaner lives with the records


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(_clean(doc), indent=2, sort_keys=False, allow_nan=False)


def save(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Validate and write ``doc`` atomically; returns the path. When the write fails (a full
    disk, a read-only folder) a previous file at ``path`` is left intact and one
    :class:`ResultsError` names the path."""
    validate(doc, source=str(path))
    try:
        return atomic_write_text(path, to_json(doc) + "\n")
    except OSError as exc:
        raise ResultsError(f"Cannot write the results to {path}: {exc.strerror or exc}. A "
                           "previous file there is unchanged; free some disk space or give a "
                           "writable path.") from None


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a results document."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"Results file not found: {p}. Give the path of a results JSON "
                           "written by 'tflbench run' or 'tflbench measure'.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"Results file {p} is not valid JSON ({exc}). "
                           "Re-create it with 'tflbench run'.") from None
    except RecursionError:
        raise _too_deep(str(p)) from None
    validate(doc, source=str(p))
    return doc


def validate(doc: Any, source: str = "<results>") -> None:
    """Check the whole document against the typed records; raise :class:`ResultsError` naming
    the JSON path of the first problem (e.g. ``models[0].modes[2].agreement.top1``)."""
    parse(doc, source)


def parse(doc: Any, source: str = "<results>") -> ResultsDocument:
    """The typed :class:`~tflbench.records.ResultsDocument` of a results dict."""
    try:
        return ResultsDocument.from_dict(_clean(doc), source)
    except RecursionError:
        raise _too_deep(source) from None


def _too_deep(source: str) -> ResultsError:
    return ResultsError(f"{source}: values nested too deeply to read (lists or objects inside "
                        "each other beyond Python's recursion limit); this is not a results "
                        "document written by tflbench. Re-create it with 'tflbench run' or "
                        "'tflbench measure'.")


def find_model(doc: dict[str, Any], name: str) -> dict[str, Any] | None:
    for m in doc["models"]:
        if m["name"] == name:
            return m
    return None


def find_mode(model: dict[str, Any], mode: str) -> dict[str, Any] | None:
    for r in model["modes"]:
        if r["mode"] == mode:
            return r
    return None


def iter_mode_records(doc: dict[str, Any]):
    """Yield ``(model_record, mode_record)`` for every mode of every model."""
    for m in doc["models"]:
        for r in m["modes"]:
            yield m, r
