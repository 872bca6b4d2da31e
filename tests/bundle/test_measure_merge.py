"""Device results merge with the host's and with other devices' (tflbench report)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bundle_helpers import FAST, FIXTURE

from tflbench.cli import main as cli_main
from tflbench.measure import measure_bundle
from tflbench.reports.merge import merge
from tflbench.results import load, save, validate


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("devices")
    pi4 = save(measure_bundle(FIXTURE, latency=FAST, sweep=False, device="pi4"), d / "pi4.json")
    pi5 = save(measure_bundle(FIXTURE, latency=FAST, sweep=False, device="pi5"), d / "pi5.json")
    manifest = json.loads((FIXTURE / "manifest.json").read_text())
    return FIXTURE / manifest["host_results"], pi4, pi5


def test_device_documents_validate_with_distinct_labels(two_devices: tuple[Path, Path, Path]
                                                        ) -> None:
    host, pi4, pi5 = (load(p) for p in two_devices)
    assert {host["device"], pi4["device"], pi5["device"]} == {"fixture-host", "pi4", "pi5"}
    for doc in (host, pi4, pi5):
        validate(doc)


def test_merge_keys_rows_by_device(two_devices: tuple[Path, Path, Path]) -> None:
    docs = [load(p) for p in two_devices]
    merged = merge(docs, sources=[str(p) for p in two_devices])
    validate(merged)
    # Same model weights and dataset everywhere; the only warning is that the bundle carries
    # fewer samples (100) than the host evaluated, so accuracy is not comparable.
    warnings = merged["merged"]["warnings"]
    assert warnings and all("evaluated on" in w and "but 100 in" in w for w in warnings)
    (model,) = merged["models"]
    keys = {(r["mode"], r["device"]) for r in model["modes"]}
    assert keys == {(m, d) for m in ("fp32", "dynamic", "int8")
                    for d in ("fixture-host", "pi4", "pi5")}
    by = {(r["mode"], r["device"]): r for r in model["modes"]}
    # Same .tflite, same runtime, same inputs: identical outputs on both "devices".
    assert by[("int8", "pi4")]["agreement"] == by[("int8", "pi5")]["agreement"]


def test_report_command_merges_host_and_devices(two_devices: tuple[Path, Path, Path],
                                                tmp_path: Path) -> None:
    out = tmp_path / "merged.md"
    rc = cli_main(["report", *map(str, two_devices), "--output", str(out)])
    assert rc == 0
    text = out.read_text()
    for label in ("fixture-host", "pi4", "pi5"):
        assert label in text
