"""Sparse, failed-only and foreign-baseline documents render without errors."""

from __future__ import annotations

import pytest
from sample_results import make_document

from tflbench import baseline as release_baseline
from tflbench.reports import render
from tflbench.reports.baseline import change_rows
from tflbench.reports.recommend import recommend
from tflbench.results import new_document


def sparse_document() -> dict:
    doc = new_document({"hostname": "h"}, {})
    doc["models"] = [
        {"name": "empty", "modes": []},
        {"name": "broken", "modes": [
            {"mode": "int8", "status": "failed", "error": "converter crashed\nwith two lines",
             "stage": "convert"},
            {"mode": "fp32", "status": "failed", "error": None, "stage": None},
        ]},
    ]
    return doc


@pytest.mark.parametrize("fmt", ["md", "html", "json", "term"])
def test_sparse_document_renders(fmt: str) -> None:
    doc = sparse_document()
    doc["recommendation"] = recommend(doc, max_p90_us=100)
    out = render(doc, fmt)
    assert "broken" in out
    if fmt in ("md", "term"):
        assert "FAIL: 2 of 2 modes failed" in out
        assert "converter crashed with two lines" in out


def test_recommendation_when_every_mode_failed() -> None:
    r = recommend(sparse_document())["broken"]
    assert r["mode"] is None and r["reason"] == "every mode failed: nothing to recommend"


def test_empty_document_passes() -> None:
    doc = new_document({}, {})
    assert "PASS: all 0 modes ran" in render(doc, "md")
    assert "<svg" not in render(doc, "html")


def test_baseline_written_by_the_release_check_renders() -> None:
    doc = make_document()
    doc["baseline"] = release_baseline.compare(doc, make_document(latency_scale=0.8, seed=2),
                                               path="last-release.json")
    rows = change_rows(doc)
    assert len(rows) == 11 and {r.device for r in rows} == {"build-host"}
    assert any(not r.passed for r in rows)
    md = render(doc, "md")
    assert "### Changes against last-release.json" in md and "significant (p=" in md
    changes = md.split("### Changes")[1]
    assert "| digits-cnn | ❌ fp32 | 98.5% (=) | 100.0% (=) |" in changes


def test_baseline_error_is_shown() -> None:
    doc = make_document()
    doc["baseline"] = {"path": "missing.json", "error": "Results file not found: missing.json"}
    md = render(doc, "md")
    assert "baseline not compared: Results file not found: missing.json" in md
    assert "baseline not compared" in render(doc, "html")
