"""Evaluate one ``.tflite`` against its Keras reference: the one function behind both the host
pipeline (``tflbench run``, the suites) and the device (``tflbench measure``).

The steps, in this order on every machine (docs/metrics-and-timing.md, "Order of steps"):

1. **load**: a fresh interpreter (init time; with ``memory=True`` the RSS growth over load,
   tensor allocation and the first invoke);
2. **first invoke** on that fresh interpreter (lazy kernel preparation), timed once;
3. **evaluate** every reference row in batches: agreement with the Keras outputs, accuracy,
   per-class accuracy, intervals and the paired test (:mod:`tflbench.quality`);
4. **latency** of ``invoke()`` alone on the same, now warm, interpreter with one input set;
5. options (the device's extras): end-to-end latency (set input + invoke + get output), and a
   sweep of thread counts and XNNPACK on/off, each on a fresh interpreter.

A failure at any step returns the record marked failed at that stage with one clear line; what
was measured before it is kept. Bugs in tflbench (:class:`InternalError`) propagate.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tflbench import metrics, quality, timing
from tflbench.errors import InternalError, TflbenchError
from tflbench.records import FileInfo, IoInfo, LatencyRecord, ModeRecord

#: How many distinct inputs the end-to-end latency cycles through.
E2E_INPUTS = 64

Say = Callable[[str], None]


@dataclass(frozen=True)
class Reference:
    """What a candidate is compared with: the evaluated rows, their labels and the Keras
    outputs on exactly those rows (``x`` may be a lazily read array)."""

    x: Any
    y: np.ndarray
    outputs: np.ndarray
    class_names: Sequence[str]
    keras: metrics.Classification

    @property
    def n(self) -> int:
        return int(len(self.y))


@dataclass(frozen=True)
class EvalOptions:
    """How a mode is evaluated and timed. The defaults are the host run's."""

    top_k: int = 5
    batch_size: int = 64
    num_threads: int = 1
    xnnpack: bool = True
    backend: str | None = None
    latency: timing.LatencySettings = field(default_factory=timing.LatencySettings)
    #: Time ``invoke()`` (step 4). Off only where a caller times elsewhere.
    time_latency: bool = True
    #: Keep the raw latency samples in the record (baseline significance tests need them).
    keep_samples: bool = True
    #: Device extras.
    e2e: bool = False
    memory: bool = False
    sweep: tuple[tuple[int, bool], ...] = ()
    #: Run the runtime work (load, evaluate, time) in a child process: a native crash or an
    #: out-of-memory kill of this mode becomes its recorded failure (tflbench.isolate).
    isolate: bool = False
    #: Seconds the runtime work of one mode may take (implies ``isolate``); None: no limit.
    timeout: float | None = None
    #: Interpreters the rows are shared among for step 3 (tflbench.scale.predict_threaded:
    #: one per thread; Ray tasks with the ray executor); the outputs are identical to one
    #: interpreter's.
    eval_workers: int = 1
    #: Where shards run and latency is timed: "local" (here) or "ray" (tflbench.scale_ray).
    executor: str = "local"


def one_line(exc: BaseException) -> str:
    """One line for a failed mode: a tflbench error's own message; for anything else (the
    interpreter's RuntimeError, an OSError...) the exception type first."""
    text = " ".join(str(exc).split())
    if not isinstance(exc, TflbenchError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text[:400] or type(exc).__name__


# ------------------------------------------------------------------------------------- memory


def rss_kb() -> tuple[int | None, str]:
    """``(resident set size in kB, source)``: VmRSS from /proc/self/status where available,
    else the peak RSS from ``resource.getrusage`` (a high-water mark, not the current size)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]), "/proc/self/status VmRSS"
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return (peak // 1024 if sys.platform == "darwin" else peak), "getrusage ru_maxrss (peak)"
    except (ImportError, OSError):  # pragma: no cover - Windows
        return None, "unavailable"


def _delta(after: int | None, before: int | None) -> int | None:
    return None if after is None or before is None else after - before


# ------------------------------------------------------------------------------------- steps


def _latency_record(stats: timing.LatencyStats, *, threads: int | None, xnnpack: bool,
                    init_us: float | None, first_invoke_us: float | None, samples: bool,
                    what: str) -> LatencyRecord:
    return LatencyRecord.from_stats(stats, threads=threads, xnnpack=xnnpack, init_us=init_us,
                                    first_invoke_us=first_invoke_us, samples=samples, what=what)


def _load(path: Path, x0: np.ndarray, threads: int, xnnpack: bool, opts: EvalOptions,
          name: str) -> tuple[Any, float, dict[str, Any]]:
    """A fresh interpreter with one input set and its first invoke timed; RSS around it."""
    from tflbench.runtime import Runner

    rss: list[int | None] = []
    if opts.memory:
        gc.collect()
    rss0, source = rss_kb()
    runner = Runner(path, num_threads=threads, xnnpack=xnnpack, backend=opts.backend, name=name)
    rss1, _ = rss_kb()
    runner.set_single_input(x0)
    rss2, _ = rss_kb()
    first_ns, _ = timing.measure_once_ns(runner.invoke)
    rss3, _ = rss_kb()
    rss = [rss0, rss1, rss2, rss3]
    memory = {"unit": "kB", "source": source, "rss_before_kb": rss[0],
              "rss_load_kb": _delta(rss[1], rss[0]), "rss_allocate_kb": _delta(rss[2], rss[1]),
              "rss_invoke_kb": _delta(rss[3], rss[2]), "rss_total_kb": _delta(rss[3], rss[0])}
    return runner, first_ns / 1000.0, memory


def _e2e(runner: Any, x: Any, opts: EvalOptions) -> LatencyRecord:
    inputs = [np.ascontiguousarray(x[i], dtype=np.float32) for i in range(min(len(x), E2E_INPUTS))]
    state = {"i": 0}

    def call() -> np.ndarray:
        i = state["i"]
        state["i"] = (i + 1) % len(inputs)
        runner.set_single_input(inputs[i])
        runner.invoke()
        return runner.get_output()  # type: ignore[no-any-return]

    stats = timing.measure(call, opts.latency)
    return _latency_record(stats, threads=opts.num_threads, xnnpack=opts.xnnpack, init_us=None,
                           first_invoke_us=None, samples=False,
                           what="set_input+invoke+get_output")


def _sweep(path: Path, x0: np.ndarray, main: LatencyRecord, opts: EvalOptions,
           name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for threads, xnn in opts.sweep:
        if threads == opts.num_threads and xnn == opts.xnnpack:
            rows.append({k: v for k, v in main.to_dict().items() if k != "samples"})
            continue
        try:
            runner, first_us, _ = _load(path, x0, threads, xnn, opts, name)
            runner.set_single_input(x0)
            stats = timing.measure(runner.invoke, opts.latency)
            rec = _latency_record(stats, threads=threads, xnnpack=xnn, init_us=runner.init_us,
                                  first_invoke_us=first_us, samples=False, what="invoke")
            del runner
            rows.append(rec.to_dict())
        except InternalError:
            raise
        except Exception as exc:
            rows.append({"threads": threads, "xnnpack": xnn, "error": one_line(exc)})
    return rows


def evaluate_tflite(path: str | Path, ref: Reference, opts: EvalOptions, *, mode: str,
                    name: str = "", say: Say | None = None,
                    record: ModeRecord | None = None) -> ModeRecord:
    """The :class:`ModeRecord` of the ``.tflite`` at ``path`` against ``ref`` (the steps in
    the module docstring). ``record`` carries what is already known (the conversion, the
    file's bundle path); ``name`` labels errors ("digits-cnn / int8")."""
    p = Path(path)
    label = name or f"{p.name}"
    say = say or (lambda _m: None)
    rec = record or ModeRecord(mode=mode)
    try:
        digest, size = _file_digest(p)
    except TflbenchError as exc:
        return rec.failed("load", one_line(exc))
    rec = rec.replace(file=FileInfo(path=rec.file.path if rec.file else str(p),
                                    size_bytes=size, sha256=digest,
                                    size_ratio=rec.file.size_ratio if rec.file else None))
    if not (opts.isolate or opts.timeout is not None):
        return _evaluate_here(p, ref, opts, label, say, rec)
    from tflbench.isolate import ChildFailure, run_in_child

    say("evaluating (isolated)")
    try:
        return run_in_child(_evaluate_here, p, ref, opts, label, None, rec,
                            timeout=opts.timeout, label=f"{label}: the runtime work")
    except ChildFailure as exc:
        failed = rec.failed("timeout" if exc.timed_out else "evaluate", one_line(exc))
        if exc.signal_name:
            failed = failed.replace(extra={**failed.extra, "signal": exc.signal_name})
        return failed


def _evaluate_here(p: Path, ref: Reference, opts: EvalOptions, label: str, say: Say | None,
                   rec: ModeRecord) -> ModeRecord:
    """The steps of :func:`evaluate_tflite` in this process."""
    say = say or (lambda _m: None)
    stage = "load"
    try:
        x0 = np.asarray(ref.x[0:1], dtype=np.float32)
        runner, first_us, memory = _load(p, x0, opts.num_threads, opts.xnnpack, opts, label)
        rec = rec.replace(io=IoInfo.from_dict(runner.io_record(), "io"),
                          memory=memory if opts.memory else None)

        stage = "evaluate"
        say("evaluating")
        outputs = None
        if opts.eval_workers > 1 and opts.executor == "ray":  # scale: the shards as Ray tasks
            from tflbench.scale import MIN_SHARDED_SECONDS
            from tflbench.scale_ray import predict_sharded

            outputs = predict_sharded(str(p), ref.x, workers=opts.eval_workers,
                                      num_threads=opts.num_threads, xnnpack=opts.xnnpack,
                                      backend=opts.backend, batch=opts.batch_size, name=label,
                                      min_seconds=MIN_SHARDED_SECONDS)  # scale: worth it only then
        elif opts.eval_workers > 1:  # scale: one interpreter per thread, batches from a queue
            from tflbench.scale import predict_threaded

            outputs = predict_threaded(str(p), ref.x, workers=opts.eval_workers,
                                       num_threads=opts.num_threads, xnnpack=opts.xnnpack,
                                       backend=opts.backend, batch=opts.batch_size, name=label)
        if outputs is None:
            outputs = runner.predict(ref.x, batch_size=opts.batch_size)
        metrics.check_finite(outputs, label)
        rec = rec.replace(
            agreement=quality.agreement_record(ref.outputs, outputs, k=opts.top_k),
            accuracy=quality.accuracy_record(ref.y, ref.outputs, outputs, ref.class_names),
        )
        del outputs

        stage = "latency"
        if opts.time_latency and opts.executor == "ray":  # scale: on the node kept for timing
            from tflbench.scale_ray import time_invoke

            say("timing invoke() on Ray")
            rec = rec.replace(latency=time_invoke(p, x0, opts, label))
        elif opts.time_latency:
            say("timing invoke()")
            runner.set_single_input(x0)
            stats = timing.measure(runner.invoke, opts.latency)
            latency = _latency_record(stats, threads=opts.num_threads, xnnpack=opts.xnnpack,
                                      init_us=runner.init_us, first_invoke_us=first_us,
                                      samples=opts.keep_samples, what="invoke")
            rec = rec.replace(latency=latency)
            if opts.e2e:
                rec = rec.replace(latency_e2e=_e2e(runner, ref.x, opts))
            del runner
            if opts.sweep:
                rec = rec.replace(latency_sweep=_sweep(p, x0, latency, opts, label))
    except InternalError:
        raise
    except Exception as exc:  # this mode failed at `stage`; the other modes go on
        return rec.failed(stage, one_line(exc))
    return rec


def _file_digest(p: Path) -> tuple[str, int]:
    from tflbench.errors import ModelFileError
    from tflbench.fileio import sha256_and_size

    try:
        return sha256_and_size(p)
    except OSError as exc:
        raise ModelFileError(f"Cannot read model file {p}: {exc.strerror or exc}. "
                             "Check the path.") from None
