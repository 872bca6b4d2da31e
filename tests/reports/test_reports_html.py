"""HTML report: parsed with html.parser; plots, tables, escaping, no scripts or URLs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from sample_results import EVIL, evil_document, make_device_document, make_document

from tflbench.baseline import compare
from tflbench.reports import html
from tflbench.reports.merge import merge
from tflbench.reports.recommend import recommend


class Page(HTMLParser):
    """Collects tags (with attributes), text, and the text inside <title> of SVGs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def count(self, tag: str, cls: str | None = None) -> int:
        return sum(1 for t, a in self.tags
                   if t == tag and (cls is None or cls in (a.get("class") or "").split()))


def parse(text: str) -> Page:
    p = Page()
    p.feed(text)
    p.close()
    return p


def full_document() -> dict:
    doc = make_document()
    doc["recommendation"] = recommend(doc, max_accuracy_drop=0.015)
    doc["baseline"] = compare(doc, make_document(latency_scale=0.8, seed=3), path="v1.json")
    return doc


def test_plots_and_tables_are_present() -> None:
    page = parse(html.render(full_document()))
    svgs = [a for t, a in page.tags if t == "svg"]
    classes = [a.get("class") or "" for a in svgs]
    # per model: 2 scatters, 1 heatmap, 3 confusion matrices, 1 box plot, histograms
    assert sum("scatter" in c for c in classes) == 4
    assert sum("heatmap" in c for c in classes) == 2
    assert sum("confusion" in c for c in classes) == 6
    assert sum("diff" in c for c in classes) == 2
    assert sum("boxplot" in c for c in classes) == 2
    assert sum("histogram" in c for c in classes) == 7 + 5
    # Pareto frontier marked
    assert page.count("g", "frontier") >= 4
    assert page.count("circle", "frontier-marker") == page.count("g", "frontier")
    assert page.count("path", "frontier-line") >= 1
    # summary table: 12 body rows with 11 cells each
    text = "".join(page.text)
    assert page.count("table", "summary") == 1
    assert page.count("tr", "failed") == 1
    for section in ("Recommendation", "Results", "Failed modes", "Most flipped classes",
                    "Changes against v1.json", "Environment", "Confusion matrices", "Latency"):
        assert section in text
    assert "Intel(R) Xeon(R) CPU @ 2.20GHz" in text and "ai_edge_litert 2.3.0" in text


def test_self_contained_no_scripts_no_urls() -> None:
    out = html.render(full_document())
    assert "<script" not in out.lower()
    assert not re.search(r"(https?:)?//[a-z0-9]", out, re.I)
    assert " src=" not in out and "<link" not in out and "@import" not in out
    assert "xmlns" not in out


def test_hostile_labels_are_escaped() -> None:
    doc = evil_document()
    doc["recommendation"] = recommend(doc)
    out = html.render(doc)
    page = parse(out)
    # no element or attribute was injected
    tags = {t for t, _ in page.tags}
    assert "script" not in tags and "img" not in tags and "b" not in tags and "i" not in tags
    assert all(not k.startswith("on") for _, a in page.tags for k in a)
    assert page.count("svg") == sum(1 for t, _ in page.tags if t == "svg")
    # ...and the names are still shown, escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "a&amp;b&quot;c" in out
    assert "&lt;img src=x onerror=alert(2)&gt;" in out
    assert "cache/&lt;svg onload=alert(3)&gt;.tflite" in out
    assert "dev&lt;i&gt;ce&amp;&#34;1" in out or "dev&lt;i&gt;ce&amp;&quot;1" in out
    text = "".join(page.text)
    assert EVIL[0] in text and EVIL[1] in text and 'dev<i>ce&"1' in text


def test_merged_devices_get_a_box_plot_each_and_a_legend() -> None:
    doc = merge([make_document(), make_device_document()], sources=["a.json", "b.json"])
    page = parse(html.render(doc))
    boxes = [a for t, a in page.tags if t == "svg" and "boxplot" in (a.get("class") or "")]
    assert len(boxes) == 4  # 2 models x 2 devices
    labels = [a.get("aria-label") for t, a in page.tags if t == "svg"]
    assert "digits-cnn: latency per invoke on rpi4" in labels
    text = "".join(page.text)
    assert "rpi4" in text and "Cortex-A72" in text and "b.json" in text


def test_many_classes_are_capped() -> None:
    doc = make_document(class_names=[f"class {i}" for i in range(60)])
    out = html.render(doc)
    assert "Showing the 40 of 60 classes" in out
    assert "Showing the 20 of 60 classes" in out


def test_gates_section_lists_failures_first() -> None:
    doc = make_document()
    doc["gates"] = [
        {"name": "min_top1_agreement", "model": "digits-cnn", "mode": "int8", "passed": True,
         "measured": 0.99, "limit": 0.95, "line": "agreement 98.9% >= 95%"},
        {"name": "max_size_bytes", "model": "digits-cnn", "mode": "fp32", "passed": False,
         "measured": 97412, "limit": 50000, "line": "size 97,412 B > 50,000 B <limit>"},
    ]
    out = html.render(doc)
    page = parse(out)
    text = "".join(page.text)
    assert "Gates (1 of 2 passed)" in text and "FAIL: 1 of 2 gates failed" in text
    assert "size 97,412 B > 50,000 B <limit>" in text
    assert "&lt;limit&gt;" in out
