"""Tests for the machine fingerprint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tflbench import environment


def test_fingerprint_has_the_documented_keys() -> None:
    fp = environment.fingerprint(runtime={"name": "x", "version": "1"}, num_threads=2,
                                 xnnpack=False)
    for key in ("hostname", "os", "machine", "cpu_model", "cpu_count", "affinity", "governor",
                "python", "numpy", "tensorflow", "keras", "runtime", "num_threads", "xnnpack"):
        assert key in fp, key
    assert fp["runtime"] == {"name": "x", "version": "1"}
    assert fp["num_threads"] == 2
    assert fp["xnnpack"] is False
    assert fp["cpu_count"] >= 1
    json.dumps(fp)  # plain JSON


def test_runtime_is_copied_not_shared() -> None:
    rt = {"name": "x", "version": "1"}
    fp = environment.fingerprint(runtime=rt)
    fp["runtime"]["name"] = "changed"
    assert rt["name"] == "x"


def test_cpu_model_x86() -> None:
    text = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i7\n"
    assert environment.cpu_model(text) == "Intel(R) Core(TM) i7"


def test_cpu_model_arm_prefers_board_model_over_hardware() -> None:
    text = ("processor\t: 0\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\n"
            "Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n")
    assert environment.cpu_model(text) == "Raspberry Pi 4 Model B Rev 1.4"


def test_cpu_model_arm_hardware_only() -> None:
    assert environment.cpu_model("Hardware\t: Qualcomm SDM845\n") == "Qualcomm SDM845"


def test_cpu_model_falls_back_to_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment.platform, "processor", lambda: "fallback-cpu")
    assert environment.cpu_model("") == "fallback-cpu"


def test_governor_readable_and_unreadable(tmp_path: Path) -> None:
    p = tmp_path / "scaling_governor"
    p.write_text("performance\n")
    assert environment.governor(p) == "performance"
    assert environment.governor(tmp_path / "missing") is None


def test_affinity_and_usable_cores() -> None:
    aff = environment.affinity()
    if aff is not None:
        assert aff == sorted(aff)
        assert environment.usable_cores() == len(aff)
    assert environment.usable_cores() >= 1


def test_package_versions_come_from_metadata() -> None:
    assert environment.package_version("numpy") is not None
    assert environment.package_version("surely-not-an-installed-dist-xyz") is None


def test_fingerprint_does_not_import_tensorflow() -> None:
    code = (
        "import sys, json\n"
        "from tflbench.environment import fingerprint\n"
        "fp = fingerprint()\n"
        "print(json.dumps(['tensorflow' in sys.modules, 'keras' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, False]
