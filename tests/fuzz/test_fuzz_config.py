"""Fuzzing the configuration reader: random tables, mutated valid tables and mutated TOML text
end in a :class:`ProjectConfig` or one clear :class:`ConfigError`, never another exception."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fuzz_helpers import (
    NASTY_VALUES,
    Failures,
    Tally,
    all_paths,
    deep,
    fuzz_settings,
    json_values,
    materialize,
    mutate_text,
    mutated,
    nasty_strings,
    outcome,
    run_property,
    set_path,
    sweep_values,
)
from hypothesis import given
from hypothesis import strategies as st

from tflbench.config import load_file, parse

pytestmark = pytest.mark.xdist_group("parsers")

#: Every key of the configuration, valid.
VALID: dict[str, Any] = {
    "modes": ["fp32", "int8"],
    "report_dir": "out/report",
    "cache_dir": "cache",
    "baseline": {"path": "release/results.json", "max_accuracy_drop": 0.02,
                 "max_agreement_drop": 0.01, "max_latency_increase": 0.2, "alpha": 0.01},
    "representative_samples": 50,
    "top_k": 3,
    "device": "pixel-7",
    "max_eval_samples": 100,
    "runtime": {"threads": 2, "xnnpack": False},
    "latency": {"warmup_runs": 1, "warmup_seconds": 0.01, "min_runs": 5, "min_seconds": 0.01,
                "max_runs": 100, "max_seconds": 1.0},
    "thresholds": {"max_size_bytes": 1_000_000, "accuracy_gate": "confident", "alpha": 0.05,
                   "int8": {"min_top1_agreement": 0.97, "min_sqnr_db": False}},
    "models": [
        {"recipe": "digits-cnn", "params": {"epochs": 2}, "data": "digits?fractions=0.8/0.1/0.1",
         "thresholds": {"fp32": {"max_accuracy_drop": 0.01}}},
        {"name": "mine", "path": "model.keras", "data": "npz:data/test.npz?size=32",
         "preprocessing": "mobilenet_v2", "class_names": ["a", "b"], "safe_mode": True},
    ],
}

VALID_TOML = """\
modes = ["fp32", "int8"]
report_dir = "out/report"
top_k = 3
device = "pixel-7"
baseline = {path = "release/results.json", max_latency_increase = 0.2, alpha = 0.01}

[runtime]
threads = 2
xnnpack = false

[latency]
warmup_runs = 1
min_runs = 5
min_seconds = 0.01

[thresholds]
max_size_bytes = 1_000_000

[thresholds.int8]
min_top1_agreement = 0.97
min_sqnr_db = false

[[models]]
recipe = "digits-cnn"
params = {epochs = 2}

[[models]]
name = "mine"
path = "model.keras"
data = "npz:data/test.npz?size=32"
class_names = ["a", "b"]
"""


def _root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="tflbench-fuzz-config-"))
    (root / "model.keras").write_bytes(b"placeholder")
    return root


def _parse_and_use(raw: Any, file: Path) -> None:
    cfg = parse(raw, file, "")
    cfg.describe()
    cfg.latency_settings()


def test_config_parse_random_tables() -> None:
    tally = Tally("config-random")
    root = _root()

    keys = st.sampled_from(sorted(VALID))

    @fuzz_settings()
    @given(raw=st.dictionaries(st.one_of(keys, keys, keys, nasty_strings), json_values,
                               max_size=6))
    def prop(raw: dict[str, Any]) -> None:
        outcome(tally, lambda: _parse_and_use(raw, root / "tflbench.toml"))

    run_property(prop, tally, share=0.025)


def test_config_parse_mutated_tables() -> None:
    tally = Tally("config-mutated")
    root = _root()
    _parse_and_use(VALID, root / "tflbench.toml")  # the base is valid

    @fuzz_settings()
    @given(raw=mutated(VALID))
    def prop(raw: dict[str, Any]) -> None:
        raw = materialize(raw)
        if not isinstance(raw, dict):
            raw = {"models": raw}
        outcome(tally, lambda: _parse_and_use(raw, root / "tflbench.toml"))

    run_property(prop, tally, share=0.04)


@st.composite
def _toml_texts(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["mutated", "nested", "pyproject"]))
    if kind == "nested":
        depth = draw(st.sampled_from([100, 1000, 5000]))
        return ("modes = " + "[" * depth + "]" * depth + "\n").encode()
    text = VALID_TOML.encode()
    if kind == "pyproject":
        text = b"[tool.tflbench]\n" + re.sub(rb"(?m)^(\[\[?)", rb"\1tool.tflbench.", text)
    return mutate_text(text, draw)


def test_config_load_mutated_toml() -> None:
    tally = Tally("config-toml")
    root = _root()
    (root / "tflbench.toml").write_text(VALID_TOML, encoding="utf-8")
    load_file(root / "tflbench.toml")  # the base is valid

    @fuzz_settings()
    @given(data=_toml_texts(), name=st.sampled_from(["tflbench.toml", "pyproject.toml"]))
    def prop(data: bytes, name: str) -> None:
        path = root / name
        path.write_bytes(data)
        outcome(tally, lambda: load_file(path))

    run_property(prop, tally, share=0.025)


def test_deeply_nested_values_anywhere_are_one_config_error() -> None:
    """A value nested 5000 levels deep (lists or tables) at every path of a valid table."""
    root = _root()
    tally = Tally("config-deep")
    failures = Failures()
    for path in all_paths(VALID):
        for kind in ("list", "dict"):
            raw = json.loads(json.dumps(VALID))
            set_path(raw, path, deep(5000, kind=kind))
            failures.run(tally, lambda raw=raw: _parse_and_use(raw, root / "tflbench.toml"),
                         f"{path}=deep {kind}")
    tally.write()
    failures.check()


def test_every_nasty_value_at_every_path() -> None:
    """Each of :data:`NASTY_VALUES` (huge, non-finite, NUL, unicode, wrong type...) in place of
    every value of a valid table."""
    root = _root()
    tally = Tally("config-every-path")
    failures = Failures()
    for i, path in enumerate(all_paths(VALID)):
        for value in sweep_values(i, NASTY_VALUES, per_path=10):
            raw = json.loads(json.dumps(VALID))
            set_path(raw, path, value)
            failures.run(tally, lambda raw=raw: _parse_and_use(raw, root / "tflbench.toml"),
                         f"{path}={value!r:.40}")
    tally.write()
    failures.check()
