"""SIGINT and SIGTERM (a cancelled CI job) as one exception the run can catch between steps,
so the finished modes are written as a valid partial results file before the process exits
with 128 + the signal number (130, 143)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Interrupted(KeyboardInterrupt):
    """The run was stopped by ``signum``. Subclasses :class:`KeyboardInterrupt`, so ordinary
    ``except Exception`` handlers (a mode's failure) never swallow it."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def signal_of(exc: BaseException) -> int:
    """The signal behind a :class:`KeyboardInterrupt` (SIGINT unless it says otherwise)."""
    return exc.signum if isinstance(exc, Interrupted) else int(signal.SIGINT)


@contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise :class:`Interrupted` in the main thread."""

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for s in old:
            signal.signal(s, handler)
    except ValueError:  # not the main thread: leave the handlers alone
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
