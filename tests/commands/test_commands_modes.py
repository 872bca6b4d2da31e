"""``tflbench modes`` at a narrow terminal: every mode name in full, nothing cut."""

from __future__ import annotations

import pytest

from tflbench.cli import main
from tflbench.modes import MODES


@pytest.mark.parametrize("columns", ["60", "80", "200"])
def test_mode_names_never_truncate(columns: str, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert main(["modes"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "…" not in out
    assert max(len(line) for line in lines) <= int(columns)
    if int(columns) >= 80:
        assert "Full-integer kernels with float32 input" in " ".join(out.split())
    first_cells = {line.split()[0] for line in lines if line.strip()}
    assert set(MODES) <= first_cells


def test_piped_output_has_no_trailing_spaces(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["modes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines
    assert all(line == line.rstrip() for line in lines)
