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


#: Signals received inside :func:`signals_as_interrupt`. The exception a handler raises can be
#: lost when it lands in Python code that native code called back (a converter's calibration
#: generator, a finalizer): the run checks this between steps (:func:`raise_if_pending`).
_PENDING: list[int] = []


def raise_if_pending() -> None:
    """Raise :class:`Interrupted` when a signal arrived in the block and was not raised where
    the run could see it."""
    if _PENDING:
        raise Interrupted(_PENDING[-1])


@contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise :class:`Interrupted` in the main thread (and
    are remembered for :func:`raise_if_pending`)."""

    def handler(signum: int, frame: Any) -> None:
        _PENDING.append(signum)
        raise Interrupted(signum)

    _PENDING.clear()

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
        _PENDING.clear()
        for s, h in old.items():
            signal.signal(s, h)
