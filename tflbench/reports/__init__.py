"""Reports rendered from the results JSON only: terminal, Markdown, HTML (inline SVG) and JSON.

* :mod:`~tflbench.reports.table` builds the rows every renderer shows,
* :mod:`~tflbench.reports.terminal`, :mod:`~tflbench.reports.markdown`,
  :mod:`~tflbench.reports.html` render them, :mod:`~tflbench.reports.svg` draws the plots,
* :mod:`~tflbench.reports.recommend` picks the mode to ship under limits,
* :mod:`~tflbench.reports.merge` joins documents from several devices,
  :mod:`~tflbench.reports.baseline` compares a document with a baseline.

No module here imports TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

FORMATS = ("md", "html", "json", "term")

__all__ = ["FORMATS", "render", "write_all"]


def render(doc: dict[str, Any], fmt: str) -> str:
    """``doc`` rendered as text in one of :data:`FORMATS` (``term`` gives plain text)."""
    from tflbench.errors import ConfigError

    if fmt == "md":
        from tflbench.reports import markdown

        return markdown.render(doc)
    if fmt == "html":
        from tflbench.reports import html

        return html.render(doc)
    if fmt == "json":
        from tflbench.results import to_json

        return to_json(doc) + "\n"
    if fmt == "term":
        import io

        from rich.console import Console

        from tflbench.reports import terminal

        console = Console(file=io.StringIO(), width=160, record=True, color_system=None)
        terminal.render(doc, console)
        return console.export_text()
    raise ConfigError(f"Unknown report format. Received: {fmt!r}. Expected one of: "
                      f"{', '.join(FORMATS)}.")


def write_all(doc: dict[str, Any], report_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``results.json``, ``report.md`` and ``report.html`` into ``report_dir``.

    Returns ``{"json": path, "md": path, "html": path}``. Files are written atomically.
    """
    from tflbench.results import save

    out_dir = Path(report_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": save(doc, out_dir / "results.json")}
    for fmt, name in (("md", "report.md"), ("html", "report.html")):
        target = out_dir / name
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(render(doc, fmt), encoding="utf-8")
        os.replace(tmp, target)
        paths[fmt] = target
    return paths
