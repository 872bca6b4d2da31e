"""The cache lock: shared by processes, bounded waits, and no endless retry on a bad path."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from tflbench.errors import TflbenchError
from tflbench.locking import FileLock


def _hold(path: str, ready: object, release: object) -> None:
    with FileLock(path):
        ready.set()  # type: ignore[attr-defined]
        release.wait(30)  # type: ignore[attr-defined]


def test_a_held_lock_times_out_with_one_clear_error(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(tmp_path / "x.lock"), ready, release))
    proc.start()
    try:
        assert ready.wait(60)
        with pytest.raises(TflbenchError, match="Timed out after 0.2 s waiting for the lock"):
            FileLock(tmp_path / "x.lock", timeout=0.2).acquire()
    finally:
        release.set()
        proc.join(30)
    with FileLock(tmp_path / "x.lock", timeout=5) as lock:
        assert lock.locked


def test_a_lock_under_a_file_fails_at_once(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(TflbenchError, match="Cannot create the folder of the lock"):
        FileLock(tmp_path / "file" / "x.lock", timeout=None).acquire()
