"""Measure a bundle on the machine at hand, with no TensorFlow.

:func:`measure_bundle` verifies the bundle, then for every bundled mode: loads the ``.tflite``
(model init time and RSS), times the first ``invoke()``, times ``invoke()`` alone with the input
set once (``latency``) and the end-to-end call set-input + invoke + get-output (``latency_e2e``),
evaluates every bundled input (agreement with the Keras reference outputs, accuracy, per-class
accuracy) and sweeps thread counts and XNNPACK on/off (``latency_sweep``). The result is a
results document of the same shape as the host's, so ``tflbench report`` can merge the two.

The method is written down in ``docs/device.md``.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tflbench import environment, metrics, results, timing
from tflbench.bundle import Bundle, BundleMode, BundleModel, read_bundle
from tflbench.errors import ConfigError, InternalError, TflbenchError
from tflbench.fileio import sha256_file

#: Thread counts swept by default (then "all usable cores"), capped at the usable cores.
DEFAULT_SWEEP = (1, 2, 4)
#: How many distinct inputs the end-to-end latency cycles through.
E2E_INPUTS = 64
#: Samples per interpreter call when evaluating (the host pipeline's default batch).
EVAL_BATCH = 64

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------- memory


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


# -------------------------------------------------------------------------------------- threads


def sweep_thread_counts(requested: Iterable[int] | None = None, cores: int | None = None
                        ) -> list[int]:
    """Thread counts to sweep: ``requested`` (default 1, 2, 4 and all usable cores), each capped
    at the usable cores, deduplicated, in increasing order."""
    cores = cores or environment.usable_cores()
    counts = list(requested) if requested is not None else [*DEFAULT_SWEEP, cores]
    out: set[int] = set()
    for t in counts:
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
            raise ConfigError(f"Thread counts must be positive integers. Received: {t!r}.")
        out.add(min(int(t), cores))
    return sorted(out)


def parse_threads(spec: str | None) -> list[int] | None:
    """Parse ``--threads``: ``"1,2,4"``, ``"auto"`` (None: the default sweep) or ``"none"``."""
    if spec is None or spec.strip().lower() in ("", "auto"):
        return None
    if spec.strip().lower() in ("none", "off", "0"):
        return []
    try:
        return [int(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--threads must be a comma-separated list of positive integers, "
                          f"'auto' or 'none'. Received: {spec!r}.") from None


# ------------------------------------------------------------------------------------ measuring


def _line(exc: BaseException) -> str:
    """One line for a failed mode: a tflbench error's own message; for anything else (the
    interpreter's RuntimeError, an OSError...) the exception type first."""
    text = " ".join(str(exc).split())
    if not isinstance(exc, TflbenchError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text[:400] or type(exc).__name__


def _latency_dict(stats: timing.LatencyStats, *, threads: int | None, xnnpack: bool,
                  init_us: float | None, first_invoke_us: float | None,
                  include_samples: bool, what: str) -> dict[str, Any]:
    d = stats.to_dict(include_samples=include_samples)
    d.update({"threads": threads, "xnnpack": xnnpack, "init_us": init_us,
              "first_invoke_us": first_invoke_us, "measures": what})
    return d


def _load_and_time(path: Path, x0: np.ndarray, *, num_threads: int | None, xnnpack: bool,
                   backend: str | None, name: str, settings: timing.LatencySettings
                   ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Fresh interpreter: RSS around load/allocate/first invoke, then ``invoke()`` latency."""
    from tflbench.runtime import Runner

    gc.collect()
    rss0, source = rss_kb()
    runner = Runner(path, num_threads=num_threads, xnnpack=xnnpack, backend=backend, name=name)
    rss1, _ = rss_kb()
    runner.set_single_input(x0)
    rss2, _ = rss_kb()
    first_ns, _ = timing.measure_once_ns(runner.invoke)
    rss3, _ = rss_kb()
    memory = {
        "unit": "kB",
        "source": source,
        "rss_before_kb": rss0,
        "rss_load_kb": _delta(rss1, rss0),
        "rss_allocate_kb": _delta(rss2, rss1),
        "rss_invoke_kb": _delta(rss3, rss2),
        "rss_total_kb": _delta(rss3, rss0),
    }
    stats = timing.measure(runner.invoke, settings)
    latency = _latency_dict(stats, threads=num_threads, xnnpack=xnnpack, init_us=runner.init_us,
                            first_invoke_us=first_ns / 1000.0, include_samples=True,
                            what="invoke")
    return runner, latency, memory


def _e2e(runner: Any, x: np.ndarray, settings: timing.LatencySettings, *, threads: int | None,
         xnnpack: bool) -> dict[str, Any]:
    inputs = [np.ascontiguousarray(x[i], dtype=np.float32) for i in range(min(len(x), E2E_INPUTS))]
    state = {"i": 0}

    def call() -> np.ndarray:
        i = state["i"]
        state["i"] = (i + 1) % len(inputs)
        runner.set_single_input(inputs[i])
        runner.invoke()
        return runner.get_output()

    stats = timing.measure(call, settings)
    return _latency_dict(stats, threads=threads, xnnpack=xnnpack, init_us=None,
                         first_invoke_us=None, include_samples=False,
                         what="set_input+invoke+get_output")


def _failed(rec: dict[str, Any], stage: str, error: str) -> dict[str, Any]:
    rec.update({"status": "failed", "stage": stage, "error": error})
    return rec


def _measure_mode(
    bm: BundleModel, md: BundleMode, keras_cls: metrics.Classification | None, *, top_k: int,
    num_threads: int | None, xnnpack: bool, backend: str | None,
    settings: timing.LatencySettings, sweep: Sequence[tuple[int, bool]], e2e: bool,
) -> dict[str, Any]:
    entry: dict[str, Any] = next((m for m in bm.entry["modes"] if m["mode"] == md.mode), {})
    rec: dict[str, Any] = {
        "mode": md.mode, "status": "ok", "error": None, "stage": None, "conversion": None,
        "file": None, "io": None, "agreement": None, "accuracy": None, "latency": None,
    }
    if not md.ok or md.path is None:
        return _failed(rec, "load", f"bundle check failed: {md.error}")
    # Any error of one mode (a tflbench error, the interpreter's RuntimeError, an OSError...) is
    # recorded as that mode's failure at its stage so the other modes' results are kept; bugs in
    # tflbench (InternalError) propagate.
    assert bm.x is not None and bm.y is not None and bm.reference is not None
    label = f"{bm.name} / {md.mode} ({entry.get('file')})"

    try:
        rec["file"] = {"path": entry.get("file"), "size_bytes": md.path.stat().st_size,
                       "sha256": sha256_file(md.path), "size_ratio": entry.get("size_ratio")}
        runner, latency, memory = _load_and_time(
            md.path, bm.x[0], num_threads=num_threads, xnnpack=xnnpack, backend=backend,
            name=label, settings=settings)
        rec["io"] = runner.io_record()
    except InternalError:
        raise
    except Exception as exc:
        return _failed(rec, "load", _line(exc))
    rec["memory"] = memory
    rec["latency"] = latency
    try:
        if e2e:
            rec["latency_e2e"] = _e2e(runner, bm.x, settings, threads=num_threads,
                                      xnnpack=xnnpack)
    except InternalError:
        raise
    except Exception as exc:
        return _failed(rec, "latency", _line(exc))

    try:
        outputs = runner.predict(bm.x, batch_size=EVAL_BATCH)
        metrics.check_finite(outputs, label)
        rec["agreement"] = metrics.agreement(bm.reference, outputs, k=top_k).to_dict()
        cls = metrics.classification(bm.y, outputs, len(bm.class_names))
        if keras_cls is not None:
            rec["accuracy"] = metrics.accuracy_record(cls, keras_cls, bm.class_names)
    except InternalError:
        raise
    except Exception as exc:
        return _failed(rec, "evaluate", _line(exc))
    finally:
        del runner

    rows = []
    for threads, xnn in sweep:
        if threads == num_threads and xnn == xnnpack:
            row = {k: v for k, v in latency.items() if k != "samples"}
        else:
            try:
                r, lat, _ = _load_and_time(md.path, bm.x[0], num_threads=threads, xnnpack=xnn,
                                           backend=backend, name=label, settings=settings)
                del r
                row = {k: v for k, v in lat.items() if k != "samples"}
            except InternalError:
                raise
            except Exception as exc:
                row = {"threads": threads, "xnnpack": xnn, "error": _line(exc)}
        rows.append(row)
    if rows:
        rec["latency_sweep"] = rows
    return rec


def _warm_up_runtime(bundle: Bundle, backend: str | None) -> None:
    """Load (and drop) one bundled model so the runtime's one-time costs (shared libraries,
    kernel registration) are not charged to the first mode's init time and RSS."""
    from tflbench.runtime import Runner

    for bm in bundle.models:
        for md in bm.modes:
            if md.ok and md.path is not None:
                try:
                    Runner(md.path, num_threads=1, backend=backend)
                except InternalError:
                    raise
                except Exception:
                    continue  # that mode's own measurement records why
                return


def measure_bundle(
    bundle_path: str | os.PathLike[str] | Bundle,
    *,
    num_threads: int | None = None,
    xnnpack: bool = True,
    threads_sweep: Iterable[int] | None = None,
    sweep: bool = True,
    xnnpack_sweep: bool = False,
    latency: timing.LatencySettings | None = None,
    e2e: bool = True,
    device: str | None = None,
    backend: str | None = None,
    modes: Iterable[str] | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure every mode of a bundle here; returns a results document.

    ``num_threads`` is the interpreter thread count of the main ``latency`` record (default: the
    host run's setting, else 1). The ``latency_sweep`` covers ``threads_sweep`` (default 1, 2, 4
    and all usable cores, capped at the usable cores) with XNNPACK as ``xnnpack``, or both on and
    off with ``xnnpack_sweep=True``; ``sweep=False`` skips it. ``strict=True`` refuses a bundle
    with any missing or altered file instead of running the intact modes.
    """
    from tflbench.runtime import backend_info

    say = progress or (lambda _msg: None)
    bundle = bundle_path if isinstance(bundle_path, Bundle) else read_bundle(bundle_path,
                                                                             strict=strict)
    try:
        manifest = bundle.manifest
        host_settings = manifest.get("settings") or {}
        if num_threads is None:
            num_threads = int(host_settings.get("num_threads") or 1)
        if isinstance(num_threads, bool) or num_threads < 1:
            raise ConfigError(f"num_threads must be a positive integer. Received: "
                              f"{num_threads!r}.")
        top_k = int(host_settings.get("top_k") or 5)
        settings = latency or timing.LatencySettings()
        thread_list = sweep_thread_counts(threads_sweep) if sweep else []
        xnn_list = [True, False] if xnnpack_sweep else [xnnpack]
        combos = [(t, x) for x in xnn_list for t in thread_list]
        wanted = None if modes is None else {str(m) for m in modes}
        bundled = sorted({md.mode for m in bundle.models for md in m.modes})
        if wanted is not None and not wanted & set(bundled):
            raise ConfigError(f"None of the requested modes is in the bundle. Received: "
                              f"{', '.join(sorted(wanted))}; bundled: {', '.join(bundled)}.")

        runtime = backend_info(backend)
        env = environment.fingerprint(runtime=runtime, num_threads=num_threads, xnnpack=xnnpack)
        doc = results.new_document(env, {
            "num_threads": num_threads,
            "xnnpack": xnnpack,
            "top_k": top_k,
            "latency": settings.to_dict(),
            "modes": sorted({md.mode for m in bundle.models for md in m.modes
                             if wanted is None or md.mode in wanted}),
            "threads_sweep": thread_list,
            "xnnpack_sweep": xnnpack_sweep,
            "e2e": e2e,
            "bundle": {
                "path": str(bundle.source),
                "created": manifest.get("created"),
                "tflbench_version": manifest.get("tflbench_version"),
                "host_device": (manifest.get("host") or {}).get("device"),
                "max_samples": (manifest.get("bundle") or {}).get("max_samples"),
                "problems": list(bundle.problems),
            },
        }, device=device)
        _warm_up_runtime(bundle, backend)

        for bm in bundle.models:
            entry = bm.entry
            dataset = dict(entry.get("dataset") or {})
            dataset["n_eval"] = entry.get("n_samples")
            model_rec: dict[str, Any] = {
                "name": bm.name, "source": entry.get("source"),
                "model_sha256": entry.get("model_sha256"), "dataset": dataset,
                "keras": None, "modes": [],
            }
            keras_cls = None
            if bm.ok:
                assert bm.y is not None and bm.reference is not None
                try:
                    keras_cls = metrics.classification(bm.y, bm.reference, len(bm.class_names))
                    model_rec["keras"] = keras_cls.to_dict()
                except TflbenchError as exc:
                    say(f"{bm.name}: reference outputs unusable: {_line(exc)}")
            for md in bm.modes:
                if wanted is not None and md.mode not in wanted:
                    continue
                say(f"measuring {bm.name} / {md.mode}")
                rec = _measure_mode(bm, md, keras_cls, top_k=top_k, num_threads=num_threads,
                                    xnnpack=xnnpack, backend=backend, settings=settings,
                                    sweep=combos, e2e=e2e)
                model_rec["modes"].append(rec)
            doc["models"].append(model_rec)
        results.validate(doc, source="device results")
        return doc
    finally:
        if not isinstance(bundle_path, Bundle):
            bundle.close()
