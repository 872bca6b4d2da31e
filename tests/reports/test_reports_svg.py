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
