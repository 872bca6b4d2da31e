"""Run one piece of runtime work in a child process, so a native crash (segfault, abort), an
out-of-memory kill or a hang of one mode becomes that mode's recorded failure instead of the end
of the run.

On Linux the child is forked (no copy of the evaluation data is made: pages are shared until
written; no re-import); elsewhere it is spawned. The child returns its result through a pipe.
The parent waits at most ``timeout`` seconds, then kills it. Set ``TFLBENCH_START_METHOD`` to
``spawn`` or ``forkserver`` to choose another start method.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from tflbench.errors import TflbenchError

T = TypeVar("T")


class ChildFailure(TflbenchError):
    """The child process died (signal, exit code) or ran out of time."""

    def __init__(self, message: str, *, signal_name: str | None = None,
                 exitcode: int | None = None, timed_out: bool = False) -> None:
        super().__init__(message)
        self.signal_name = signal_name
        self.exitcode = exitcode
        self.timed_out = timed_out


def start_method() -> str:
    """``fork`` on Linux (fast, shares the data), ``spawn`` elsewhere; overridable by
    ``TFLBENCH_START_METHOD``."""
    chosen = os.environ.get("TFLBENCH_START_METHOD")
    if chosen:
        return chosen
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...],
           kwargs: dict[str, Any]) -> None:
    # The parent decides about signals: a Ctrl-C in the terminal reaches the whole process
    # group, and the parent records the interruption.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    faulthandler.disable()  # the parent reports a crash in one line
    result: tuple[Any, ...]
    try:
        result = ("ok", fn(*args, **kwargs))
    except BaseException as exc:  # sent back whole when it pickles, else as text
        result = ("error", exc, "".join(traceback.format_exception_only(type(exc), exc)))
    try:
        conn.send(result)
    except Exception:  # an unpicklable error: send its text
        conn.send(("error", None, str(result[-1])))
    finally:
        conn.close()


def _describe_exit(exitcode: int | None) -> tuple[str, str | None]:
    if exitcode is None:
        return "did not finish", None
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory: the kernel's OOM killer)" if name == "SIGKILL" else ""
        return f"was killed by {name}{hint}", name
    return f"exited with code {exitcode} without a result", None


def run_in_child(fn: Callable[..., T], *args: Any, timeout: float | None = None,
                 label: str = "the child process", **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a child process; its return value, or its exception
    re-raised here. A crash or a timeout raises :class:`ChildFailure` naming ``label``, the
    signal or exit code, and what to do."""
    ctx: Any = multiprocessing.get_context(start_method())
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, kwargs), daemon=True)
    proc.start()
    send.close()
    try:
        ready = recv.poll(timeout)
        if ready:
            try:
                message = recv.recv()
            except EOFError:
                message = None
        else:
            message = None
            if proc.is_alive():
                proc.kill()
                proc.join(5)
                raise ChildFailure(
                    f"{label} did not finish within {timeout:g} s and was stopped. Raise the "
                    "limit (--mode-timeout) if the model is just slow.", timed_out=True)
        proc.join(10)
    except BaseException:
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        raise
    finally:
        recv.close()
    if message is None:
        text, name = _describe_exit(proc.exitcode)
        raise ChildFailure(f"{label} {text}: the runtime crashed on this model. The other "
                           "modes go on; the file may be corrupt or hit a runtime bug.",
                           signal_name=name, exitcode=proc.exitcode)
    if message[0] == "ok":
        return message[1]  # type: ignore[no-any-return]
    exc = message[1]
    if isinstance(exc, BaseException):
        raise exc
    raise ChildFailure(f"{label} failed: {message[2].strip()}")
