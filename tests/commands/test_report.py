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
