"""``tflbench report`` command: sources (results JSON or a bundle), output paths, formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tflbench.cli import main as cli_main

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"


def _zip(tmp_path: Path) -> Path:
    return Path(shutil.make_archive(str(tmp_path / "digits-mini"), "zip", FIXTURE.parent,
                                    FIXTURE.name))


@pytest.mark.parametrize("kind", ["dir", "zip"])
def test_a_bundle_stands_for_its_host_results(kind: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    source = FIXTURE if kind == "dir" else _zip(tmp_path)
    out = tmp_path / "r.json"
    assert cli_main(["report", str(source), "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    host = json.loads((FIXTURE / "host-results.json").read_text())
    assert [m["name"] for m in doc["models"]] == [m["name"] for m in host["models"]]
    assert doc["device"] == host["device"]


def test_a_bundle_without_host_results_is_one_error(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(FIXTURE, bundle)
    (bundle / "host-results.json").write_text("{}")
    assert cli_main(["report", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert "holds no intact host results" in err and str(bundle) in err
    assert "Traceback" not in err


HOST = FIXTURE / "host-results.json"


@pytest.mark.parametrize("name", ["out.pdf", "out"])
def test_unknown_output_suffix_is_refused(name: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / name
    assert cli_main(["report", str(HOST), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert not out.exists()
    for suffix in (".md", ".html", ".json", ".txt", "--format"):
        assert suffix in err


def test_format_option_allows_any_suffix(tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    assert cli_main(["report", str(HOST), "-o", str(out), "--format", "md"]) == 0
    assert out.read_text().startswith("#")


def test_output_under_a_file_is_one_error(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("keep")
    out = tmp_path / "README.md" / "x.md"
    assert cli_main(["report", str(HOST), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"Cannot write the report to {out}" in err
    assert "is a file, not a folder" in err and "Traceback" not in err
    assert (tmp_path / "README.md").read_text() == "keep"


def test_unwritable_output_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import tflbench.fileio

    def refuse(*args: object, dir: str = "", **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied", dir)

    monkeypatch.setattr(tflbench.fileio.tempfile, "mkstemp", refuse)
    out = tmp_path / "r.md"
    assert cli_main(["report", str(HOST), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"Cannot write the report to {out}: Permission denied" in err


def test_text_output_has_no_trailing_spaces(tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    assert cli_main(["report", str(HOST), "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert any("fp32" in line for line in lines)
    assert all(line == line.rstrip() for line in lines)


def test_piped_terminal_report_has_no_trailing_spaces(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert cli_main(["report", str(HOST)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("fp32" in line for line in lines)
    assert all(line == line.rstrip() for line in lines)
