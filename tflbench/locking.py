"""An inter-process file lock, so parallel pytest workers run the pipeline once.

``with FileLock(path):`` blocks until no other process holds the lock on ``path``. It uses
``fcntl.flock`` on POSIX and ``msvcrt.locking`` on Windows; the lock is released when the block
ends or the process dies, so a crashed worker never leaves a stale lock behind.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from tflbench.errors import TflbenchError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


class FileLock:
    """An exclusive advisory lock on ``path`` (created if missing, never deleted)."""

    def __init__(self, path: str | os.PathLike[str], timeout: float | None = None) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._fh: IO[Any] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+b")  # noqa: SIM115 - kept open while locked
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            try:
                if fcntl is not None:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                else:  # pragma: no cover - Windows
                    fh.seek(0)
                    msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                break
            except OSError:
                if deadline is not None and time.monotonic() > deadline:
                    fh.close()
                    raise TflbenchError(
                        f"Timed out after {self.timeout:g} s waiting for the lock {self.path} "
                        "held by another tflbench process. Wait for it to finish, or remove "
                        "the cache directory if no other process is running."
                    ) from None
                time.sleep(0.05)
        self._fh = fh

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            else:  # pragma: no cover - Windows
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        finally:
            fh.close()

    @property
    def locked(self) -> bool:
        return self._fh is not None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
