"""Using every core, a CI matrix, or a cluster: how the (model, mode) jobs of a run are split.

* :func:`plan_jobs` picks how many worker processes a run uses (cores and memory) and says why.
* :func:`shard_jobs` keeps the deterministic part ``I/N`` of the (model, mode) jobs for a CI
  matrix; :func:`merge_shards` joins the shard documents into one that gates and renders exactly
  like an unsharded run.
* :func:`convert_parallel` converts independent (model, mode) pairs in a pool of worker
  processes (TensorFlow in each, started from a fork server that imported it once).
* :func:`predict_threaded` evaluates one ``.tflite`` over the rows on several threads, each
  with its own interpreter, taking batches from one queue (``invoke()`` releases the GIL, so
  the threads run on separate cores); the default, as it costs no fork and no copy.
  Batches are cut as one interpreter cuts them, so the outputs are bit-identical to its
  outputs. Forked worker processes were measured too and are slower
  (``benchmarks/test_bench_scale.py``); :func:`shard_bounds` cuts the Ray executor's shards.

Latency is never timed here: the pipeline times each mode after its parallel work has ended,
with nothing else running (``settings.scheduling`` in the results says so).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tflbench.errors import ConfigError, ResultsError

#: Resident memory one conversion worker may need (TensorFlow plus a small model); the pool is
#: capped so that every worker fits in the available memory with this much each.
WORKER_MEMORY_BYTES = 1_500 << 20
#: Fewer rows than this per shard are not worth a process.
MIN_ROWS_PER_SHARD = 512
#: Less estimated in-process evaluation time than this (seconds) is not worth forking workers
#: from a process that holds TensorFlow: a small model's 8,192 rows took 0.4 s in process and
#: 1.0 s on 2 forked workers (benchmarks/test_bench_scale.py).
MIN_SHARDED_SECONDS = 2.0


def estimated_seconds(path: str, x: Any, *, num_threads: int, xnnpack: bool,
                      backend: str | None, batch: int, name: str) -> float:
    """The in-process evaluation time of every row of ``x``, from one timed batch (after
    one untimed) on a fresh interpreter."""
    import time

    from tflbench.runtime import Runner

    runner = Runner(path, num_threads=num_threads, xnnpack=xnnpack, backend=backend, name=name)
    rows = x[:batch]
    runner.predict(rows, batch_size=batch)
    t0 = time.perf_counter_ns()
    runner.predict(rows, batch_size=batch)
    return (time.perf_counter_ns() - t0) / 1e9 * len(x) / max(1, len(rows))


@dataclass(frozen=True)
class JobPlan:
    """How many worker processes a run uses, and why (shown in progress and results)."""

    workers: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"workers": self.workers, "reason": self.reason}


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def plan_jobs(requested: int | None, cores: int | None = None,
              memory: int | None = None) -> JobPlan:
    """``requested`` workers (``None``: ``TFLBENCH_JOBS`` if set; ``None``/0: one per usable
    core), capped by the available memory at :data:`WORKER_MEMORY_BYTES` each."""
    from tflbench.environment import usable_cores

    if requested is not None and (isinstance(requested, bool) or requested < 0):
        raise ConfigError(f"--jobs must be a whole number >= 0 (0: every core). Received: "
                          f"{requested!r}.")
    if requested is None and os.environ.get("TFLBENCH_JOBS", "").strip():
        try:
            requested = int(os.environ["TFLBENCH_JOBS"])
        except ValueError:
            raise ConfigError(f"TFLBENCH_JOBS must be a whole number. Received: "
                              f"{os.environ['TFLBENCH_JOBS']!r}.") from None
    cores = cores or usable_cores()
    want = requested or cores
    mem = memory if memory is not None else _available_memory()
    if mem is not None:
        fit = max(1, mem // WORKER_MEMORY_BYTES)
        if fit < want:
            return JobPlan(int(fit), f"{want} wanted, {fit} fit in {mem >> 20} MiB available "
                                     f"at {WORKER_MEMORY_BYTES >> 20} MiB per worker")
    why = "as requested" if requested else f"one per usable core ({cores})"
    return JobPlan(int(want), why)


# ---------------------------------------------------------------------------------------- shards


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """``"I/N"`` -> ``(I, N)`` with 1 <= I <= N."""
    if spec is None:
        return None
    try:
        i_text, n_text = spec.split("/")
        index, count = int(i_text), int(n_text)
    except ValueError:
        raise ConfigError(f"--shard takes I/N, e.g. 1/4. Received: {spec!r}.") from None
    if count < 1 or not 1 <= index <= count:
        raise ConfigError(f"--shard I/N needs 1 <= I <= N. Received: {spec!r}.")
    return index, count


def shard_jobs(jobs: Sequence[tuple[str, str]], shard: tuple[int, int] | None
               ) -> list[tuple[str, str]]:
    """The (model, mode) jobs of shard ``(I, N)``: every N-th job of the run's fixed order,
    starting at the I-th, so shards are disjoint, cover every job, and differ by at most one."""
    if shard is None:
        return list(jobs)
    index, count = shard
    return [job for k, job in enumerate(jobs) if k % count == index - 1]


def merge_shards(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One document from the shard documents of one run (``settings.shard``): models joined by
    name, their modes in the run's order, as an unsharded run writes them."""
    shards = [(d.get("settings") or {}).get("shard") for d in docs]
    if not docs or any(s is None for s in shards):
        raise ResultsError("merge_shards() takes documents written with --shard.")
    counts = {s["count"] for s in shards}  # type: ignore[index]
    indices = sorted(s["index"] for s in shards)  # type: ignore[index]
    if len(counts) != 1 or indices != list(range(1, next(iter(counts)) + 1)):
        raise ResultsError(f"The shard files do not make one run: shards {indices} of "
                           f"{sorted(counts)}. Give every shard I/N of the same run once.")
    order = sorted(docs, key=lambda d: d["settings"]["shard"]["index"])
    out = copy.deepcopy(order[0])
    out["settings"].pop("shard", None)
    out["settings"]["merged_shards"] = len(order)
    out["created"] = max(str(d.get("created") or "") for d in order)
    out["baseline"] = out["recommendation"] = None
    out.pop("gates", None)
    wanted = list(out["settings"].get("modes") or [])
    models: dict[str, dict[str, Any]] = {}
    for d in order:
        for m in d["models"]:
            target = models.setdefault(m["name"], {**copy.deepcopy(m), "modes": []})
            target["modes"].extend(copy.deepcopy(m["modes"]))
    for m in models.values():
        m["modes"].sort(key=lambda r: wanted.index(r["mode"]) if r["mode"] in wanted else 1 << 30)
        # A shard without the fp32 mode could not compute size ratios: the whole run can.
        ref = next((r["file"]["size_bytes"] for r in m["modes"]
                    if r["mode"] == "fp32" and r.get("file")), None)
        for r in m["modes"]:
            if r.get("file") and ref:
                r["file"]["size_ratio"] = r["file"]["size_bytes"] / ref
    out["models"] = list(models.values())
    warnings: list[str] = []
    for d in order:
        for line in d.get("warnings") or []:
            if line not in warnings:
                warnings.append(line)
    out["warnings"] = warnings or None
    if out["warnings"] is None:
        out.pop("warnings")
    return out


def is_shard(doc: dict[str, Any]) -> bool:
    return bool((doc.get("settings") or {}).get("shard"))


# ----------------------------------------------------------------------------------- conversion


def _convert_job(model_path: str, safe_mode: bool, mode: Any, rep: np.ndarray,
                 name: str) -> tuple[bytes, dict[str, Any]]:
    from tflbench.convert import convert
    from tflbench.models.loader import load_model

    model = load_model(model_path, safe_mode=safe_mode)
    outcome = convert(model, mode, rep, name=name)
    return outcome.tflite, outcome.record()


def _train_job(rebuild: dict[str, Any], cache_root: str) -> str:
    """Train a recipe subject (``Subject.rebuild``) into the cache; the model file's path."""
    from tflbench.cache import Cache
    from tflbench.capture import captured_fds
    from tflbench.subjects import subject_from_recipe

    subject = subject_from_recipe(rebuild["name"], rebuild["dataset"],
                                  subject_name=rebuild["subject_name"], **rebuild["params"])
    cache = Cache(cache_root)
    ds = subject.load_dataset()
    with captured_fds((2,)):
        subject.build_model(ds, cache, lambda *_: None)
    return str(cache.path("models", subject.model_key(ds), ".keras"))


def conversion_pool(workers: int) -> Any:
    """A process pool for training and conversions, its workers forked from a server that
    imported TensorFlow once. TensorFlow keeps its default thread pools in each worker (as many
    threads as usable cores, as in the main process): a recipe trains to the same weights as
    with ``--jobs 1`` (fewer threads change the order of float sums, hence the weights), and
    sharing the cores cost no wall time on the default run (measured; docs/scale.md)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tensorflow", "tflbench.convert", "tflbench.models.loader"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def stop_pool(pool: Any) -> None:
    """Cancel what has not started and terminate the workers (an interrupted run does not wait
    for a training or a conversion to finish)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # gone after shutdown
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        proc.terminate()


def _ready() -> None:
    """A job that does nothing: submitting it starts a worker."""


def warm_up(pool: Any, workers: int) -> Any:
    """Start the fork server (TensorFlow's import, a few seconds) and ``workers`` workers on a
    thread, so this process loads data and computes references meanwhile; the thread."""
    import threading

    def start() -> None:
        try:
            for _ in range(workers):
                pool.submit(_ready)
        except RuntimeError:  # the pool was shut down first: nothing to warm
            pass

    thread = threading.Thread(target=start, daemon=True, name="tflbench-pool-warm-up")
    thread.start()
    return thread


def convert_parallel(jobs: Sequence[tuple[str, bool, Any, np.ndarray, str]], workers: int,
                     done: Callable[[int, Any], None]) -> None:
    """Convert ``jobs`` (model file, safe_mode, mode, calibration rows, name) on ``workers``
    processes; ``done(index, result_or_exception)`` is called as each finishes."""
    from concurrent.futures import as_completed

    with conversion_pool(workers) as pool:
        futures = {pool.submit(_convert_job, *job): i for i, job in enumerate(jobs)}
        for fut in as_completed(futures):
            try:
                result: Any = fut.result()
            except Exception as exc:  # that pair failed; the others go on
                result = exc
            done(futures[fut], result)


# ----------------------------------------------------------------------------------- evaluation


def shard_bounds(n: int, shards: int, batch: int) -> list[tuple[int, int]]:
    """Contiguous ``[start, stop)`` row ranges, cut at multiples of ``batch``."""
    batches = max(1, -(-n // batch))
    shards = max(1, min(shards, batches))
    per = -(-batches // shards)
    out = []
    for s in range(shards):
        start, stop = s * per * batch, min(n, (s + 1) * per * batch)
        if start < stop:
            out.append((start, stop))
    return out


def predict_threaded(path: str, x: Any, *, workers: int, num_threads: int, xnnpack: bool,
                     backend: str | None, batch: int, name: str) -> np.ndarray | None:
    """The outputs of every row, evaluated by ``workers`` threads, each with its own
    interpreter, taking the next batch of ``batch`` rows from a shared counter; ``None`` when
    there are fewer than two batches (the caller evaluates in process). Batches are the same
    rows one interpreter would see, so the outputs are identical to its outputs."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tflbench.runtime import Runner

    n = len(x)
    batches = -(-n // batch) if batch > 0 else 0
    threads = min(workers, batches)
    if threads < 2:
        return None
    parts: list[np.ndarray | None] = [None] * batches
    lock = threading.Lock()
    cursor = [0]

    def take() -> int:
        with lock:
            k = cursor[0]
            cursor[0] += 1
            return k

    def work() -> None:
        runner = Runner(path, num_threads=num_threads, xnnpack=xnnpack, backend=backend,
                        name=name)
        try:
            while (k := take()) < batches:
                parts[k] = runner.predict(x[k * batch:min(n, (k + 1) * batch)],
                                          batch_size=batch)
        except BaseException:
            with lock:
                cursor[0] = batches  # the other threads stop at their next batch
            raise

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tflbench-eval") as pool:
        for fut in [pool.submit(work) for _ in range(threads)]:
            fut.result()
    return np.concatenate(parts)  # type: ignore[arg-type]
