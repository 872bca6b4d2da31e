"""The Ray executor (``tflbench run --executor ray``): the job graph of :mod:`tflbench.scale` on
a Ray cluster, for when one machine is not enough.

* :func:`plan_ray` connects (``ray_address``) or starts a local Ray instance and says how many
  CPUs the run may use.
* :func:`convert_parallel` converts (model, mode) pairs as Ray tasks: the Keras model file and
  the calibration rows go through the object store (put once per model), the ``.tflite`` bytes
  and the conversion record come back. Workers touch no cache and need no shared file system:
  the driver stores every result in its own content cache.
* :func:`predict_sharded` evaluates one ``.tflite`` over row shards cut at batch boundaries, as
  Ray tasks; each worker process keeps the interpreter of the current model between shards.
  The outputs are bit-identical to one interpreter's.
* :func:`time_invoke` times ``invoke()`` as one Ray task that needs the
  :data:`LATENCY_RESOURCE` and every CPU of the node that has it, so Ray schedules nothing else
  there while it runs.

``ray`` is an optional dependency (``pip install 'tflbench[ray]'``), imported on first use.
"""

from __future__ import annotations

import io
import os
import signal
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.errors import ConfigError
from tflbench.scale import (
    MIN_ROWS_PER_SHARD,
    WORKER_MEMORY_BYTES,
    JobPlan,
    estimated_seconds,
    shard_bounds,
)

#: The custom Ray resource of the node that times latency: ``ray start ... --resources
#: '{"tflbench_latency": 1}'`` on exactly the node whose figures you want.
LATENCY_RESOURCE = "tflbench_latency"
#: Inputs per evaluation task at most (a shard of a large data set is cut further, so the
#: driver holds a few shards, never all rows, in the object store at once).
SHARD_BYTES = 64 << 20

_STATE: dict[str, Any] = {}


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'tflbench[ray]'") from None
    return ray


# ------------------------------------------------------------------------------- the cluster


def check_executor(executor: str | None, address: str | None) -> dict[str, Any]:
    """The ``RunSettings`` changes of ``--executor`` / ``--ray-address``, checked before any
    work: Ray is importable, and an address comes with ``--executor ray``."""
    if executor != "ray":
        raise ConfigError(f"--ray-address needs --executor ray. Received: --executor "
                          f"{executor or 'local'} --ray-address {address!r}.")
    _ray()
    return {"executor": "ray", "ray_address": address or None}


def connect(address: str | None = None) -> Any:
    """The ``ray`` module, initialised: an instance this process already joined, else the
    cluster at ``address``, else a new local instance (every usable core, one
    :data:`LATENCY_RESOURCE`, no dashboard, no usage reporting) that :func:`release` stops."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    # ray.init() installs its own SIGTERM handler: keep the run's (a partial results file).
    old = signal.getsignal(signal.SIGTERM)
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            from tflbench.environment import usable_cores

            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(address="local", num_cpus=usable_cores(),
                     resources={LATENCY_RESOURCE: 1}, include_dashboard=False,
                     log_to_driver=False)
            _STATE["started"] = True
    except ConnectionError as exc:
        raise ConfigError(f"Cannot reach the Ray cluster at --ray-address {address!r}: {exc}. "
                          "Check the address (ray status on the head node prints it).") from None
    finally:
        try:
            signal.signal(signal.SIGTERM, old)
        except ValueError:  # not the main thread
            pass
    return ray


def release() -> None:
    """Stop the local Ray instance :func:`connect` started (a joined cluster is left alone)."""
    if _STATE.pop("started", False):
        _ray().shutdown()


def _latency_node(ray: Any) -> dict[str, Any] | None:
    for node in ray.nodes():
        if node.get("Alive") and node.get("Resources", {}).get(LATENCY_RESOURCE):
            return node  # type: ignore[no-any-return]
    return None


def plan_ray(address: str | None, jobs: int | None, isolate: bool = False) -> JobPlan:
    """Connect (see :func:`connect`) and plan: one worker per CPU of the cluster (``jobs``
    caps it). Refuses a cluster without a node for latency, and ``--isolate`` (a Ray task is
    its own process already)."""
    if isolate:
        raise ConfigError("--executor ray runs every shard and conversion in a Ray worker "
                          "process already; drop --isolate / --mode-timeout, or use "
                          "--executor local.")
    ray = connect(address)
    node = _latency_node(ray)
    if node is None:
        release()
        raise ConfigError(f"No live node of the Ray cluster has the resource "
                          f"{LATENCY_RESOURCE!r} that latency is timed on. Start the node that "
                          f"should time it with: ray start --address ... --resources "
                          f"'{{\"{LATENCY_RESOURCE}\": 1}}'.")
    resources = ray.cluster_resources()
    cpus = max(1, int(resources.get("CPU", 1)))
    nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    workers = min(jobs, cpus) if jobs else cpus
    _STATE["latency_node"] = {"hostname": node.get("NodeManagerHostname"),
                              "cpus": int(node["Resources"].get("CPU", 1))}
    where = f"the Ray cluster at {address}" if address else "a local Ray instance"
    return JobPlan(workers, f"{where}: {cpus} CPUs on {nodes} node(s)"
                   + (f", {workers} as requested" if jobs else ""))


def scheduling() -> dict[str, Any]:
    """How the Ray executor scheduled the run (``settings.scheduling`` in the results)."""
    node = _STATE.get("latency_node") or {}
    return {
        "executor": "ray",
        "training": "in process (the driver)",
        "conversions": "Ray tasks (model and calibration rows through the object store)",
        "evaluation": "row shards as Ray tasks",
        "latency": f"each mode alone, after its parallel work, in a Ray task holding every CPU "
                   f"of the node with the {LATENCY_RESOURCE} resource",
        "latency_node": node,
    }


# ----------------------------------------------------------------------------------- conversion


def _pack(path: Path) -> tuple[str, bytes]:
    """A model file as ``(name, bytes)``; a SavedModel directory as an uncompressed tar."""
    if path.is_dir():
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(path, arcname=path.name)
        return path.name + "/", buf.getvalue()
    return path.name, path.read_bytes()


def _unpack(name: str, blob: bytes, into: Path) -> Path:
    if name.endswith("/"):
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            tar.extractall(into, filter="data")
        return into / name.rstrip("/")
    target = into / name
    target.write_bytes(blob)
    return target


def _convert_task(packed: tuple[str, bytes], safe_mode: bool, mode: Any, rep: np.ndarray,
                  name: str) -> tuple[bytes, dict[str, Any]]:
    from tflbench.scale import _convert_job

    with tempfile.TemporaryDirectory(prefix="tflbench-ray-") as tmp:
        path = _unpack(packed[0], packed[1], Path(tmp))
        return _convert_job(str(path), safe_mode, mode, rep, name)


def _cause(exc: BaseException) -> BaseException:
    """The exception a task raised, without Ray's wrapper (so a failed mode reads the same
    under both executors); a lost worker stays as Ray says it."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def convert_parallel(jobs: Sequence[tuple[str, bool, Any, np.ndarray, str]], workers: int,
                     done: Callable[[int, Any], None]) -> None:
    """:func:`tflbench.scale.convert_parallel` as Ray tasks of one CPU and
    :data:`~tflbench.scale.WORKER_MEMORY_BYTES` each; ``done(index, result_or_exception)`` as
    each finishes. ``workers`` is unused: the cluster's free CPUs decide."""
    ray = connect()
    task = ray.remote(_convert_task).options(num_cpus=1, memory=WORKER_MEMORY_BYTES,
                                             max_retries=0)
    models: dict[tuple[str, bool], Any] = {}
    rows: dict[int, Any] = {}
    pending: dict[Any, int] = {}
    for i, (path, safe_mode, mode, rep, name) in enumerate(jobs):
        if (path, safe_mode) not in models:
            models[(path, safe_mode)] = ray.put(_pack(Path(path)))
        if id(rep) not in rows:
            rows[id(rep)] = ray.put(np.asarray(rep))
        pending[task.remote(models[(path, safe_mode)], safe_mode, mode, rows[id(rep)],
                            name)] = i
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            i = pending.pop(ref)
            try:
                result: Any = ray.get(ref)
            except Exception as exc:  # that pair failed; the others go on
                result = _cause(exc)
            done(i, result)


# ----------------------------------------------------------------------------------- evaluation

#: In a worker process: the interpreter of the model it evaluated last, by its settings.
_RUNNER: dict[str, Any] = {}


def _predict_task(model: bytes, rows: np.ndarray, num_threads: int, xnnpack: bool,
                  backend: str | None, batch: int, name: str) -> np.ndarray:
    import hashlib

    from tflbench.runtime import Runner

    key = f"{hashlib.sha256(model).hexdigest()}/{num_threads}/{xnnpack}/{backend}"
    if _RUNNER.get("key") != key:
        _RUNNER.clear()
        _RUNNER.update(key=key, runner=Runner(model, num_threads=num_threads, xnnpack=xnnpack,
                                              backend=backend, name=name))
    return _RUNNER["runner"].predict(rows, batch_size=batch)  # type: ignore[no-any-return]


def predict_sharded(path: str, x: Any, *, workers: int, num_threads: int, xnnpack: bool,
                    backend: str | None, batch: int, name: str,
                    min_seconds: float = 0.0) -> np.ndarray | None:
    """:func:`tflbench.scale.predict_sharded` as Ray tasks: the ``.tflite`` goes to the
    object store once, each shard's rows once, each shard's outputs come back. Shards are cut
    at batch boundaries into at least ``workers`` parts of at most :data:`SHARD_BYTES` of
    inputs, at most two per worker in flight; ``None`` when the rows are too few."""
    n = len(x)
    if workers < 2 or n < 2 * MIN_ROWS_PER_SHARD:
        return None
    if min_seconds > 0 and estimated_seconds(path, x, num_threads=num_threads, xnnpack=xnnpack,
                                             backend=backend, batch=batch,
                                             name=name) < min_seconds:
        return None
    row_bytes = max(1, int(np.prod(x.shape[1:])) * 4)
    parts = max(min(workers, n // MIN_ROWS_PER_SHARD), -(-n * row_bytes // SHARD_BYTES))
    bounds = shard_bounds(n, parts, batch)
    if len(bounds) < 2:
        return None
    ray = connect()
    task = ray.remote(_predict_task).options(num_cpus=num_threads, max_retries=0)
    model = ray.put(Path(path).read_bytes())
    outputs: list[Any] = [None] * len(bounds)
    pending: dict[Any, int] = {}
    k = 0
    try:
        while k < len(bounds) or pending:
            while k < len(bounds) and len(pending) < 2 * workers:
                a, b = bounds[k]
                rows = np.ascontiguousarray(x[a:b], dtype=np.float32)
                pending[task.remote(model, rows, num_threads, xnnpack, backend, batch,
                                    name)] = k
                k += 1
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                outputs[pending.pop(ref)] = ray.get(ref)
    except Exception as exc:
        raise _cause(exc) from None
    finally:
        for ref in pending:
            ray.cancel(ref)
    return np.concatenate(outputs)


# -------------------------------------------------------------------------------------- latency


def _latency_task(model: bytes, x0: np.ndarray, opts: Any, name: str) -> dict[str, Any]:
    """Load, first invoke, then ``invoke()`` timed: :func:`tflbench.evaluate._evaluate_here`'s
    latency step, on a fresh interpreter (its warm-up runs warm it)."""
    from tflbench import timing
    from tflbench.records import LatencyRecord
    from tflbench.runtime import Runner

    runner = Runner(model, num_threads=opts.num_threads, xnnpack=opts.xnnpack,
                    backend=opts.backend, name=name)
    runner.set_single_input(x0)
    first_ns, _ = timing.measure_once_ns(runner.invoke)
    runner.set_single_input(x0)
    stats = timing.measure(runner.invoke, opts.latency)
    return LatencyRecord.from_stats(stats, threads=opts.num_threads, xnnpack=opts.xnnpack,
                           init_us=runner.init_us, first_invoke_us=first_ns / 1000.0,
                           samples=opts.keep_samples, what="invoke").to_dict()


def time_invoke(path: Path, x0: np.ndarray, opts: Any, name: str) -> Any:
    """The latency record of the ``.tflite`` at ``path``, timed in a Ray task that holds the
    :data:`LATENCY_RESOURCE` and every CPU of its node (nothing else of Ray runs there)."""
    from tflbench.records import LatencyRecord

    ray = connect()
    node = _latency_node(ray)
    if node is None:
        raise ConfigError(f"No live node of the Ray cluster has the resource "
                          f"{LATENCY_RESOURCE!r}; latency cannot be timed.")
    cpus = max(1.0, float(node["Resources"].get("CPU", 1)))
    task = ray.remote(_latency_task).options(num_cpus=cpus, resources={LATENCY_RESOURCE: 1},
                                             max_retries=0)
    try:
        out = ray.get(task.remote(Path(path).read_bytes(), x0, opts, name))
    except Exception as exc:
        raise _cause(exc) from None
    return LatencyRecord.from_dict(out, "latency")
