"""SVG plot functions: geometry helpers, frontier, escaping, empty inputs."""

from __future__ import annotations

from tflbench.reports import svg


def test_pareto_frontier_keeps_non_dominated_points() -> None:
    pts = [svg.Point("fp32", 100, 0.98), svg.Point("fp16", 50, 0.98),
           svg.Point("int8", 27, 0.97), svg.Point("bad", 60, 0.90), svg.Point("dyn", 26, 0.95)]
    assert [p.label for p in svg.pareto_frontier(pts)] == ["dyn", "int8", "fp16"]


def test_ticks_cover_the_range() -> None:
    t = svg.nice_ticks(23.0, 97.0)
    assert t[0] <= 23.0 and t[-1] >= 97.0 and len(t) <= 12
    lt = svg.log_ticks(30.0, 900.0)
    assert lt[0] <= 30.0 and lt[-1] >= 900.0 and 100.0 in lt


def test_scatter_marks_frontier_and_escapes() -> None:
    out = svg.scatter([svg.Point("<b>x</b>", 1.0, 0.5), svg.Point("y&z", 2.0, 0.4)],
                      title='t"<>', x_label="size", y_label="acc")
    assert out.startswith("<svg ") and out.endswith("</svg>")
    assert "<b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out and "y&amp;z" in out
    assert 't&quot;&lt;&gt;' in out
    assert out.count('data-frontier="true"') == 1  # (2, 0.4) is dominated by (1, 0.5)


def test_heatmap_and_confusion_escape_labels() -> None:
    out = svg.confusion_matrix([[5, 1], [0, 6]], ["<script>", "a&b"], title="c")
    assert "<script>" not in out and "&lt;script&gt;" in out and "a&amp;b" in out
    diff = svg.confusion_matrix([[-1, 1], [0, 0]], ["a", "b"], title="d", diff=True)
    assert "\u22121" in diff and "+1" in diff


def test_empty_inputs_render_a_message() -> None:
    assert "no measured modes" in svg.scatter([], title="s", x_label="x", y_label="y")
    assert "no latency samples" in svg.box_plot([], title="b")
    assert "no latency samples" in svg.histogram([], title="h")
    assert "nothing to show" in svg.heatmap([], [], [], title="h")


def test_box_plot_and_histogram_mark_median_and_p90() -> None:
    samples = [float(v) for v in range(1, 101)] + [500.0]
    box = svg.box_plot([("int8", samples)], title="lat")
    assert 'class="median"' in box and 'class="p90"' in box and "1 outliers" in box
    hist = svg.histogram(samples, title="h")
    assert 'class="median"' in hist and 'class="p90"' in hist


def test_standalone_adds_namespace() -> None:
    out = svg.standalone(svg.histogram([1.0, 2.0], title="h"))
    assert out.startswith("<?xml") and 'xmlns="http://www.w3.org/2000/svg"' in out


def _labels_and_markers(out: str) -> tuple[list[tuple[float, float, float, float]],
                                           list[tuple[float, float]]]:
    import re

    boxes = []
    for m in re.finditer(r'<text x="([-\d.]+)" y="([-\d.]+)" text-anchor="(\w+)" '
                         r'class="point-label"[^>]*>([^<]*)</text>', out):
        x, y, anchor, text = float(m[1]), float(m[2]), m[3], m[4]
        w = svg.CHAR_W * len(text)
        left = x - (w if anchor == "end" else w / 2 if anchor == "middle" else 0)
        boxes.append((left, y - 10, left + w, y))
    markers = [(float(a), float(b)) for a, b in
               re.findall(r'<circle cx="([-\d.]+)" cy="([-\d.]+)" r="4.5"', out)]
    return boxes, markers


def test_crowded_scatter_labels_do_not_collide_or_leave_the_plot() -> None:
    # six modes within a few pixels of each other, as int8 / dynamic / int8-float-io often are
    pts = [svg.Point(name, 27.0 + i * 0.3, 0.974 + (i % 3) * 0.0004) for i, name in
           enumerate(["int8", "dynamic", "int8-float-io", "int16x8", "fp16-tiny", "x"])]
    pts += [svg.Point("fp32", 95.0, 0.985), svg.Point("fp16", 48.0, 0.985)]
    out = svg.scatter(pts, title="t", x_label="size", y_label="acc",
                      y_fmt=lambda v: f"{100 * v:.1f}%")
    boxes, markers = _labels_and_markers(out)
    assert len(boxes) >= 6  # most points keep a visible name
    for i, a in enumerate(boxes):
        assert a[0] >= 58, "a label runs into the y-axis tick labels"
        assert a[2] <= 460
        for b in boxes[i + 1:]:
            assert svg._boxes_overlap(a, b) is False, (a, b)
        for cx, cy in markers:
            assert not svg._boxes_overlap(a, (cx - 4.5, cy - 4.5, cx + 4.5, cy + 4.5))
    assert out.count("<g class=\"point") == len(pts)  # every point keeps its tooltip


def test_scatter_points_stay_inside_the_axes() -> None:
    pts = [svg.Point("a", 440.0, 0.9520), svg.Point("b", 870.0, 0.9519),
           svg.Point("c", 240.0, 0.9297)]
    out = svg.scatter(pts, title="t", x_label="size", y_label="acc")
    _, markers = _labels_and_markers(out)
    mt, bottom = 30, 320 - 42
    assert all(mt <= cy <= bottom for _, cy in markers)
    assert svg.nice_ticks(0.9297, 0.952)[-1] >= 0.952


def test_heatmap_marks_outline_cells_and_append_the_mark() -> None:
    out = svg.heatmap(["Keras", "int8"], ["a", "b"], [[1.0, 0.9], [0.5, 0.9]],
                      title="h", marks=[[False, False], [True, False]], mark="†")
    assert out.count('class="cell marked"') == 1
    assert 'stroke-width="2"' in out and "0.5†" in out
