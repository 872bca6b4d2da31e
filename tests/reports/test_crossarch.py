"""Cross-architecture verdicts: two results files of one bundle, merged and compared."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tflbench import gates
from tflbench.errors import ResultsError
from tflbench.measure import measure_bundle
from tflbench.reports import crossarch
from tflbench.reports.merge import merge
from tflbench.results import load, save, validate
from tflbench.timing import LatencySettings

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "fixtures" / "bundles" / "digits-mini"
FAST = LatencySettings(warmup_runs=1, warmup_seconds=0.0, min_runs=3, min_seconds=0.0,
                       max_runs=5, max_seconds=1.0)


def _mode(doc: dict[str, Any], mode: str) -> dict[str, Any]:
    (model,) = doc["models"]
    return next(r for r in model["modes"] if r["mode"] == mode)


def _as_aarch64(host: dict[str, Any]) -> dict[str, Any]:
    """The host's results as an emulated aarch64 run that flipped other int8 samples: sample
    27 (flipped on the host) agrees with Keras again, samples 3 and 64 left it."""
    doc = copy.deepcopy(host)
    doc["device"] = "aarch64-qemu"
    doc["environment"].update(machine="aarch64", emulated=True, emulator="qemu-aarch64")
    rec = _mode(doc, "int8")
    n = rec["agreement"]["n"]
    flipped = sorted((set(rec["agreement"]["flipped"]) - {27}) | {3, 64})
    rec["agreement"]["flipped"] = flipped
    rec["agreement"]["top1"] = 1 - len(flipped) / n
    rec["accuracy"]["accuracy"] = round(rec["accuracy"]["accuracy"] - 1 / n, 10)
    for m in doc["models"][0]["modes"]:
        m["latency"]["emulated"] = True
    return doc


@pytest.fixture(scope="module")
def two_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("crossarch")
    host = measure_bundle(FIXTURE, latency=FAST, sweep=False, e2e=False, device="x86_64")
    return save(host, d / "x86_64.json"), save(_as_aarch64(host), d / "aarch64.json")


@pytest.fixture()
def merged(two_files: tuple[Path, Path]) -> dict[str, Any]:
    doc = merge([load(p) for p in two_files], sources=[str(p) for p in two_files])
    validate(doc)
    return doc


def test_host_fixture_flips_sample_27_in_int8(two_files: tuple[Path, Path]) -> None:
    host = load(two_files[0])
    assert _mode(host, "int8")["agreement"]["flipped"] == [27]
    assert host["environment"]["emulated"] is False


def test_float_modes_identical_int8_differs_by_sample(merged: dict[str, Any]) -> None:
    cross = crossarch.compare(merged)
    assert cross.reference == "x86_64"
    by_mode = {d.mode: d for d in cross.diffs}
    assert set(by_mode) == {"fp32", "dynamic", "int8"}
    assert by_mode["fp32"] and by_mode["dynamic"]
    int8 = by_mode["int8"]
    assert not int8 and not cross
    assert int8.comparable
    assert int8.only_reference == (27,)
    assert int8.only_device == (3, 64)
    assert int8.flipped_differently == 3
    assert int8.agreement_delta == pytest.approx(-0.01)
    assert int8.accuracy_delta == pytest.approx(-0.01)
    # One sample one way, two the other: nowhere near significant.
    assert int8.mcnemar_p == pytest.approx(1.0)
    lo, hi = int8.agreement_delta_ci95 or (0.0, 0.0)
    assert lo < -0.01 < 0.0 < hi
    assert cross.differing == (int8,)


def test_reference_defaults_to_the_native_device_and_can_be_chosen(
        merged: dict[str, Any]) -> None:
    reordered = copy.deepcopy(merged)
    reordered["devices"].reverse()
    assert crossarch.compare(reordered).reference == "x86_64"
    cross = crossarch.compare(merged, reference="aarch64-qemu")
    int8 = next(d for d in cross.diffs if d.mode == "int8")
    assert int8.only_reference == (3, 64) and int8.only_device == (27,)
    with pytest.raises(ResultsError, match="Received: 'pi9'"):
        crossarch.compare(merged, reference="pi9")


def test_different_sample_sets_are_not_compared(merged: dict[str, Any]) -> None:
    doc = copy.deepcopy(merged)
    for rec in doc["models"][0]["modes"]:
        if rec["device"] == "aarch64-qemu":
            rec["agreement"]["n"] = 50
    cross = crossarch.compare(doc)
    assert all(not d.comparable for d in cross.diffs)
    assert "different samples: 100 on x86_64, 50 on aarch64-qemu" in (
        cross.diffs[0].not_comparable or "")


def test_failed_and_missing_modes_say_so(merged: dict[str, Any]) -> None:
    doc = copy.deepcopy(merged)
    modes = doc["models"][0]["modes"]
    doc["models"][0]["modes"] = [r for r in modes
                                 if not (r["mode"] == "fp32" and r["device"] == "aarch64-qemu")]
    for rec in doc["models"][0]["modes"]:
        if rec["mode"] == "int8" and rec["device"] == "aarch64-qemu":
            rec.update(status="failed", stage="load", error="op not supported")
    by_mode = {d.mode: d for d in crossarch.compare(doc).diffs}
    assert by_mode["fp32"].not_comparable == "not measured on aarch64-qemu"
    assert by_mode["int8"].not_comparable == "failed on aarch64-qemu: op not supported"


def test_gates_run_per_device_and_name_the_failing_device(merged: dict[str, Any]) -> None:
    thresholds = gates.Thresholds(per_mode={"int8": {"min_top1_agreement": 0.985}},
                                  use_defaults=False)
    merged["gates"] = crossarch.gate_devices(merged, thresholds)
    assert {g["device"] for g in merged["gates"]} == {"x86_64", "aarch64-qemu"}
    validate(merged)
    verdicts = {v.device: v for v in crossarch.compare(merged).verdicts}
    # Per device: the conversion check of each of the three modes, and int8's agreement.
    assert verdicts["x86_64"] and verdicts["x86_64"].checked == 4
    bad = verdicts["aarch64-qemu"]
    assert not bad and bad.checked == 4
    (line,) = bad.failures
    assert line.startswith("digits-mini/int8@aarch64-qemu: top-1 agreement 0.980")
    assert line.endswith("< 0.985 (min_top1_agreement)")
    text = crossarch.markdown(crossarch.compare(merged))
    assert "**aarch64-qemu: 1 of 4 checks failed**" in text
    assert "x86\\_64: pass (4 checks)" in text


def test_emulated_latency_is_not_gated(merged: dict[str, Any]) -> None:
    thresholds = gates.Thresholds(all_modes={"max_latency_p90_us": 0.001}, use_defaults=False)
    entries = crossarch.gate_devices(merged, thresholds)
    failed = {g["device"] for g in entries if not g["passed"]}
    assert failed == {"x86_64"}  # the real host latency fails the absurd limit; qemu's is no figure


def test_old_gate_entries_are_attributed_by_their_line(merged: dict[str, Any]) -> None:
    merged["gates"] = [{"name": "min_top1_agreement", "model": "digits-mini", "mode": "int8",
                        "passed": False, "measured": 0.98, "limit": 0.99,
                        "line": "digits-mini/int8@aarch64-qemu: top-1 agreement 0.980 < 0.990"}]
    verdicts = {v.device: v for v in crossarch.compare(merged).verdicts}
    assert verdicts["x86_64"].checked == 0 and verdicts["x86_64"]
    assert not verdicts["aarch64-qemu"]


def test_renderers_show_the_differing_samples_and_no_emulated_latency(
        merged: dict[str, Any]) -> None:
    cross = crossarch.compare(merged)
    md = crossarch.markdown(cross)
    assert md.startswith("### Cross-architecture\n")
    assert ("1 of 3 compared model/mode pairs differ from x86\\_64: "
            "digits-mini/int8@aarch64-qemu") in md
    assert ("| digits-mini | int8 | aarch64-qemu | 100 | 99.00% → 98.00% (−1.00 pp "
            "\\[−6.08, 3.70\\]) | 87.00% → 86.00% (−1.00 pp) | 27 | 3, 64 | differs: 3 "
            "sample(s) flipped on one architecture only (McNemar p = 1.00) |") in md
    assert ("| digits-mini | fp32 | aarch64-qemu | 100 | 100.00% → 100.00% (0.00 pp) | "
            "86.00% → 86.00% (0.00 pp) | — | — | identical |") in md
    assert "aarch64-qemu: aarch64, emulated by qemu-aarch64" in md
    assert "latency is the emulator's and is neither shown nor gated" in md
    assert " us" not in md and "µs" not in md
    page = crossarch.html(cross)
    assert page.startswith('<section id="crossarch">') and page.rstrip().endswith("</section>")
    assert '<tr class="differs">' in page and page.count('<tr class="same">') == 2
    text = "\n".join(crossarch.text_lines(cross))
    assert "digits-mini/int8@aarch64-qemu" in text and "3, 64" in text


def test_html_escapes_device_labels(merged: dict[str, Any]) -> None:
    doc = copy.deepcopy(merged)
    for rec in doc["models"][0]["modes"]:
        if rec["device"] == "aarch64-qemu":
            rec["device"] = "<b>arm</b>"
    doc["devices"][1]["device"] = "<b>arm</b>"
    page = crossarch.html(crossarch.compare(doc))
    assert "<b>arm</b>" not in page and "&lt;b&gt;arm&lt;/b&gt;" in page


def test_long_sample_lists_are_cut_in_cells_but_kept_in_the_dict(
        merged: dict[str, Any]) -> None:
    doc = copy.deepcopy(merged)
    for rec in doc["models"][0]["modes"]:
        if rec["mode"] == "int8" and rec["device"] == "aarch64-qemu":
            rec["agreement"]["flipped"] = list(range(30, 60))
    cross = crossarch.compare(doc)
    int8 = next(d for d in cross.diffs if d.mode == "int8")
    assert len(int8.to_dict()["only_device"]) == 30
    assert "(+18 more)" in crossarch.markdown(cross)
    assert int8.mcnemar_p is not None and int8.mcnemar_p < 0.001


def test_a_single_document_has_nothing_to_compare(two_files: tuple[Path, Path]) -> None:
    cross = crossarch.compare(load(two_files[0]))
    assert cross.diffs == () and cross
    assert "one device only" in crossarch.summary_line(cross)


def test_samples_text() -> None:
    assert crossarch.samples_text([]) == crossarch.DASH
    assert crossarch.samples_text(range(3)) == "0, 1, 2"
    assert crossarch.samples_text(range(5), shown=2) == "0, 1 (+3 more)"


def test_emulated_latency_figures_are_hidden_from_reports(merged: dict[str, Any]) -> None:
    shown = crossarch.without_emulated_latency(merged)
    validate(shown)
    for rec in shown["models"][0]["modes"]:
        lat = rec["latency"]
        if rec["device"] == "aarch64-qemu":
            assert lat["emulated"] is True and lat["median"] is None and lat["p90"] is None
            assert "samples" not in lat and lat["n"] > 0
        else:
            assert lat["median"] is not None and lat.get("emulated") is None
    # The input is not modified.
    assert all(r["latency"]["median"] is not None for r in merged["models"][0]["modes"])


def test_markdown_and_html_reports_carry_the_section(merged: dict[str, Any]) -> None:
    from tflbench.reports import html, markdown

    assert crossarch.applies(merged)
    text = markdown.render(merged)
    assert "### Cross-architecture" in text
    assert "digits-mini/int8@aarch64-qemu" in text
    page = html.render(merged)
    assert page.count('<section id="crossarch">') == 1
    assert page.index('<section id="crossarch">') < page.index('<section id="environment">')


def test_reports_of_different_sample_sets_have_no_section(merged: dict[str, Any]) -> None:
    from tflbench.reports import markdown

    doc = copy.deepcopy(merged)
    for rec in doc["models"][0]["modes"]:
        if rec["device"] == "aarch64-qemu":
            rec["agreement"]["n"] = 50
    assert not crossarch.applies(doc)
    assert "Cross-architecture" not in markdown.render(doc)
    assert not crossarch.applies({"models": []})  # a single document


def test_different_data_is_not_compared(two_files: tuple[Path, Path]) -> None:
    host, device = (load(p) for p in two_files)
    device["models"][0]["dataset"]["fingerprint"] = "something-else"
    doc = merge([host, device])
    cross = crossarch.compare(doc)
    assert {d.not_comparable for d in cross.diffs} == {
        "different data (dataset fingerprints differ)"}
    assert cross and not cross.compared
