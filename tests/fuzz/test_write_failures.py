"""A full disk or a read-only report folder while writing results: one clear error naming the
path, the previous file intact and no temporary file left behind.

The failures are injected where the one atomic writer (``tflbench/fileio.py``) meets the
operating system: creating the temporary file (read-only file system), writing it (no space
left) and renaming it over the previous file. Permission bits are not used: tests may run as
root, which ignores them.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fuzz_helpers import FIXTURE_BUNDLE

import tflbench.fileio as fileio
from tflbench import reports, results
from tflbench.errors import ConfigError, ResultsError

pytestmark = pytest.mark.xdist_group("parsers")

DOC: dict[str, Any] = json.loads((FIXTURE_BUNDLE / "host-results.json").read_text(
    encoding="utf-8"))
PREVIOUS = "previous contents\n"


class _FullDisk:
    """A file object whose writes fail with ENOSPC."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _no_space(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.fdopen
    monkeypatch.setattr(fileio.os, "fdopen", lambda fd, *a, **k: _FullDisk(real(fd, *a, **k)))


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def mkstemp(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(fileio.tempfile, "mkstemp", mkstemp)


def _rename_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(src: Any, dst: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fileio.os, "replace", replace)


FAULTS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "no space while writing": _no_space,
    "read-only folder": _read_only,
    "no space while renaming": _rename_fails,
}


def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("fault", FAULTS)
def test_results_save_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              fault: str) -> None:
    target = tmp_path / "results.json"
    target.write_text(PREVIOUS, encoding="utf-8")
    FAULTS[fault](monkeypatch)
    with pytest.raises(ResultsError) as info:
        results.save(DOC, target)
    message = str(info.value)
    assert str(target) in message and "\n" not in message
    assert os.strerror(errno.EROFS if fault == "read-only folder" else errno.ENOSPC) in message
    assert target.read_text(encoding="utf-8") == PREVIOUS
    assert _only(tmp_path) == ["results.json"]  # no temporary file left behind


@pytest.mark.parametrize("fault", FAULTS)
def test_report_folder_write_keeps_the_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    names = ["report.html", "report.md", "results.json"]
    for name in names:
        (tmp_path / name).write_text(PREVIOUS, encoding="utf-8")
    FAULTS[fault](monkeypatch)
    with pytest.raises(ConfigError) as info:
        reports.write_all(DOC, tmp_path)
    message = str(info.value)
    assert str(tmp_path / "results.json") in message and "\n" not in message
    for name in names:
        assert (tmp_path / name).read_text(encoding="utf-8") == PREVIOUS, name
    assert _only(tmp_path) == names


def test_a_failure_after_the_results_keeps_the_report_being_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The results are written first; a full disk on the Markdown report names that file and
    leaves the previous report as it was."""
    (tmp_path / "report.md").write_text(PREVIOUS, encoding="utf-8")
    real = fileio.os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith("report.md"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", replace)
    with pytest.raises(ConfigError, match="report.md"):
        reports.write_all(DOC, tmp_path)
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == PREVIOUS
    assert results.load(tmp_path / "results.json")["models"][0]["name"] == "digits-mini"
    assert _only(tmp_path) == ["report.md", "results.json"]


def test_results_save_without_a_fault_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text(PREVIOUS, encoding="utf-8")
    results.save(DOC, target)
    assert results.load(target)["schema"] == "tflbench.results"
    assert _only(tmp_path) == ["results.json"]
