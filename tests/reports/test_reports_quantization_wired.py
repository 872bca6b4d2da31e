"""Every report shows a converter mode beside its LiteRT Quantizer counterpart."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from tflbench.reports import html, markdown, terminal

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "results" / "sample-host.json"


def _with_counterpart() -> dict:
    doc = json.loads(SAMPLE.read_text())
    model = doc["models"][0]
    int8 = next(r for r in model["modes"] if r["mode"] == "int8")
    lq = copy.deepcopy(int8)
    lq["mode"] = "lq-static-int8"
    lq["file"]["size_bytes"] = 12345
    model["modes"].append(lq)
    return doc


def test_markdown_html_and_terminal_show_the_pair(capsys) -> None:
    doc = _with_counterpart()
    md = markdown.render(doc)
    assert "converter vs LiteRT Quantizer" in md and "int8 / lq-static-int8" in md
    assert "12,345 B" in md
    page = html.render(doc)
    assert "converter vs LiteRT Quantizer" in page and "12,345 B" in page
    from rich.console import Console

    console = Console(width=200, record=True)
    terminal.render(doc, console=console)
    assert "lq-static-int8" in console.export_text()


def test_documents_without_quantizer_modes_have_no_section() -> None:
    doc = json.loads(SAMPLE.read_text())
    assert "LiteRT Quantizer" not in markdown.render(doc)
