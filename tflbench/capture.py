"""Capture what native libraries (TensorFlow, the TFLite runtime) print to the process's file
descriptors, so it can be recorded or filtered instead of cluttering the terminal."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def captured_fds(fds: tuple[int, ...] = (1, 2)) -> Iterator[list[str]]:
    """Redirect ``fds`` (1 = stdout, 2 = stderr) into a temporary file for the duration of the
    block; the yielded list holds the captured non-blank lines once the block exits."""
    lines: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in fds}
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        try:
            for fd in fds:
                os.dup2(tmp.fileno(), fd)
            with contextlib.redirect_stdout(sys.stderr) if 1 in fds else contextlib.nullcontext():
                yield lines
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, dup in saved.items():
                os.dup2(dup, fd)
                os.close(dup)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", errors="replace")
            lines.extend(line for line in text.splitlines() if line.strip())
