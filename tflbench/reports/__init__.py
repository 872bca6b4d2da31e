"""Reports rendered from the results JSON only: terminal, Markdown, HTML (inline SVG) and JSON.

* :mod:`~tflbench.reports.table` builds the rows every renderer shows,
* :mod:`~tflbench.reports.terminal`, :mod:`~tflbench.reports.markdown`,
  :mod:`~tflbench.reports.html` render them, :mod:`~tflbench.reports.svg` draws the plots,
* :mod:`~tflbench.reports.recommend` picks the mode to ship under limits,
* :mod:`~tflbench.reports.merge` joins documents from several devices,
  :mod:`~tflbench.reports.baseline` describes the baseline comparison stored in a document
  (the comparison itself is :mod:`tflbench.baseline`).

No module here imports TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tflbench.fileio import atomic_write_text

FORMATS = ("md", "html", "json", "term")

__all__ = ["FORMATS", "render", "write_all", "write_text"]


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
        return "".join(line.rstrip(" ") + "\n" for line in console.export_text().splitlines())
    raise ConfigError(f"Unknown report format. Received: {fmt!r}. Expected one of: "
                      f"{', '.join(FORMATS)}.")


def write_text(path: str | os.PathLike[str], text: str, *, what: str = "the report",
               option: str = "--output") -> Path:
    """Write ``text`` to ``path`` atomically (through ``PATH.tmp``), creating the parent
    folders; an operating-system failure becomes a :class:`ConfigError` naming the path."""
    from tflbench.errors import ConfigError

    out = Path(path)
    try:
        atomic_write_text(out, text)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            reason = f"{blocking} is a file, not a folder"
        raise ConfigError(f"Cannot write {what} to {out}: {reason}. "
                          f"Give a writable path with {option}.") from None
    return out


def write_all(doc: dict[str, Any], report_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``results.json``, ``report.md`` and ``report.html`` into ``report_dir``.

    Returns ``{"json": path, "md": path, "html": path}``. Files are written atomically.
    """
    from tflbench.results import to_json, validate

    out_dir = Path(report_dir)
    target = out_dir / "results.json"
    validate(doc, source=str(target))
    paths = {"json": write_text(target, to_json(doc) + "\n", what="the results",
                                option="the report folder")}
    for fmt, name in (("md", "report.md"), ("html", "report.html")):
        paths[fmt] = write_text(out_dir / name, render(doc, fmt), what="the report",
                                option="the report folder")
    return paths
