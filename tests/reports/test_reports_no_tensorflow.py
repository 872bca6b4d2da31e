"""Rendering every format never imports TensorFlow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CODE = """
import sys
sys.path.insert(0, {here!r})
from sample_results import make_device_document, make_document
from tflbench.reports import render
from tflbench.reports.merge import merge
from tflbench.reports.recommend import recommend
from tflbench.baseline import compare
doc = merge([make_document(), make_device_document()])
doc["recommendation"] = recommend(doc, max_p90_us=300)
doc["baseline"] = compare(doc, make_document())
for fmt in ("md", "html", "json", "term"):
    assert render(doc, fmt)
import tflbench.commands.report  # noqa: F401
bad = [m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "matplotlib")]
print("LOADED", bad)
"""


def test_reports_do_not_import_tensorflow() -> None:
    proc = subprocess.run([sys.executable, "-c", CODE.format(here=str(HERE))],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "LOADED []" in proc.stdout
