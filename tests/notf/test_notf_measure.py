"""Run by ``tox -e notf``: tflbench installed WITHOUT extras measures the committed bundle.

In the default suite (TensorFlow installed) the same measurement runs; only the check that
TensorFlow is absent is skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"
IN_NOTF_ENV = os.environ.get("TFLBENCH_NOTF") == "1"

_FAST = ["--min-runs", "5", "--min-seconds", "0", "--warmup-runs", "1", "--max-seconds", "1"]


@pytest.mark.skipif(not IN_NOTF_ENV, reason="only meaningful in the notf tox environment")
def test_tensorflow_is_not_installed() -> None:
    for dist in ("tensorflow", "keras"):
        assert importlib.util.find_spec(dist) is None, f"{dist} is installed in the notf env"


def test_measure_the_committed_bundle(tmp_path: Path) -> None:
    from tflbench.cli import main

    out = tmp_path / "device.json"
    rc = main(["measure", str(FIXTURE), "--out", str(out), "--device", "notf", "--threads",
               "1,2", "--xnnpack-sweep", "--quiet", "--gate", *_FAST])
    assert rc == 0
    doc = json.loads(out.read_text())
    modes = {r["mode"]: r for r in doc["models"][0]["modes"]}
    assert set(modes) == {"fp32", "dynamic", "int8"}
    assert all(r["status"] == "ok" for r in modes.values())
    assert modes["fp32"]["agreement"]["top1"] == 1.0
    assert all(g["passed"] for g in doc["gates"])
    if IN_NOTF_ENV:
        assert "tensorflow" not in sys.modules
        assert doc["environment"]["tensorflow"] is None


def test_report_merges_host_and_device_without_tensorflow(tmp_path: Path) -> None:
    from tflbench.cli import main

    out = tmp_path / "device.json"
    assert main(["measure", str(FIXTURE), "--out", str(out), "--threads", "none", "--quiet",
                 "--no-e2e", *_FAST]) == 0
    merged = tmp_path / "merged.json"
    assert main(["report", str(FIXTURE / "host-results.json"), str(out), "--output",
                 str(merged)]) == 0
    doc = json.loads(merged.read_text())
    devices = {r["device"] for m in doc["models"] for r in m["modes"]}
    assert len(devices) == 2
    if IN_NOTF_ENV:
        assert "tensorflow" not in sys.modules
