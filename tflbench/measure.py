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

import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tflbench import environment, metrics, quality, results, timing
from tflbench.bundle import Bundle, BundleMode, BundleModel, read_bundle
from tflbench.errors import ConfigError, InternalError, TflbenchError
from tflbench.evaluate import (  # noqa: F401 - rss_kb is part of this module's API
    EvalOptions,
    Reference,
    evaluate_tflite,
    one_line,
    rss_kb,
)
from tflbench.records import FileInfo, ModeRecord

#: Thread counts swept by default (then "all usable cores"), capped at the usable cores.
DEFAULT_SWEEP = (1, 2, 4)
#: Samples per interpreter call when evaluating (the host pipeline's default batch).
EVAL_BATCH = 64

Progress = Callable[[str], None]


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


def _measure_mode(bm: BundleModel, md: BundleMode, keras_cls: metrics.Classification | None,
                  opts: EvalOptions) -> ModeRecord:
    """One bundled mode through :func:`tflbench.evaluate.evaluate_tflite`, the function the
    host run uses, with the device extras (memory, end-to-end latency, sweep) switched on."""
    entry: dict[str, Any] = next((m for m in bm.entry["modes"] if m["mode"] == md.mode), {})
    rec = ModeRecord(mode=md.mode, file=FileInfo(path=entry.get("file"),
                                                 size_ratio=entry.get("size_ratio")))
    if not md.ok or md.path is None:
        return rec.failed("load", f"bundle check failed: {md.error}")
    if keras_cls is None or bm.x is None or bm.y is None or bm.reference is None:
        return rec.failed("evaluate", "the bundle's reference outputs are unusable")
    ref = Reference(x=bm.x, y=bm.y, outputs=bm.reference, class_names=bm.class_names,
                    keras=keras_cls)
    label = f"{bm.name} / {md.mode} ({entry.get('file')})"
    rec = evaluate_tflite(md.path, ref, opts, mode=md.mode, name=label, record=rec)
    return _with_ops(rec, md.path)


def _with_ops(rec: ModeRecord, path: Any) -> ModeRecord:
    """``rec`` with the ops of its ``.tflite`` (read while the bundle is open), for the
    ``require_compatible`` gate; unchanged when the file cannot be read."""
    from tflbench.compat.gate import op_records
    from tflbench.records import OpRecord

    if not rec.ok:
        return rec
    try:
        ops = op_records(path)
    except TflbenchError:
        return rec
    return rec.replace(ops=[OpRecord.from_dict(o, "ops") for o in ops])


def mark_emulated(rec: ModeRecord) -> ModeRecord:
    """``rec`` with every latency figure (main, end to end, sweep) marked ``emulated: true``:
    measured under an emulator (``environment.emulated``), never shown as a latency figure or
    gated."""
    changes: dict[str, Any] = {}
    for name in ("latency", "latency_e2e"):
        lat = getattr(rec, name)
        if lat is not None:
            changes[name] = lat.replace(emulated=True)
    if rec.latency_sweep:
        changes["latency_sweep"] = [{**entry, "emulated": True} for entry in rec.latency_sweep]
    return rec.replace(**changes) if changes else rec


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
    isolate: bool = True,
    mode_timeout: float | None = None,
) -> dict[str, Any]:
    """Measure every mode of a bundle here; returns a results document.

    ``num_threads`` is the interpreter thread count of the main ``latency`` record (default: the
    host run's setting, else 1). The ``latency_sweep`` covers ``threads_sweep`` (default 1, 2, 4
    and all usable cores, capped at the usable cores) with XNNPACK as ``xnnpack``, or both on and
    off with ``xnnpack_sweep=True``; ``sweep=False`` skips it. ``strict=True`` refuses a bundle
    with any missing or altered file instead of running the intact modes. ``isolate`` (the
    default: bundles come from elsewhere) runs each mode in a child process, so a native crash
    or an out-of-memory kill fails that mode only; ``mode_timeout`` bounds each mode's time.
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
            "isolate": isolate or mode_timeout is not None,
            "mode_timeout": mode_timeout,
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
        opts = EvalOptions(top_k=top_k, batch_size=EVAL_BATCH, num_threads=num_threads,
                           xnnpack=xnnpack, backend=backend, latency=settings, e2e=e2e,
                           memory=True, sweep=tuple(combos), isolate=isolate,
                           timeout=mode_timeout)

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
                    model_rec["keras"] = quality.keras_record(bm.y, bm.reference).to_dict()
                except TflbenchError as exc:
                    say(f"{bm.name}: reference outputs unusable: {one_line(exc)}")
            for md in bm.modes:
                if wanted is not None and md.mode not in wanted:
                    continue
                say(f"measuring {bm.name} / {md.mode}")
                rec = _measure_mode(bm, md, keras_cls, opts)
                if env.get("emulated"):
                    rec = mark_emulated(rec)
                model_rec["modes"].append(rec.to_dict())
            doc["models"].append(model_rec)
        results.validate(doc, source="device results")
        return doc
    finally:
        if not isinstance(bundle_path, Bundle):
            bundle.close()
