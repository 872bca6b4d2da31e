"""The ``targets`` key: runtime releases every mode must load on (require_compatible)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tflbench import config
from tflbench.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_pyproject_targets(tmp_path: Path) -> None:
    p = write(tmp_path / "pyproject.toml", """
        [tool.tflbench]
        targets = ["ai-edge-litert>=2.3", "tflite-runtime==2.14", " tflite-runtime==2.14"]
        """)
    cfg = config.load(p)
    assert cfg.targets == ("ai-edge-litert>=2.3", "tflite-runtime==2.14")
    assert cfg.describe()["targets"] == ["ai-edge-litert>=2.3", "tflite-runtime==2.14"]


def test_tflbench_toml_targets_and_default(tmp_path: Path) -> None:
    p = write(tmp_path / "tflbench.toml", 'targets = ["tensorflow>2.16,<2.22"]\n')
    assert config.load(p).targets == ("tensorflow>2.16,<2.22",)
    write(p, 'modes = ["fp32"]\n')
    assert config.load(p).targets == ()
    write(p, "targets = []\n")
    assert config.load(p).targets == ()


@pytest.mark.parametrize(("value", "message"), [
    ('"tflite-runtime==2.14"', "[tool.tflbench] targets: expected a list of runtime targets"),
    ("[2.14]", "[tool.tflbench] targets: expected a list of runtime targets such as "
               "[\"ai-edge-litert>=2.3\", \"tflite-runtime==2.14\"]; every entry a non-empty "
               "string. Received: 2.14 (float)"),
    ('[""]', "[tool.tflbench] targets: expected a list of runtime targets"),
    ('["tflite-runtime=2.14"]',
     "[tool.tflbench] targets: target 'tflite-runtime=2.14': each clause must be one of"),
    ('["tflite"]', "[tool.tflbench] targets: unknown runtime 'tflite' in target 'tflite'"),
    ('["tflite-runtime==2.14.*"]',
     "[tool.tflbench] targets: target 'tflite-runtime==2.14.*': expected a release number"),
])
def test_bad_targets_name_the_key(tmp_path: Path, value: str, message: str) -> None:
    p = write(tmp_path / "pyproject.toml", f"[tool.tflbench]\ntargets = {value}\n")
    with pytest.raises(ConfigError) as info:
        config.load(p)
    assert message in str(info.value)
    assert str(p.resolve()) in str(info.value)


def test_command_line_targets_replace_the_configured_ones(tmp_path: Path) -> None:
    p = write(tmp_path / "tflbench.toml", 'targets = ["ai-edge-litert>=2.3"]\n')
    cfg = config.load(p).with_overrides(targets=["tflite-runtime==2.14"])
    assert cfg.targets == ("tflite-runtime==2.14",)
    assert config.load(p).with_overrides(targets=None).targets == ("ai-edge-litert>=2.3",)
    with pytest.raises(ConfigError, match=r"--targets: .*'tflite-runtime=2\.14'"):
        cfg.with_overrides(targets=["tflite-runtime=2.14"])
