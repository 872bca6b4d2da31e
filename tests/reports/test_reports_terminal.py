"""Terminal renderer and write_all."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from sample_results import evil_document, make_document

from tflbench.reports import render, terminal, write_all
from tflbench.reports.recommend import recommend
from tflbench.results import load


def console(width: int = 160) -> Console:
    return Console(file=io.StringIO(), width=width, record=True, color_system="truecolor")


def test_render_prints_tables_failures_and_verdict() -> None:
    doc = make_document()
    doc["recommendation"] = recommend(doc, max_p90_us=60, max_accuracy_drop=0.015)
    c = console()
    terminal.render(doc, c)
    text = c.export_text(clear=False)
    lines = text.rstrip().splitlines()
    assert lines[-1].startswith("✘ FAIL: 1 of 12 modes failed")
    assert "digits-cnn · Keras accuracy 98.5%" in text
    assert "int8 ★" in text
    assert "failed digits-mobilenet / int16x8 (convert)" in text
    assert "recommend digits-cnn: int8" in text
    styled = c.export_text(styles=True)
    assert "\x1b[" in styled  # colours are used


def test_narrow_console_drops_columns_and_says_so() -> None:
    c = console(width=80)
    terminal.render(make_document(), c)
    text = c.export_text()
    assert "not shown to fit 80 columns" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_markup_in_names_is_not_interpreted() -> None:
    doc = make_document()
    doc["models"][0]["name"] = "[bold red]cnn[/]"
    c = console()
    terminal.render(doc, c)
    assert "[bold red]cnn[/]" in c.export_text()
    c = console()
    terminal.render(evil_document(), c)
    text = c.export_text()
    assert "<img src=x onerror=alert(2)> · Keras accuracy" in text
    assert 'now read as a&b"c' in text


def test_plain_text_format() -> None:
    text = render(make_document(), "term")
    assert "FAIL: 1 of 12 modes failed" in text and "\x1b[" not in text


def test_write_all_writes_three_files(tmp_path: Path) -> None:
    doc = make_document()
    paths = write_all(doc, tmp_path / "out")
    assert set(paths) == {"json", "md", "html"}
    assert [p.name for p in paths.values()] == ["results.json", "report.md", "report.html"]
    assert load(paths["json"])["models"][0]["name"] == "digits-cnn"
    assert paths["md"].read_text(encoding="utf-8").startswith("## tflbench report")
    assert "<svg" in paths["html"].read_text(encoding="utf-8")
    assert not list((tmp_path / "out").glob("*.tmp"))
    assert json.loads(paths["json"].read_text())["schema"] == "tflbench.results"


def test_write_all_into_a_file_is_one_error(tmp_path: Path) -> None:
    from tflbench.errors import ConfigError

    (tmp_path / "taken").write_text("")
    with pytest.raises(ConfigError, match="taken is a file, not a folder"):
        write_all(make_document(), tmp_path / "taken" / "out")
