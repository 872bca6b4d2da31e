"""The installed metadata says what README.md says: the device install (`pip install tflbench`)
brings only what `tflbench measure` needs; gates, reports and conversion come with extras."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _requirements() -> tuple[set[str], dict[str, set[str]]]:
    try:
        reqs = importlib.metadata.requires("tflbench") or []
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        pytest.skip("tflbench is not installed")
    base: set[str] = set()
    extras: dict[str, set[str]] = {}
    for req in reqs:
        name = re.split(r"[\s;<>=!~\[]", req, maxsplit=1)[0].lower()
        m = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", req)
        if m:
            extras.setdefault(m.group(1), set()).add(name)
        else:
            base.add(name)
    return base, extras


def test_device_install_is_light() -> None:
    base, _ = _requirements()
    assert base == {"numpy", "rich", "ai-edge-litert"}
    for heavy in ("tensorflow", "tensorflow-cpu", "pytest", "pytest-benchmark", "keras"):
        assert heavy not in base


def test_host_extra_brings_gates_reports_and_conversion() -> None:
    _, extras = _requirements()
    assert {"pytest", "pytest-benchmark"} <= extras["gate"]
    assert "jinja2" in extras["report"]
    assert "tflbench" in extras["host"]  # tflbench[convert,gate,report]
    assert {"tensorflow-cpu", "tensorflow"} & extras["convert"]


def test_readme_device_line_matches_the_metadata() -> None:
    base, _ = _requirements()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if ln.startswith("# device"))
    listed = set(re.search(r"\(([^)]*) only\)", line).group(1).replace(",", " ").split())  # type: ignore[union-attr]
    assert listed == base
