"""Markdown report: golden file, escaping, baseline changes."""

from __future__ import annotations

import re

from sample_results import (
    EVIL,
    check_golden,
    evil_document,
    make_document,
    make_v2_device_document,
    make_v2_document,
)

from tflbench.baseline import compare
from tflbench.reports import markdown
from tflbench.reports.merge import merge
from tflbench.reports.recommend import recommend


def sample_with_recommendation() -> dict:
    doc = make_document()
    doc["recommendation"] = recommend(doc, max_accuracy_drop=0.015, max_p90_us=60)
    return doc


def test_markdown_golden() -> None:
    doc = make_v2_document()
    doc["recommendation"] = recommend(doc, max_accuracy_drop=0.04, max_p90_us=60)
    check_golden("report.md", markdown.render(doc))


def test_schema_1_markdown_golden() -> None:
    check_golden("report-v1.md", markdown.render(sample_with_recommendation()))


def test_merged_markdown_golden() -> None:
    doc = merge([make_v2_document(), make_v2_device_document()],
                sources=["host.json", "rpi4.json"])
    check_golden("report-merged.md", markdown.render(doc))


def test_sections_and_verdict() -> None:
    text = markdown.render(sample_with_recommendation())
    first = text.splitlines()[2]
    assert first.startswith("❌ **FAIL: 1 of 12 modes failed")
    for heading in ("### Recommendation", "### Results", "### Failed modes",
                    "### Most flipped classes"):
        assert heading in text
    assert "- digits-cnn: **int8**." in text
    assert "digits-mobilenet / int16x8 (convert): int16x8 conversion failed" in text
    # a PR comment must stay short
    assert len(text) < 8000


def test_table_rows_have_consistent_columns() -> None:
    text = markdown.render(make_document())
    results = text.split("### Results")[1].split("###")[0]
    table = [ln for ln in results.splitlines() if ln.startswith("| digits-")]
    header = next(ln for ln in text.splitlines() if ln.startswith("| model | mode |"))
    n = header.count(" | ")
    assert len(table) >= 12
    assert all(ln.count(" | ") == n for ln in table)


def test_gates_are_rendered_when_present() -> None:
    doc = make_document()
    doc["gates"] = [{"name": "size", "passed": False, "line": "digits-cnn/fp32 is 95 KiB > 50 KiB"},
                    {"name": "agreement", "passed": True, "line": "ok"}]
    text = markdown.render(doc)
    assert "**FAIL: 1 of 2 gates failed**" in text
    assert "### Gates" in text and "1 of 2 passed." in text
    assert "digits-cnn/fp32 is 95 KiB &gt; 50 KiB" in text


def test_hostile_names_are_escaped() -> None:
    text = markdown.render(evil_document())
    assert "<script>" not in text and "<img" not in text and "<svg" not in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text
    assert "bad op &lt;script&gt;x&lt;/script&gt; &amp; 'quotes'" in text
    # table cells never contain an unescaped pipe
    for line in text.splitlines():
        if line.startswith("| "):
            assert not re.search(r"[^\\ ]\|[^ ]", line), line
    assert EVIL[2] not in text


def test_baseline_changes_with_significance() -> None:
    doc = make_document()
    slower = make_document(latency_scale=0.8, seed=3)  # the baseline was 20% faster
    doc["baseline"] = compare(doc, slower, path="v1.json")
    text = markdown.render(doc)
    assert "### Changes against v1.json" in text
    assert "▲" in text and "significant (p=" in text
    assert "❌" in text.split("### Changes")[1]

    same = make_document(seed=9)  # same medians, other noise
    doc["baseline"] = compare(doc, same, path="v1.json")
    text = markdown.render(doc)
    changes = text.split("### Changes")[1]
    assert "within noise" in changes and "❌" not in changes
