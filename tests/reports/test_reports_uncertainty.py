"""Every report shows what a verdict rests on: n evaluated, 95% intervals, the paired test,
Holm-significant classes, the calibration source, the logits note and the document warnings;
and a schema-1 document without any of them still renders."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sample_results import (
    RESOLUTION_WARNING,
    make_document,
    make_v2_device_document,
    make_v2_document,
)
from test_reports_html import parse

from tflbench.records import ResultsDocument
from tflbench.reports import html, markdown, render, terminal
from tflbench.reports.merge import merge
from tflbench.reports.table import (
    CLASS_NOTE,
    NO_INTERVALS_NOTE,
    SIGNIFICANT_NOTE,
    build_rows,
    columns,
    fmt_ci,
    fmt_delta,
    model_infos,
    notes,
)
from tflbench.results import validate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "results"


def term(doc: dict[str, Any], width: int = 160) -> str:
    c = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    terminal.render(doc, c)
    return c.export_text()


def md_text(doc: dict[str, Any]) -> str:
    return markdown.render(doc)


def html_text(doc: dict[str, Any]) -> str:
    """The visible text of the HTML report, with runs of white space collapsed."""
    return " ".join("".join(parse(html.render(doc)).text).split())


@pytest.fixture(scope="module")
def v2() -> dict[str, Any]:
    doc = make_v2_document()
    validate(doc)
    ResultsDocument.from_dict(doc)  # the typed reader accepts every new field
    return doc


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    doc = merge([make_v2_document(), make_v2_device_document()],
                sources=["host.json", "rpi4.json"])
    validate(doc)
    return doc


# --- 1. n evaluated -------------------------------------------------------------------------


def test_every_report_shows_n_evaluated(v2: dict[str, Any]) -> None:
    assert "digits-cnn · Keras accuracy 98.8% [97.6, 99.4] · n = 600" in term(v2)
    assert "- **digits-cnn** (n = 600 evaluated): Keras accuracy 98.8% \\[97.6, 99.4\\]" \
        in md_text(v2)
    assert "n = 600 evaluated · Keras accuracy 98.8% [97.6, 99.4]" in html_text(v2)


def test_html_shows_the_rows_evaluated_not_the_test_split() -> None:
    doc = make_v2_document()
    for m in doc["models"]:
        m["dataset"]["n_eval"] = 500  # capped with --max-eval-samples
    text = html_text(doc)
    assert "n = 500 evaluated" in text and "600 test images" in text


def test_device_rows_show_their_own_n(merged: dict[str, Any]) -> None:
    rows = {(r.model, r.mode, r.device): r for r in build_rows(merged)}
    assert rows[("digits-cnn", "int8", "build-host")].n == 600
    assert rows[("digits-cnn", "int8", "rpi4")].n == 200
    # each device is compared with its own Keras reference on its own rows
    assert rows[("digits-cnn", "int8", "rpi4")].keras_accuracy == pytest.approx(0.99)
    assert "n" in [k for k, _ in columns(list(rows.values()))]
    info = model_infos(merged)[0]
    assert [(r.device, r.n_eval) for r in info.references] == [("build-host", 600),
                                                                ("rpi4", 200)]
    assert "n = 600 on build-host, 200 on rpi4" in term(merged)
    assert "(n = 600 evaluated on build-host, 200 on rpi4)" in md_text(merged)
    assert "n = 600 evaluated on build-host, 200 on rpi4" in html_text(merged)
    assert "| digits-cnn | int8 | rpi4 | ok | 200 |" in md_text(merged)


def test_merge_keeps_each_devices_reference_and_joins_warnings(merged: dict[str, Any]) -> None:
    board = merged["devices"][1]["models"]["digits-cnn"]
    assert board["dataset"]["n_eval"] == 200 and board["keras"]["ci95"]
    assert merged["warnings"] == [f"build-host: {RESOLUTION_WARNING}"]
    both = merge([make_v2_document(), make_v2_device_document(warnings=[RESOLUTION_WARNING])])
    assert both["warnings"] == [RESOLUTION_WARNING]


def test_one_device_n_column_is_left_out(v2: dict[str, Any]) -> None:
    assert "n" not in [k for k, _ in columns(build_rows(v2))]


# --- 2. intervals and significance ----------------------------------------------------------


def test_accuracy_and_agreement_carry_their_interval(v2: dict[str, Any]) -> None:
    t, m = term(v2), md_text(v2)
    assert "96.5% [94.7, 97.7]   95.3% [93.3, 96.8]" in t  # digits-cnn int8: agree, accuracy
    assert "| 96.5% \\[94.7, 97.7\\] | 95.3% \\[93.3, 96.8\\] |" in m
    page = parse(html.render(v2))
    assert page.count("span", "ci") >= 3 * 11
    assert '95.3%<span class="ci">[93.3, 96.8]</span>' in html.render(v2)


def test_delta_shows_the_paired_interval_and_marks_significance(v2: dict[str, Any]) -> None:
    rows = {(r.model, r.mode): r for r in build_rows(v2)}
    sig, not_sig = rows[("digits-cnn", "int8")], rows[("digits-cnn", "int16x8")]
    assert sig.significant and fmt_delta(sig) == "\u22123.5 pp [\u22125.3, \u22122.1] *"
    assert not not_sig.significant and fmt_delta(not_sig) == "\u22120.8 pp [\u22122.0, 0.0]"
    assert sig.lost is not None and sig.gained == 0 and sig.lost > 0
    for text in (term(v2), md_text(v2), html_text(v2)):
        assert "\u22123.5 pp" in text and "McNemar p" in text and "0.05" in text
    assert "| \u22123.5 pp \\[\u22125.3, \u22122.1\\] \\* |" in md_text(v2)
    assert "\\* McNemar p &lt; 0.05" in md_text(v2)
    assert "−3.5 pp *" in html_text(v2)  # the mark in the cell, the interval on its line


def test_classes_significant_after_holm_are_marked(v2: dict[str, Any]) -> None:
    m = md_text(v2)
    assert "| Holm p |" in m
    assert ("| digits-cnn | int8 | 8 | 100.0% | 68.3% | \u221231.7 pp "
            "\\[\u221244.2, \u221219.7\\] † | p &lt; 0.001 | 1 (+18) |") in m
    assert "### Other class changes significant after Holm" in m
    assert "8 (\u221231.7 pp) †" in m  # worst class column
    assert CLASS_NOTE.split(" ", 1)[1] in term(v2)
    page = parse(html.render(v2))
    marked = page.count("g", "marked")
    # one outlined heatmap cell per (mode, class) significant after Holm, on both models
    expected = sum(len(r.significant_classes) for r in build_rows(v2))
    assert marked == expected > 0
    assert "significant after Holm" in html.render(v2)


def test_notes_say_only_what_is_used() -> None:
    doc = make_v2_document(class8_factor=0.0)  # no class breaks: nothing significant
    text = notes(doc)
    assert CLASS_NOTE not in text
    assert (SIGNIFICANT_NOTE in text) == any(r.significant for r in build_rows(doc))
    assert text and text[0].startswith("[lo, hi]: 95% interval")
    assert "†" not in md_text(doc)
    out = html.render(doc)
    assert 'class="cell marked"' not in out and "Outlined cells" not in out
    assert "Holm p" in out  # the flipped classes still show their (non-significant) test


def test_interval_formatting() -> None:
    assert fmt_ci((0.9741, 0.99612)) == "[97.4, 99.6]"
    assert fmt_ci((-0.0243, 0.0004), signed=True) == "[\u22122.4, 0.0]"
    assert fmt_ci(None) == ""


def test_narrow_terminal_drops_intervals_after_columns_and_says_so(merged: dict[str,
                                                                          Any]) -> None:
    raw = term(merged, width=80)
    assert max(len(line) for line in raw.splitlines()) <= 80
    text = " ".join(raw.split())
    assert "accuracy interval" in text and "Δ acc interval" in text
    assert "not shown to fit 80 columns" in text
    assert "−3.5 pp *" in text  # the significance mark stays


# --- 3. calibration ---------------------------------------------------------------------------


def test_calibration_note_for_every_model(v2: dict[str, Any]) -> None:
    line = "full-integer modes calibrated on 200 samples of the training split"
    assert term(v2).count(line) == 2
    assert md_text(v2).count(line) == 2
    assert html_text(v2).count("F" + line[1:]) == 2


def test_calibration_from_the_evaluation_set_is_flagged() -> None:
    doc = make_v2_document(calibration={"source": "evaluation set (seeded sample)", "n": 200,
                                        "disjoint": False})
    phrase = "200 samples sampled from the evaluation set (not disjoint"
    assert phrase in term(doc) and phrase in md_text(doc) and phrase in html_text(doc)
    assert "⚠️ full-integer modes calibrated" in md_text(doc)
    assert parse(html.render(doc)).count("p", "overlap") == 2


def test_calibration_from_other_data_and_models_without_full_integer_modes() -> None:
    doc = make_v2_document(calibration={"source": "calibration data cal.npz", "n": 64})
    assert "calibrated on 64 samples of calibration data cal.npz (overlap with the evaluated " \
           "rows not checked)" in md_text(doc)
    for m in doc["models"]:
        m["modes"] = [r for r in m["modes"] if r["mode"] in ("fp32", "fp16")]
    assert "calibrated" not in md_text(doc)


# --- 4. document warnings ---------------------------------------------------------------------


def test_document_warnings_are_prominent_in_every_report(v2: dict[str, Any]) -> None:
    lines = term(v2).rstrip().splitlines()
    assert lines[-1].startswith("✘ FAIL")
    assert lines[-3].startswith("⚠ warning: digits-cnn: 600 evaluated samples cannot resolve")
    m = md_text(v2).splitlines()
    assert m[2].startswith("❌ **FAIL") and m[4].startswith("> ⚠️ **Warning:** digits-cnn: 600")
    out = html.render(v2)
    assert out.index('class="warning document"') < out.index('id="summary"')
    assert "Warning: " + RESOLUTION_WARNING in html_text(v2)


# --- 5. logits --------------------------------------------------------------------------------


def test_logits_note_names_softmax(v2: dict[str, Any]) -> None:
    infos = {i.name: i for i in model_infos(v2)}
    assert infos["digits-cnn"].logits is None
    logits = infos["digits-mobilenet"].logits
    assert logits and "softmax(logits)" in logits
    for text in (term(v2), md_text(v2), html_text(v2)):
        assert text.count("compare softmax(logits)") == 1
    assert "softmax(logits)" not in md_text(make_v2_document(logits=()))


# --- schema 1 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sample-host.json", "sample-rpi4.json"])
@pytest.mark.parametrize("fmt", ["md", "html", "term", "json"])
def test_schema_1_fixture_still_renders(name: str, fmt: str) -> None:
    doc = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1 and "warnings" not in doc
    out = render(doc, fmt)
    if fmt == "json":
        assert json.loads(out) == doc
        return
    text = " ".join(out.split())
    assert "n = 270" in text  # from the Keras support when n_eval is absent
    assert "[97.6" not in text and "Holm" not in text
    assert NO_INTERVALS_NOTE.split(" (")[0] in text
    assert "calibrated on up to 200 representative samples" in text
    assert "softmax(logits)" not in text


def test_schema_1_merge_renders() -> None:
    doc = merge([make_document(), json.loads((FIXTURES / "sample-rpi4.json").read_text())])
    text = md_text(doc)
    assert "n = 270 evaluated" in text and "| n |" not in text
    assert "warnings" not in doc
