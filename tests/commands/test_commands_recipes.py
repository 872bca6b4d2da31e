"""``tflbench recipes`` at a narrow terminal: recipe names and parameters in full."""

from __future__ import annotations

import pytest

from tflbench.cli import main
from tflbench.models.recipes import RECIPES


@pytest.mark.parametrize("columns", ["60", "80"])
def test_recipe_names_never_truncate(columns: str, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "…" not in out
    assert max(len(line) for line in lines) <= int(columns)
    assert all(line == line.rstrip() for line in lines)
    first_cells = {line.split()[0] for line in lines if line.strip()}
    assert set(RECIPES) <= first_cells
    words = set(out.replace(",", " ").split())
    for name in ("digits-cnn", "digits-mobilenet"):
        for key, value in RECIPES[name].defaults.items():
            assert f"{key}={value}" in words
