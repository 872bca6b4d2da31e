"""Shared by the scale tests: a CLI run of the tiny model and the figures that must not change
between executors."""

from __future__ import annotations

import json
from pathlib import Path

from tflbench.cli import main as cli_main


def run_cli(model: Path, data: Path, out: Path, cache: Path, *extra: str) -> dict:
    rc = cli_main(["run", "--model", str(model), "--data", f"npz:{data}", "--modes",
                   "fp32,dynamic,int8", "--quiet", "--report-dir", str(out),
                   "--cache-dir", str(cache), *extra])
    assert rc == 0
    return json.loads((out / "results.json").read_text())


def figures(doc: dict) -> dict:
    """Agreement, accuracy, its paired interval and the file digest per (model, mode)."""
    return {(m["name"], r["mode"]): (r["agreement"], r["accuracy"]["accuracy"],
                                     r["accuracy"]["delta_ci95"], r["file"]["sha256"])
            for m in doc["models"] for r in m["modes"]}
