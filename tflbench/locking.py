"""A cross-process lock, so pytest-xdist workers and parallel runs share the cache safely.

A thin layer over the ``filelock`` package (a well-kept, widely used implementation): waiting
ends after ``timeout`` seconds with one clear :class:`~tflbench.errors.TflbenchError`, and a
lock file that cannot be created or opened (permissions, a read-only folder) is reported at
once instead of being retried forever.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

from tflbench.errors import TflbenchError


class FileLock:
    """An exclusive lock on ``path`` (created if missing)."""

    def __init__(self, path: str | os.PathLike[str], timeout: float | None = None) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._lock: Any = None

    def acquire(self) -> None:
        try:
            import filelock
        except ImportError:  # pragma: no cover - the host extras install it
            raise TflbenchError("Sharing the cache between processes needs the 'filelock' "
                                "package: pip install 'tflbench[gate]'.") from None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TflbenchError(f"Cannot create the folder of the lock {self.path}: "
                                f"{exc.strerror or exc}. Check the cache directory's "
                                "permissions.") from None
        lock = filelock.FileLock(str(self.path),
                                 timeout=-1 if self.timeout is None else self.timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise TflbenchError(
                f"Timed out after {self.timeout:g} s waiting for the lock {self.path} "
                "held by another tflbench process. Wait for it to finish, or remove "
                "the cache directory if no other process is running."
            ) from None
        except OSError as exc:
            raise TflbenchError(f"Cannot take the lock {self.path}: {exc.strerror or exc}. "
                                "Check the cache directory's permissions.") from None
        self._lock = lock

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    @property
    def locked(self) -> bool:
        return self._lock is not None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
