"""Host run -> bundle -> device measurement on the same machine: identical outputs, so identical
agreement and accuracy; and the `tflbench bundle` command end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bundle_helpers import FAST

from tflbench.bundle import MANIFEST, arrays_for_subject, read_bundle, write_bundle
from tflbench.cli import main as cli_main
from tflbench.measure import measure_bundle

MODES = "fp32,dynamic,int8"


@pytest.fixture(scope="module")
def host_run(tiny_model: Any, digits: Any, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, Any]:
    from tflbench import pipeline
    from tflbench.modes import resolve_modes

    d = tmp_path_factory.mktemp("host")
    model_path = d / "tiny.keras"
    tiny_model.save(model_path)
    settings = pipeline.RunSettings(modes=tuple(resolve_modes(MODES)), cache_dir=d / "cache",
                                    latency=FAST, device="host")
    subject = pipeline.subject_from_model_file(model_path, digits, name="tiny")
    doc = pipeline.run([subject], settings)
    arrays = {"tiny": arrays_for_subject(subject, settings)}
    return {"doc": doc, "arrays": arrays, "model_path": model_path, "cache": d / "cache"}


def test_device_results_equal_host_results(host_run: dict[str, Any], tmp_path: Path) -> None:
    host = host_run["doc"]
    out = write_bundle(host, host_run["arrays"], tmp_path / "b", max_samples=None)
    device = measure_bundle(out, latency=FAST, sweep=False, device="device")
    h_model, d_model = host["models"][0], device["models"][0]
    assert d_model["dataset"]["fingerprint"] == h_model["dataset"]["fingerprint"]
    assert d_model["model_sha256"] == h_model["model_sha256"]
    assert d_model["keras"] == h_model["keras"]
    h_modes = {r["mode"]: r for r in h_model["modes"]}
    for rec in d_model["modes"]:
        h = h_modes[rec["mode"]]
        assert h["status"] == rec["status"] == "ok"
        assert rec["agreement"] == h["agreement"], rec["mode"]
        assert rec["accuracy"] == h["accuracy"], rec["mode"]
        assert rec["io"] == h["io"]
        assert rec["file"]["sha256"] == h["file"]["sha256"]
    fp32 = next(r for r in d_model["modes"] if r["mode"] == "fp32")
    assert fp32["agreement"]["top1"] == 1.0


def test_zip_round_trip(host_run: dict[str, Any], tmp_path: Path) -> None:
    z = write_bundle(host_run["doc"], host_run["arrays"], tmp_path / "b", zip=True,
                     max_samples=40)
    device = measure_bundle(z, latency=FAST, sweep=False, e2e=False, device="device")
    assert all(r["status"] == "ok" and r["agreement"]["n"] == 40
               for r in device["models"][0]["modes"])


def test_bundle_command(host_run: dict[str, Any], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-bundle"
    results = tmp_path / "host.json"
    rc = cli_main(["bundle", "--model", str(host_run["model_path"]), "--data", "digits",
                   "--name", "tiny", "--modes", "fp32,int8", "--cache-dir",
                   str(host_run["cache"]), "--out", str(out), "--max-samples", "25",
                   "--results", str(results), "--quiet"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "tflbench measure" in printed
    assert f"then merge: tflbench report {out} results-device.json" in printed
    manifest = json.loads((out / MANIFEST).read_text())
    assert [m["mode"] for m in manifest["models"][0]["modes"]] == ["fp32", "int8"]
    assert manifest["models"][0]["n_samples"] == 25
    assert manifest["thresholds"]["tiny"]["int8"]["require_conversion"] is True
    assert results.is_file()
    with read_bundle(out, strict=True) as b:
        assert b.models[0].x is not None and len(b.models[0].x) == 25
    # an existing bundle is kept unless --force
    rc = cli_main(["bundle", "--model", str(host_run["model_path"]), "--modes", "fp32",
                   "--cache-dir", str(host_run["cache"]), "--out", str(out), "--quiet"])
    assert rc == 2
    assert "not empty" in capsys.readouterr().err
