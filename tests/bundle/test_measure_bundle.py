"""Measuring a bundle: every mode's record, per-mode failures, the sweep, the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from bundle_helpers import FAST, FIXTURE, replace_file

from tflbench import environment
from tflbench.cli import main as cli_main
from tflbench.errors import BundleError, ConfigError
from tflbench.measure import measure_bundle, parse_threads, rss_kb, sweep_thread_counts
from tflbench.results import load, validate


@pytest.fixture(scope="module")
def device_doc() -> dict:
    return measure_bundle(FIXTURE, latency=FAST, device="test-device", xnnpack_sweep=True,
                          threads_sweep=[1, 2, 64])


def _modes(doc: dict) -> dict[str, dict]:
    return {r["mode"]: r for r in doc["models"][0]["modes"]}


def test_document_shape(device_doc: dict) -> None:
    validate(device_doc)
    assert device_doc["device"] == "test-device"
    assert device_doc["environment"]["runtime"]["name"]
    s = device_doc["settings"]
    assert s["num_threads"] == 1 and s["xnnpack"] is True
    assert s["bundle"]["host_device"] == "fixture-host"
    model = device_doc["models"][0]
    assert model["name"] == "digits-mini"
    assert model["dataset"]["n_eval"] == 100
    assert len(model["keras"]["confusion"]) == 10


def test_every_mode_measured(device_doc: dict) -> None:
    modes = _modes(device_doc)
    assert set(modes) == {"fp32", "dynamic", "int8"}
    for rec in modes.values():
        assert rec["status"] == "ok", rec["error"]
        assert rec["agreement"]["n"] == 100
        assert 0.0 <= rec["agreement"]["top1"] <= 1.0
        assert len(rec["accuracy"]["per_class_accuracy"]) == 10
        lat = rec["latency"]
        assert lat["measures"] == "invoke" and lat["threads"] == 1 and lat["xnnpack"] is True
        assert lat["n"] >= 5 and lat["init_us"] > 0 and lat["first_invoke_us"] > 0
        assert len(lat["samples"]) == lat["n"]
        e2e = rec["latency_e2e"]
        assert e2e["measures"] == "set_input+invoke+get_output" and "samples" not in e2e
        mem = rec["memory"]
        assert {"rss_load_kb", "rss_allocate_kb", "rss_invoke_kb", "rss_total_kb"} <= set(mem)
        assert rec["file"]["path"].endswith(".tflite") and rec["file"]["size_bytes"] > 0
    assert modes["fp32"]["agreement"]["top1"] == 1.0
    assert modes["int8"]["io"]["input_dtype"] == "int8"


def test_sweep_is_capped_deduplicated_and_covers_xnnpack(device_doc: dict) -> None:
    cores = environment.usable_cores()
    expected_threads = sorted({1, min(2, cores), cores})
    for rec in device_doc["models"][0]["modes"]:
        combos = [(r["threads"], r["xnnpack"]) for r in rec["latency_sweep"]]
        assert len(combos) == len(set(combos))
        assert sorted({t for t, _ in combos}) == expected_threads
        assert {x for _, x in combos} == {True, False}
        assert all("samples" not in r for r in rec["latency_sweep"])


def test_sweep_thread_counts() -> None:
    assert sweep_thread_counts([4, 1, 2, 2, 16], cores=4) == [1, 2, 4]
    assert sweep_thread_counts(None, cores=2) == [1, 2]
    assert sweep_thread_counts(None, cores=8) == [1, 2, 4, 8]
    with pytest.raises(ConfigError, match="positive integers"):
        sweep_thread_counts([0])
    assert parse_threads("1, 2,4") == [1, 2, 4]
    assert parse_threads("auto") is None
    assert parse_threads("none") == []
    with pytest.raises(ConfigError, match="--threads"):
        parse_threads("one,two")


def test_rss_is_read() -> None:
    kb, source = rss_kb()
    if os.path.exists("/proc/self/status"):
        assert kb is not None and kb > 0 and "VmRSS" in source


def test_altered_mode_fails_others_run(bundle_copy: Path) -> None:
    p = bundle_copy / "digits-mini" / "dynamic.tflite"
    p.write_bytes(p.read_bytes()[:-10] + b"0123456789")
    doc = measure_bundle(bundle_copy, latency=FAST, sweep=False, e2e=False)
    modes = _modes(doc)
    assert modes["dynamic"]["status"] == "failed"
    assert modes["dynamic"]["stage"] == "load"
    assert "digits-mini/dynamic.tflite" in modes["dynamic"]["error"]
    assert doc["settings"]["bundle"]["problems"]
    assert modes["fp32"]["status"] == "ok" and modes["int8"]["status"] == "ok"
    with pytest.raises(BundleError, match="dynamic.tflite"):
        measure_bundle(bundle_copy, latency=FAST, sweep=False, strict=True)


def test_runtime_rejected_tflite_fails_with_one_line(bundle_copy: Path) -> None:
    # Correct checksum, valid identifier, garbage flatbuffer: only the runtime can tell.
    bad = b"\x10\x00\x00\x00TFL3" + bytes(range(256)) * 4
    replace_file(bundle_copy, "digits-mini/fp32.tflite", bad, update_manifest=True)
    doc = measure_bundle(bundle_copy, latency=FAST, sweep=False, e2e=False)
    modes = _modes(doc)
    assert modes["fp32"]["status"] == "failed" and modes["fp32"]["stage"] == "load"
    assert "\n" not in modes["fp32"]["error"]
    assert "fp32.tflite" in modes["fp32"]["error"]
    assert modes["dynamic"]["status"] == "ok" and modes["int8"]["status"] == "ok"


def test_modes_filter_and_no_sweep() -> None:
    doc = measure_bundle(FIXTURE, latency=FAST, modes=["int8"], sweep=False, e2e=False,
                         num_threads=2)
    (rec,) = doc["models"][0]["modes"]
    assert rec["mode"] == "int8" and rec["latency"]["threads"] == 2
    assert "latency_sweep" not in rec and "latency_e2e" not in rec
    with pytest.raises(ConfigError, match="bundled: dynamic, fp32, int8"):
        measure_bundle(FIXTURE, latency=FAST, modes=["int16x8"])


def test_cli_writes_results_and_prints_tables(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dev.json"
    rc = cli_main(["measure", str(FIXTURE), "--out", str(out), "--device", "pi-test",
                   "--threads", "1", "--min-runs", "5", "--min-seconds", "0",
                   "--warmup-runs", "1", "--max-seconds", "1", "--quiet", "--gate"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    doc = load(out)
    assert doc["device"] == "pi-test"
    assert doc["settings"]["latency"]["min_runs"] == 5
    assert "gates" in doc and all(g["passed"] for g in doc["gates"])
    assert "digits-mini" in printed and "int8" in printed and "latency sweep" in printed
    assert f"merge with the host: tflbench report {FIXTURE} {out}" in " ".join(printed.split())


def test_cli_user_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["measure", str(tmp_path / "missing"), "--out", str(tmp_path / "x.json")]) == 2
    assert "Bundle not found" in capsys.readouterr().err
    assert cli_main(["measure", str(FIXTURE), "--threads", "x"]) == 2


def test_cli_gate_failure_exits_1(bundle_copy: Path, tmp_path: Path) -> None:
    m = json.loads((bundle_copy / "manifest.json").read_text())
    m["thresholds"]["digits-mini"]["fp32"]["max_latency_p90_us"] = 1e-6
    (bundle_copy / "manifest.json").write_text(json.dumps(m))
    out = tmp_path / "dev.json"
    rc = cli_main(["measure", str(bundle_copy), "--out", str(out), "--threads", "none",
                   "--min-runs", "3", "--min-seconds", "0", "--no-e2e", "--quiet", "--gate"])
    assert rc == 1
    failed = [g for g in load(out)["gates"] if not g["passed"]]
    assert [(g["mode"], g["name"]) for g in failed] == [("fp32", "max_latency_p90_us")]
