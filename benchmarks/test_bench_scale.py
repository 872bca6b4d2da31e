"""Scale: what the worker processes (``--jobs``) and the Ray executor buy, as ratios.

Each benchmark compares two ways of doing the same work, measured in one run with A and B
interleaved (A, B, A, B, ...) so that load from other processes falls on both alike; the
medians, their ratio and the load average before and after go to ``extra_info`` and one line
on stdout (``-s``). The figures in docs/scale.md come from:

    pytest benchmarks/test_bench_scale.py --benchmark-only -s -p no:randomly \\
        --benchmark-json scale.json
    pytest benchmarks/test_bench_scale.py --benchmark-only -s -m realdata -k resnet8  # opt-in

* conversions: the six converter modes of ``digits-mobilenet``, a pool of 2 vs one by one
  in this process (TensorFlow already imported, as in a run);
* evaluation: one mode over 8,192 rows, 2 interpreter threads vs one interpreter (fp32 and
  int16x8), and 2 threads vs 2 forked processes (outputs identical);
* a cold ``tflbench run`` of the default (fresh cache: training, 12 modes), every core vs
  ``--jobs 1``, with the peak memory of the whole process tree;
* ``--executor ray`` (a local Ray instance it starts) vs the local executor on the same job,
  plus Ray's start-up time and per-task overhead;
* opt-in (``-m realdata``): MLPerf Tiny's ResNet-8 on the 10,000 CIFAR-10 test JPEGs, fp32,
  int8 and int16x8, every core vs ``--jobs 1``.

There are no timing asserts: the targets are in the docstrings and the report.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
CONVERTER_MODES = ("fp32", "dynamic", "fp16", "int8", "int8-float-io", "int16x8")


# ------------------------------------------------------------------------------------ helpers


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def interleaved(benchmark: Any, a: Callable[[], Any], b: Callable[[], Any], *, rounds: int,
                names: tuple[str, str], what: str) -> dict[str, Any]:
    """Run ``a`` and ``b`` alternately ``rounds`` times each under ``benchmark.pedantic``; the
    medians (s), ``ratio`` = median(a) / median(b), and the load average around it."""
    times: dict[str, list[float]] = {names[0]: [], names[1]: []}
    load_before = _load()

    def pair() -> None:
        for name, fn in zip(names, (a, b), strict=True):
            t0 = time.perf_counter_ns()
            fn()
            times[name].append((time.perf_counter_ns() - t0) / 1e9)

    benchmark.pedantic(pair, rounds=rounds, iterations=1)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {"seconds": {k: [round(t, 3) for t in v] for k, v in times.items()},
           "median_s": {k: round(v, 3) for k, v in med.items()},
           "ratio": round(med[names[0]] / med[names[1]], 3),
           "load_before": load_before, "load_after": _load(), "cores": os.cpu_count()}
    benchmark.extra_info.update({what: out})
    print(f"\n{what}: {names[0]} {med[names[0]]:.2f} s / {names[1]} {med[names[1]]:.2f} s = "
          f"{out['ratio']:.3f} (medians of {rounds}; load {load_before} -> {out['load_after']})")
    return out


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TFLBENCH_JOBS"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class TreeMemory:
    """Samples the process tree under ``pid`` every ``interval`` s: the peak of the summed RSS
    (shared pages counted in every process: an upper bound) and of the summed PSS (shared
    pages split between the processes that map them: what the tree costs the machine)."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.peak_rss_kb = self.peak_pss_kb = self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(children.get(p, []))
        return out

    @staticmethod
    def _field(path: str, key: str) -> int:
        try:
            with open(path, encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith(key):
                        return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = self._tree()
            rss = sum(self._field(f"/proc/{p}/status", "VmRSS:") for p in pids)
            pss = sum(self._field(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self.peak_processes = max(self.peak_processes, len(pids))
            self._stop.wait(self.interval)

    def to_dict(self) -> dict[str, float]:
        return {"peak_rss_mib": round(self.peak_rss_kb / 1024, 1),
                "peak_pss_mib": round(self.peak_pss_kb / 1024, 1),
                "peak_processes": self.peak_processes}


def tflbench_run(args: list[str], env: dict[str, str], memory: dict[str, Any] | None = None
                 ) -> None:
    """``python -m tflbench run ARGS`` in a new process; with ``memory``, its tree's peaks."""
    proc = subprocess.Popen([sys.executable, "-m", "tflbench", "run", "--quiet", *args],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with TreeMemory(proc.pid) as mem:
        out, err = proc.communicate()
    if proc.returncode != 0:
        raise AssertionError(f"tflbench run {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{err.decode(errors='replace')[-3000:]}")
    if memory is not None:
        memory.setdefault("runs", []).append(mem.to_dict())


#: The rows of the process comparison: forked workers inherit them (no copy).
_ROWS: dict[str, Any] = {}


def _predict_rows(path: str, start: int, stop: int, batch: int) -> np.ndarray:
    from tflbench.runtime import Runner

    return Runner(path, num_threads=1).predict(_ROWS["x"][start:stop], batch_size=batch)


def _predict_in_processes(path: str, x: np.ndarray, *, workers: int, batch: int) -> np.ndarray:
    """The alternative ``--jobs`` does not use: contiguous row shards (cut at batches, so the
    outputs are the same) on forked worker processes with one interpreter each."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tflbench.scale import shard_bounds

    _ROWS["x"] = x
    try:
        with ProcessPoolExecutor(max_workers=workers,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            parts = [pool.submit(_predict_rows, path, a, b, batch)
                     for a, b in shard_bounds(len(x), workers, batch)]
            return np.concatenate([p.result() for p in parts])
    finally:
        _ROWS.clear()


def _quality(report_dir: Path) -> dict[tuple[str, str], Any]:
    """Agreement and accuracy per (model, mode) of a run's results.json: what must not change
    with the number of workers."""
    import json

    doc = json.loads((report_dir / "results.json").read_text())
    return {(m["name"], r["mode"]): (r.get("agreement"), (r.get("accuracy") or {}).get("accuracy"))
            for m in doc["models"] for r in m["modes"]}


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``digits-mobilenet`` trained into a cache of its own (prepared: data, reference, the
    calibration rows) and its fp32 file."""
    from tflbench import pipeline
    from tflbench.cache import Cache
    from tflbench.modes import MODES

    root = tmp_path_factory.mktemp("scale-cache")
    settings = pipeline.RunSettings(cache_dir=root, jobs=1)
    sr = pipeline._SubjectRun(pipeline.subject_from_recipe("digits-mobilenet"), settings,
                              Cache(root), lambda *a: None)
    sr.prepare()
    sr.fp32 = sr.tflite_path(MODES["fp32"])[0]
    return sr


# ---------------------------------------------------------------------------------- benchmarks


def test_conversions_parallel_vs_sequential(benchmark: Any, mobilenet: Any) -> None:
    """Six conversions of digits-mobilenet: a fork-server pool of 2 vs in this process.
    Target: <= 0.65x the sequential wall time on 2 cores."""
    from tflbench import scale
    from tflbench.modes import MODES

    path, safe = mobilenet.model_file()
    jobs = [(str(path), safe, MODES[m], mobilenet.rep, "digits-mobilenet")
            for m in CONVERTER_MODES]
    results: dict[str, list[Any]] = {"pool": [], "seq": []}

    def pool() -> None:
        out: list[Any] = [None] * len(jobs)
        scale.convert_parallel(jobs, 2, lambda i, r: out.__setitem__(i, r))
        results["pool"].append(out)

    def sequential() -> None:
        results["seq"].append([scale._convert_job(*job) for job in jobs])

    interleaved(benchmark, pool, sequential, rounds=3, names=("pool-2", "sequential"),
                what="6 conversions, pool of 2 / one by one")
    assert all(not isinstance(r, BaseException) for r in results["pool"][0])
    assert [r[0] for r in results["pool"][0]] == [r[0] for r in results["seq"][0]]


def _rows(mobilenet: Any, n: int = 8192) -> np.ndarray:
    x = np.asarray(mobilenet.dataset.test.x, dtype=np.float32)
    return np.ascontiguousarray(np.resize(x, (n, *x.shape[1:])))


@pytest.mark.parametrize("mode", ["fp32", "int16x8"])
def test_evaluation_two_workers_vs_one(benchmark: Any, mobilenet: Any, mode: str) -> None:
    """One mode over 8,192 rows: two interpreter threads (what ``--jobs 2`` uses) vs one
    interpreter; fp32 (about 10 us a row: Python's share per batch is large) and int16x8
    (reference kernels, about 0.2 ms a row). Target: >= 1.7x the throughput, identical
    outputs."""
    from tflbench import scale
    from tflbench.modes import MODES
    from tflbench.runtime import Runner

    x = _rows(mobilenet)
    path = str(mobilenet.fp32 if mode == "fp32" else mobilenet.tflite_path(MODES[mode])[0])
    outs: dict[str, Any] = {}

    def two() -> None:
        outs["two"] = scale.predict_threaded(path, x, workers=2, num_threads=1, xnnpack=True,
                                             backend=None, batch=64, name="fp32")

    def one() -> None:
        outs["one"] = Runner(path, num_threads=1).predict(x, batch_size=64)

    r = interleaved(benchmark, two, one, rounds=5, names=("2-threads", "1-interpreter"),
                    what=f"evaluation of 8,192 rows ({mode}), 2 interpreter threads / 1 "
                         "interpreter")
    benchmark.extra_info["throughput_ratio"] = round(1 / r["ratio"], 3)
    np.testing.assert_array_equal(outs["two"], outs["one"])


def test_evaluation_threads_vs_processes(benchmark: Any, mobilenet: Any) -> None:
    """The same rows on two interpreter threads vs two forked worker processes (one
    interpreter each): why ``--jobs`` evaluates on threads."""
    from tflbench import scale

    x, path = _rows(mobilenet), str(mobilenet.fp32)
    outs: dict[str, Any] = {}

    def threads() -> None:
        outs["threads"] = scale.predict_threaded(path, x, workers=2, num_threads=1,
                                                 xnnpack=True, backend=None, batch=64,
                                                 name="fp32")

    def processes() -> None:
        outs["processes"] = _predict_in_processes(path, x, workers=2, batch=64)

    interleaved(benchmark, threads, processes, rounds=5, names=("2-threads", "2-processes"),
                what="evaluation of 8,192 rows, 2 interpreter threads / 2 processes")
    np.testing.assert_array_equal(outs["threads"], outs["processes"])


def test_cold_default_run(benchmark: Any, tmp_path: Path) -> None:
    """``tflbench run`` of the default on an empty cache: every core vs ``--jobs 1``, and the
    peak memory of each process tree. Targets: a shorter wall time; < 3 GiB parallel."""
    memory: dict[str, dict[str, Any]] = {"parallel": {}, "jobs-1": {}}

    def run(name: str, *extra: str) -> Callable[[], None]:
        def go() -> None:
            cache = tmp_path / f"cache-{name}"
            shutil.rmtree(cache, ignore_errors=True)
            tflbench_run(["--cache-dir", str(cache), "--report-dir", str(tmp_path / name),
                          *extra], _env(), memory[name])
        return go

    interleaved(benchmark, run("parallel", "--jobs", "0"), run("jobs-1", "--jobs", "1"),
                rounds=2, names=("parallel", "jobs-1"),
                what="cold default run, every core / --jobs 1")
    assert _quality(tmp_path / "parallel") == _quality(tmp_path / "jobs-1")
    for name, m in memory.items():
        peaks = m["runs"]
        m["peak_rss_mib"] = max(p["peak_rss_mib"] for p in peaks)
        m["peak_pss_mib"] = max(p["peak_pss_mib"] for p in peaks)
        print(f"{name}: peak of the process tree RSS {m['peak_rss_mib']:.0f} MiB, "
              f"PSS {m['peak_pss_mib']:.0f} MiB ({peaks[0]['peak_processes']} processes)")
    benchmark.extra_info["memory"] = memory


def test_ray_vs_local_executor(benchmark: Any, mobilenet: Any, tmp_path: Path) -> None:
    """The same job (digits-mobilenet trained, its six converter modes converted, evaluated
    and timed) with ``--executor ray`` (starting a local Ray instance) vs the local executor;
    then Ray's start-up and the round trip of an empty task, in this process."""
    ray = pytest.importorskip("ray")
    warm = mobilenet.cache.root

    def run(name: str, *extra: str) -> Callable[[], None]:
        def go() -> None:
            cache = tmp_path / f"cache-{name}"
            shutil.rmtree(cache, ignore_errors=True)
            shutil.copytree(warm, cache, ignore=shutil.ignore_patterns("tflite",
                                                                       "mode-records"))
            tflbench_run(["--recipe", "digits-mobilenet", "--modes", ",".join(CONVERTER_MODES),
                          "--cache-dir", str(cache), "--report-dir", str(tmp_path / name),
                          *extra], _env())
        return go

    interleaved(benchmark, run("ray", "--executor", "ray"), run("local"), rounds=2,
                names=("ray", "local"), what="one job, --executor ray / local")

    from tflbench.scale_ray import LATENCY_RESOURCE

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=os.cpu_count(), resources={LATENCY_RESOURCE: 1},
             include_dashboard=False, log_to_driver=False)
    start_s = time.perf_counter() - t0
    try:
        def nothing() -> None:
            return None

        task = ray.remote(nothing)
        ray.get([task.remote() for _ in range(20)])  # workers up
        t0 = time.perf_counter()
        for _ in range(100):
            ray.get(task.remote())
        per_task_ms = (time.perf_counter() - t0) * 10
    finally:
        ray.shutdown()
    benchmark.extra_info["ray_overhead"] = {"init_s": round(start_s, 2),
                                            "task_round_trip_ms": round(per_task_ms, 2)}
    print(f"Ray: ray.init() {start_s:.1f} s, one empty task's round trip {per_task_ms:.1f} ms")


@pytest.mark.realdata
def test_resnet8_cifar10_all_cores_vs_one(benchmark: Any, tmp_path: Path) -> None:
    """Opt-in: ResNet-8 (MLPerf Tiny) on the 10,000 CIFAR-10 test JPEGs, fp32, int8 and
    int16x8, on an empty cache: every core vs ``--jobs 1``. Target: <= 0.65x the wall time."""
    data = Path(os.environ.get("TFLBENCH_DATA", REPO.parent / "shared" / "data"))
    model = data / "mlperf_tiny_resnet8" / "pretrainedResnet.h5"
    folder = data / "cifar10_test"
    if not model.exists() or not folder.exists():
        pytest.skip(f"needs {model} and {folder} (set TFLBENCH_DATA)")

    def run(name: str, *extra: str) -> Callable[[], None]:
        def go() -> None:
            cache = tmp_path / f"cache-{name}"
            shutil.rmtree(cache, ignore_errors=True)
            tflbench_run(["--model", str(model), "--data", f"folder:{folder}?preprocess=raw",
                          "--modes", "fp32,int8,int16x8", "--cache-dir", str(cache),
                          "--report-dir", str(tmp_path / name), *extra], _env())
        return go

    interleaved(benchmark, run("parallel", "--jobs", "0"), run("jobs-1", "--jobs", "1"),
                rounds=2, names=("parallel", "jobs-1"),
                what="ResNet-8 on 10,000 CIFAR-10 images, every core / --jobs 1")
    assert _quality(tmp_path / "parallel") == _quality(tmp_path / "jobs-1")
