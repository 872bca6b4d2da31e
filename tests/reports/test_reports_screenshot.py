"""Render the HTML report in a real headless browser and check the screenshot is a page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sample_results import make_device_document, make_document

from tflbench.reports import html
from tflbench.reports.merge import merge
from tflbench.reports.recommend import recommend

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(),
                    reason="needs /usr/bin/chromium (Debian: apt-get install -y chromium)")
def test_headless_chromium_screenshot(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    doc = merge([make_document(), make_device_document()], sources=["host.json", "rpi4.json"])
    doc["recommendation"] = recommend(doc, max_accuracy_drop=0.015)
    page = tmp_path / "report.html"
    page.write_text(html.render(doc), encoding="utf-8")
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2400",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=180, check=False)
    assert shot.exists(), proc.stderr[-2000:]
    with image.open(shot) as im:
        assert im.size == (1280, 2400)
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        # a rendered page, not a blank or error screen: many colours, the red FAIL banner
        assert len(colours) > 200
        banner = {c for _, c in colours if c == (255, 235, 233)}
        assert banner, "verdict banner colour not found"
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
