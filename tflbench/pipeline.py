"""The core job: for each subject (a reference Keras model and its dataset) and each mode,
convert, evaluate against Keras, and time ``invoke()``; return one results document.

Every step is deferred and cached by content (:mod:`tflbench.cache`): a second run with the same
model, data, modes and package versions neither trains, converts nor runs Keras again, and does
not import TensorFlow at all. A step that fails for one mode is recorded in that mode's record
(``status: failed`` with one clear line) and the other modes go on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tflbench import __version__, quality
from tflbench import metrics as M
from tflbench.cache import DEFAULT_DIR, Cache, array_digest, content_key, tf_versions
from tflbench.data.base import Dataset, LazyArray, Split, stratified_subset
from tflbench.errors import ModelLoadError, TflbenchError
from tflbench.evaluate import EvalOptions, Reference, evaluate_tflite
from tflbench.modes import MODES, Mode
from tflbench.records import Calibration, Conversion, DatasetInfo, ModelRecord, ModeRecord
from tflbench.results import new_document
from tflbench.subjects import (  # noqa: F401 - the subjects API, re-exported
    Subject,
    check_data_spec,
    custom_code_digest,
    default_subjects,
    eval_all_fractions,
    load_data_spec,
    subject_from_model_file,
    subject_from_recipe,
)
from tflbench.timing import LatencySettings

#: Latency settings of ``tflbench run``: at least 300 runs and 0.1 s (up to 3,000 runs or 3 s),
#: enough for stable p99s while a full run stays short. Override them in the project config
#: ([tool.tflbench.latency]) or measure longer on the device with ``tflbench measure``.
RUN_LATENCY = LatencySettings(warmup_runs=20, warmup_seconds=0.05, min_runs=300,
                              min_seconds=0.1, max_runs=3000, max_seconds=3.0)

#: progress(model, mode or None, message)
Progress = Callable[[str, "str | None", str], None]


def _no_progress(model: str, mode: str | None, message: str) -> None:
    pass


@dataclass(frozen=True)
class RunSettings:
    modes: tuple[Mode, ...] = tuple(m for m in MODES.values() if m.tool == "converter")
    num_threads: int = 1
    xnnpack: bool = True
    top_k: int = 5
    representative_samples: int = 200
    latency: LatencySettings = RUN_LATENCY
    cache_dir: Path = DEFAULT_DIR
    report_dir: Path = Path("reports")
    device: str | None = None
    max_eval_samples: int | None = None
    batch_size: int = 64
    use_cache: bool = True
    seed: int = 0
    #: Reuse the mode records a previous, interrupted run of the same job finished.
    resume: bool = False
    #: Run each mode's runtime work in a child process (tflbench.isolate).
    isolate: bool = False
    #: Seconds one mode's runtime work may take (implies isolation); None: no limit.
    mode_timeout: float | None = None
    #: Worker processes for training and conversions, interpreter threads for evaluation (1,
    #: the default of the Python API: everything in this process, no fork server for a script
    #: to guard; None: every usable core or TFLBENCH_JOBS, capped by memory, the command
    #: line's default). Latency is always timed alone.
    jobs: int | None = 1
    #: ``(I, N)``: run only the I-th of N deterministic parts of the (model, mode) jobs.
    shard: tuple[int, int] | None = None
    #: Where the parallel work runs: "local" (this machine's processes) or "ray" (a Ray
    #: cluster at ``ray_address``, else a local Ray instance; tflbench.scale_ray).
    executor: str = "local"
    ray_address: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "modes": [m.name for m in self.modes],
            "num_threads": self.num_threads,
            "xnnpack": self.xnnpack,
            "top_k": self.top_k,
            "representative_samples": self.representative_samples,
            "latency": self.latency.to_dict(),
            "max_eval_samples": self.max_eval_samples,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "isolate": self.isolate or self.mode_timeout is not None,
            "mode_timeout": self.mode_timeout,
            **({"shard": {"index": self.shard[0], "count": self.shard[1]}}
               if self.shard else {}),
        }

    def replace(self, **changes: Any) -> RunSettings:
        return dataclasses.replace(self, **changes)




# ----------------------------------------------------------------------------------- the run


#: Bytes of inputs per Keras ``predict`` call on lazily loaded data (whole batches of 256).
_KERAS_CHUNK_BYTES = 32 << 20


def _eval_split(ds: Dataset, settings: RunSettings) -> tuple[Split, np.ndarray | None]:
    """The test split and the indices evaluated: all of it (``None``), or a seeded stratified
    subset of ``max_eval_samples`` of it (a file's own order may be sorted by class: its first
    rows would cover only the first classes)."""
    test = ds.test
    if settings.max_eval_samples is not None and len(test) > settings.max_eval_samples:
        idx = stratified_subset(test.y, settings.max_eval_samples, settings.seed)
        return test.take(idx), idx
    return test, None


def _keras_outputs(model: Any, x: np.ndarray | LazyArray) -> np.ndarray:
    """``model.predict`` in batches of 256; lazy inputs are read a chunk of whole batches at a
    time (the same batches, so the same outputs, as one call on the array in memory)."""
    if not isinstance(x, LazyArray):
        return np.asarray(model.predict(x, batch_size=256, verbose=0), dtype=np.float32)
    row_bytes = max(1, int(np.prod(x.sample_shape)) * x.dtype.itemsize)
    step = 256 * max(1, _KERAS_CHUNK_BYTES // row_bytes // 256)
    outs = [np.asarray(model.predict(chunk, batch_size=256, verbose=0), dtype=np.float32)
            for chunk in x.chunks(step)]
    return np.concatenate(outs) if outs else np.empty((0, 0), np.float32)


def representative_samples(ds: Dataset, n: int, seed: int = 0) -> np.ndarray:
    """``n`` calibration samples, seeded (only those ``n`` are read from lazily loaded data):
    from the training split, or from the evaluation set when there is no training split."""
    return _sample_rows(ds.train.x if len(ds.train) else ds.test.x, n, seed)


def _sample_rows(x: Any, n: int, seed: int) -> np.ndarray:
    if n <= 0 or len(x) == 0:
        return np.asarray(x[:0], dtype=np.float32)
    idx = np.random.default_rng(seed).permutation(len(x))[: min(n, len(x))]
    return np.asarray(x[np.sort(idx)], dtype=np.float32)


def calibration_samples(ds: Dataset, n: int, seed: int = 0,
                        calibration: Dataset | str | dict[str, Any] | None = None
                        ) -> tuple[np.ndarray, Calibration]:
    """Calibration samples for the full-integer modes and where they came from, in order:
    ``calibration`` (any data spec, every row eligible), the data's own training split, else a
    seeded sample of the evaluation set (then not disjoint from it: said in every report)."""
    if calibration is not None:
        cal = calibration if isinstance(calibration, Dataset) else load_data_spec(
            calibration, lazy="auto", fractions=eval_all_fractions(calibration))
        rows = cal.test.x if len(cal.train) == 0 else cal.train.x
        x = _sample_rows(rows, n, seed)
        label = calibration if isinstance(calibration, str) else cal.name
        return x, Calibration(source=f"calibration data {label}", n=len(x), disjoint=None)
    if len(ds.train):
        x = _sample_rows(ds.train.x, n, seed)
        return x, Calibration(source="training split", n=len(x), disjoint=True)
    x = _sample_rows(ds.test.x, n, seed)
    return x, Calibration(source="evaluation set (seeded sample)", n=len(x), disjoint=False)


def _unexpected(exc: BaseException, stage: str) -> str:
    text = str(exc).strip().splitlines()
    return (f"unexpected {type(exc).__name__} during {stage}: "
            f"{text[0] if text else type(exc).__name__}. The other modes go on; if the input "
            "looks right, report this with the results file.")


def _tool_version(mode: Mode) -> tuple[str | None, ...]:
    """The LiteRT Quantizer's version in a quantizer mode's cache key (quantization)."""
    if mode.tool != "quantizer":
        return ()
    from tflbench.quantizer import quantizer_version

    return (quantizer_version(),)


def _failed_record(mode: str, stage: str, error: str) -> ModeRecord:
    return ModeRecord(mode=mode, status="failed", stage=stage, error=error)


class _SubjectRun:
    """State of one subject during a run: the dataset, the lazily built Keras model, caches."""

    def __init__(self, subject: Subject, settings: RunSettings, cache: Cache,
                 progress: Progress) -> None:
        self.subject, self.settings, self.cache, self.progress = subject, settings, cache, progress
        self._model: Any = None
        self.reused: list[str] = []
        #: Conversions made by worker processes in this run, and their failures.
        self.converted_here: dict[str, dict[str, Any]] = {}
        self.eval_workers = 1
        self.conversion_errors: dict[str, BaseException] = {}

    def keras_model(self) -> Any:
        if self._model is None:
            from tflbench.capture import captured_fds

            # TensorFlow's native start-up and tf.data chatter (absl, oneDNN, NodeDef notes)
            # is not for users; errors still surface as exceptions.
            with captured_fds((2,)):
                self._model = self.subject.build_model(self.dataset, self.cache, self.progress)
        return self._model

    def load_data(self) -> Dataset:
        """The subject's dataset, loaded once."""
        if getattr(self, "dataset", None) is None:
            self.progress(self.subject.name, None, "loading data")
            self.stage = "data"
            self.dataset = self.subject.load_dataset()
        return self.dataset

    def prepare(self) -> None:
        self.prepare_model()
        self.prepare_reference()

    def prepare_model(self) -> None:
        """The data, the model's digest and calibration rows: what conversions need."""
        s = self.subject
        self.load_data()
        self.stage = "model"
        self.eval, self.eval_index = _eval_split(self.dataset, self.settings)
        mkey = s.model_key(self.dataset)
        meta = self.cache.get_json("model-meta", mkey)
        if meta is None:
            from tflbench.inputs import input_layers
            from tflbench.models.loader import model_hash

            self.progress(s.name, None, "building reference model")
            self.model_sha256 = model_hash(self.keras_model())
            self.input_layers = input_layers(self.keras_model())
            self.cache.put_json("model-meta", mkey, {"model_sha256": self.model_sha256,
                                                     "input_layers": self.input_layers})
        else:
            self.model_sha256 = meta["model_sha256"]
            self.input_layers = meta.get("input_layers") or []
        self._check_model_shapes()
        self.rep, self.calibration = calibration_samples(
            self.dataset, self.settings.representative_samples, self.settings.seed,
            self.subject.extra.get("calibration"))
        self.rep_digest = array_digest(self.rep)  # in every conversion and record key

    def prepare_reference(self) -> None:
        """The Keras outputs on the evaluated rows (after :meth:`prepare_model`)."""
        self.stage = "model"
        self.reference = self._reference_outputs()
        self.keras_cls = M.classification(self.eval.y, self.reference, self.dataset.num_classes)

    def _check_model_shapes(self) -> None:
        if self._model is None:
            return
        want = tuple(self._model.input_shape[1:])
        have = self.dataset.input_shape
        if want != have:
            raise ModelLoadError(
                f"Model {self.subject.name} expects inputs of shape {want} but the dataset "
                f"'{self.dataset.name}' gives {have}. Preprocess the data to the model's input "
                "size (e.g. a resize in the preprocessing spec)."
            )
        classes = self._model.output_shape[-1]
        if classes != self.dataset.num_classes:
            raise ModelLoadError(
                f"Model {self.subject.name} has {classes} outputs but the dataset "
                f"'{self.dataset.name}' has {self.dataset.num_classes} classes. Give matching "
                "class names or the right dataset."
            )

    def _reference_outputs(self) -> np.ndarray:
        rows = "all" if self.eval_index is None else array_digest(self.eval_index)
        rkey = content_key("reference", self.model_sha256, self.dataset.fingerprint(),
                           len(self.eval), rows, tf_versions())
        self.rkey = rkey
        ref = self.cache.get_array("reference", rkey)
        if ref is None:
            self.progress(self.subject.name, None, "computing Keras reference outputs")
            model = self.keras_model()
            self._check_model_shapes()
            from tflbench.capture import captured_fds

            with captured_fds((2,)):
                ref = _keras_outputs(model, self.eval.x)
            M.check_finite(ref, f"Keras model {self.subject.name}")
            self.cache.put_array("reference", rkey, ref)
        if ref.ndim != 2 or ref.shape[1] != self.dataset.num_classes:
            raise ModelLoadError(
                f"Model {self.subject.name} outputs shape {ref.shape[1:]}; expected "
                f"({self.dataset.num_classes},) class scores."
            )
        return ref

    # -- per mode --------------------------------------------------------------------------
    def conversion_key(self, mode: Mode) -> str:
        return content_key("tflite", self.model_sha256, dataclasses.asdict(mode),
                           self.rep_digest if mode.needs_representative_data else None,
                           tf_versions(), __version__, *_tool_version(mode))

    def model_file(self) -> tuple[Path, bool] | None:
        """The Keras model as a file a worker process can load (``(path, safe_mode)``), or
        ``None`` when there is none yet (a recipe not trained in this cache)."""
        s = self.subject
        if s.source.startswith("recipe:"):
            path = self.cache.path("models", s.model_key(self.dataset), ".keras")
            return (path, True) if path.exists() else None
        return Path(s.source), s.safe_mode

    def store_conversion(self, mode: Mode, tflite: bytes, record: dict[str, Any]) -> None:
        """A conversion made elsewhere (a worker process) into the cache."""
        ckey = self.conversion_key(mode)
        self.cache.put_bytes("tflite", ckey, ".tflite", tflite)
        self.cache.put_json("tflite", ckey, record)
        self.converted_here[mode.name] = record

    def tflite_path(self, mode: Mode) -> tuple[Path, dict[str, Any]]:
        if mode.name in self.conversion_errors:
            raise self.conversion_errors[mode.name]
        ckey = self.conversion_key(mode)
        path = self.cache.get("tflite", ckey, ".tflite")
        if path is not None and mode.name in self.converted_here:
            return path, self.converted_here[mode.name]
        meta = self.cache.get_json("tflite", ckey)
        if path is not None and meta is not None:
            return path, {**meta, "cached": True}
        from tflbench.convert import convert

        self.progress(self.subject.name, mode.name, "converting")
        if mode.tool == "quantizer":  # LiteRT Quantizer modes: tflbench.quantizer (quantization)
            from tflbench.layers import keras_layer_names
            from tflbench.quantizer import quantize_tflite

            fp32, _ = self.tflite_path(MODES["fp32"])
            outcome: Any = quantize_tflite(
                fp32.read_bytes(), mode, self.rep, name=self.subject.name,
                layer_names=lambda: keras_layer_names(self.keras_model()))
        else:
            outcome = convert(self.keras_model(), mode, self.rep, name=self.subject.name)
        path = self.cache.put_bytes("tflite", ckey, ".tflite", outcome.tflite)
        rec = outcome.record()
        self.cache.put_json("tflite", ckey, rec)
        return path, rec

    def reference_record(self) -> Reference:
        return Reference(x=self.eval.x, y=self.eval.y, outputs=self.reference,
                         class_names=self.dataset.class_names, keras=self.keras_cls)

    def eval_options(self) -> EvalOptions:
        st = self.settings
        return EvalOptions(top_k=st.top_k, batch_size=st.batch_size, num_threads=st.num_threads,
                           xnnpack=st.xnnpack, latency=st.latency, isolate=st.isolate,
                           timeout=st.mode_timeout, eval_workers=self.eval_workers,
                           executor=st.executor)

    def _record_key(self, mode: Mode) -> str:
        """Key of a finished mode record: the model, the mode, the evaluated rows and the
        evaluation settings (``--resume`` reuses it after an interruption)."""
        o = self.eval_options()
        return content_key("mode-record", self.model_sha256, dataclasses.asdict(mode),
                           self.rkey, o.top_k, o.batch_size, o.num_threads, o.xnnpack,
                           o.latency.to_dict(), self.rep_digest, tf_versions(),
                           __version__)

    def run_mode(self, mode: Mode) -> ModeRecord:
        """Convert (or reuse the cached conversion), then :func:`evaluate_tflite`: the same
        function, in the same order of steps, as ``tflbench measure`` on a device. Every
        finished record is kept in the cache; with ``resume`` a finished one is reused."""
        key = self._record_key(mode)
        if self.settings.resume:
            cached = self.cache.get_json("mode-records", key)
            if cached is not None:
                try:
                    rec = ModeRecord.from_dict(cached, "cached mode record")
                except TflbenchError:
                    rec = None
                if rec is not None:
                    self.progress(self.subject.name, mode.name, "reused")
                    self.reused.append(mode.name)
                    return rec
        rec = self._run_mode(mode)
        self.cache.put_json("mode-records", key, rec.to_dict())
        return rec

    def _run_mode(self, mode: Mode) -> ModeRecord:
        try:
            path, conversion = self.tflite_path(mode)
        except TflbenchError as exc:
            return _failed_record(mode.name, "convert", str(exc))
        except Exception as exc:  # the converter failed unexpectedly: keep the other modes
            return _failed_record(mode.name, "convert", _unexpected(exc, "convert"))
        rec = ModeRecord(mode=mode.name, conversion=Conversion.from_dict(conversion,
                                                                          "conversion"))

        def say(message: str) -> None:
            self.progress(self.subject.name, mode.name, message)

        return evaluate_tflite(path, self.reference_record(), self.eval_options(),
                               mode=mode.name, name=f"{self.subject.name}/{mode.name}",
                               say=say, record=rec)


def run_subject(subject: Subject, settings: RunSettings, cache: Cache | None = None,
                progress: Progress | None = None) -> dict[str, Any]:
    """The model record of one subject (see docs/results-schema.md), as a dict."""
    return subject_record(subject, settings, cache, progress).to_dict()


def subject_record(subject: Subject, settings: RunSettings, cache: Cache | None = None,
                   progress: Progress | None = None) -> ModelRecord:
    """The typed model record of one subject: every mode converted, evaluated and timed."""
    progress = progress or _no_progress
    cache = cache or Cache(settings.cache_dir, enabled=settings.use_cache)
    sr = _SubjectRun(subject, settings, cache, progress)
    return _prepare(sr) or _finish(sr)


def _prepare(sr: _SubjectRun, step: Callable[[], None] | None = None) -> ModelRecord | None:
    """Load the data, the model and the Keras reference (or do ``step``, a part of that); on
    failure, the model record that says so (every mode failed at that stage), else ``None``."""
    try:
        (step or sr.prepare)()
    except Exception as exc:  # user errors and unexpected ones alike: the other subjects go on
        stage = getattr(sr, "stage", "data")
        if not isinstance(exc, TflbenchError):
            exc = TflbenchError(_unexpected(exc, stage))
        sr.progress(sr.subject.name, None, f"error: {exc}")
        return ModelRecord(name=sr.subject.name, source=sr.subject.source, error=str(exc),
                           stage=stage, modes=[_failed_record(m.name, stage, str(exc))
                                               for m in sr.settings.modes])
    return None


def _finish(sr: _SubjectRun) -> ModelRecord:
    """Every mode of a prepared subject, one after the other (each mode's latency is timed
    when nothing else runs)."""
    subject, progress = sr.subject, sr.progress
    dataset = sr.dataset.describe()
    dataset["n_eval"] = len(sr.eval)
    dataset["calibration"] = sr.calibration.to_dict()
    modes: list[ModeRecord] = []

    from tflbench.inputs import input_warnings

    sample_max = float(np.max(np.asarray(sr.eval.x[: min(len(sr.eval), 256)]))) \
        if len(sr.eval) else None
    warnings = input_warnings(subject.name, sr.input_layers, sr.dataset.preprocessing or {},
                              sr.dataset.name, sample_max)

    def record() -> ModelRecord:
        extra: dict[str, Any] = {"reused_modes": list(sr.reused)} if sr.reused else {}
        if warnings:
            extra["warnings"] = warnings
        return ModelRecord(name=subject.name, source=subject.source,
                           model_sha256=sr.model_sha256,
                           dataset=DatasetInfo.from_dict(dataset, "dataset"),
                           keras=quality.keras_record(sr.eval.y, sr.reference),
                           modes=with_size_ratios(modes), extra=extra)

    from tflbench.interrupt import raise_if_pending

    try:
        for mode in sr.settings.modes:
            raise_if_pending()  # a signal whose exception native code swallowed
            rec = sr.run_mode(mode)
            modes.append(rec)
            progress(subject.name, mode.name, "failed" if not rec.ok else "done")
    except KeyboardInterrupt as exc:  # keep the finished modes for the partial results file
        exc.partial_record = record()  # type: ignore[attr-defined]
        raise
    return record()


def _conversion_jobs(sr: _SubjectRun) -> list[tuple[tuple[Any, ...], Mode]]:
    """The converter modes of a prepared subject not yet in the cache, as worker jobs (model
    file, safe_mode, mode, calibration rows, name); quantizer modes start from the fp32 file
    and are made in process."""
    source = sr.model_file()
    if source is None:
        return []
    return [((str(source[0]), source[1], mode, sr.rep, sr.subject.name), mode)
            for mode in sr.settings.modes
            if getattr(mode, "tool", "converter") == "converter"
            and sr.cache.get("tflite", sr.conversion_key(mode), ".tflite") is None]


def _conversion_done(sr: _SubjectRun, mode: Mode, result: Any, progress: Progress) -> None:
    if isinstance(result, BaseException):
        sr.conversion_errors[mode.name] = result
        progress(sr.subject.name, mode.name, "conversion failed")
    else:
        sr.store_conversion(mode, *result)
        progress(sr.subject.name, mode.name, "converted")


def _convert_ahead(runs: list[_SubjectRun], workers: int, progress: Progress) -> None:
    """Convert every (subject, mode) pair not yet in the cache as Ray tasks."""
    from tflbench.scale_ray import convert_parallel

    pairs = [(sr, job, mode) for sr in runs for job, mode in _conversion_jobs(sr)]
    if len(pairs) < 2:
        return  # nothing to gain from a pool
    for sr, _, mode in pairs:
        progress(sr.subject.name, mode.name, f"converting ({workers} workers)")
    convert_parallel([job for _, job, _ in pairs], workers,
                     lambda i, result: _conversion_done(pairs[i][0], pairs[i][2], result,
                                                        progress))


def _import_in_background(module: str) -> Any:
    """Start importing ``module`` on a thread while this one waits for workers (an import
    made later in the main thread waits for it, then finds it done); the thread, to join
    before anything forks this process."""
    import importlib
    import sys
    import threading

    thread = threading.Thread(target=lambda: module in sys.modules or
                              importlib.import_module(module), daemon=True,
                              name=f"tflbench-import-{module}")
    thread.start()
    return thread


def _untrained_recipe(sr: _SubjectRun) -> bool:
    """A recipe subject whose model is not in the (enabled) cache: a worker can train it."""
    if sr.subject.rebuild is None or not sr.cache.enabled:
        return False
    try:
        sr.load_data()
        return sr.model_file() is None
    except Exception:  # noqa: BLE001 - _prepare reports it
        return False


def _prepare_ahead(runs: list[_SubjectRun], workers: int,
                   progress: Progress) -> list[ModelRecord | None]:
    """:func:`_prepare` for every subject with a pool of ``workers`` processes: recipe models
    not yet in the cache train on the pool side by side; each subject's conversions go to the
    pool as soon as its model is ready, and its Keras reference is computed here meanwhile.
    When everything is cached no pool starts (and TensorFlow is not imported). Returns the
    failure record (or ``None``) of each subject, in order."""
    from concurrent.futures import FIRST_COMPLETED, Future, wait

    from tflbench.scale import _convert_job, _train_job, conversion_pool, warm_up

    training_ids = {i for i, sr in enumerate(runs) if _untrained_recipe(sr)}
    failed: list[ModelRecord | None] = [
        None if i in training_ids else _prepare(sr, sr.prepare_model)
        for i, sr in enumerate(runs)]
    jobs = {i: _conversion_jobs(sr) for i, sr in enumerate(runs)
            if i not in training_ids and failed[i] is None}
    if not training_ids and not any(jobs.values()):
        return [failed[i] or _prepare(sr, sr.prepare_reference) for i, sr in enumerate(runs)]
    training: dict[Future[Any], int] = {}
    converting: dict[Future[Any], tuple[_SubjectRun, Mode]] = {}

    def convert_then_reference(i: int) -> set[Future[Any]]:
        sr = runs[i]
        if failed[i] is not None:
            return set()
        new = set()
        for job, mode in jobs.pop(i) if i in jobs else _conversion_jobs(sr):
            progress(sr.subject.name, mode.name, f"converting ({workers} workers)")
            fut = pool.submit(_convert_job, *job)
            converting[fut] = (sr, mode)
            new.add(fut)
        failed[i] = _prepare(sr, sr.prepare_reference)  # while the pool converts
        return new

    with conversion_pool(workers) as pool:
        # Threads, joined below: a fork (--isolate) must not copy a half-done import.
        threads = [warm_up(pool, workers),
                   _import_in_background("tensorflow")]  # needed once a model is ready
        try:
            for i in sorted(training_ids):
                sr = runs[i]
                sr.progress(sr.subject.name, None, "training (worker process)")
                training[pool.submit(_train_job, sr.subject.rebuild, str(sr.cache.root))] = i
            pending: set[Future[Any]] = set(training)
            for i in range(len(runs)):
                if i not in training_ids:
                    pending |= convert_then_reference(i)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    if fut in training:
                        # A failed worker leaves the model untrained: _prepare trains it here
                        # and reports the error there if it fails again.
                        i = training[fut]
                        failed[i] = _prepare(runs[i], runs[i].prepare_model)
                        pending |= convert_then_reference(i)
                    else:
                        sr, mode = converting[fut]
                        exc = fut.exception()
                        _conversion_done(sr, mode, exc if exc is not None else fut.result(),
                                         progress)
        except KeyboardInterrupt:  # a signal: stop the workers now, not after their jobs
            from tflbench.scale import stop_pool

            stop_pool(pool)
            raise
        finally:
            for thread in threads:
                thread.join()
    return failed


def prepared(subject: Subject, settings: RunSettings, cache: Cache | None = None) -> Any:
    """``subject`` prepared under ``settings`` as a run prepares it (from the content cache
    after a run: nothing is trained or predicted again): ``.dataset``, ``.eval``,
    ``.reference``, ``.rep`` (calibration rows), ``.calibration`` and ``.keras_model()``."""
    cache = cache or Cache(settings.cache_dir, enabled=settings.use_cache)
    sr = _SubjectRun(subject, settings, cache, _no_progress)
    sr.prepare()
    return sr


def evaluation_arrays(subject: Subject, settings: RunSettings, cache: Cache | None = None
                      ) -> tuple[Split, np.ndarray]:
    """The evaluation split and the Keras reference outputs of ``subject`` under ``settings``
    (:func:`prepared`)."""
    sr = prepared(subject, settings, cache)
    return sr.eval, sr.reference


def with_size_ratios(modes: list[ModeRecord]) -> list[ModeRecord]:
    """``file.size_ratio`` of every mode against the fp32 file of the same model."""
    ref = next((r.file.size_bytes for r in modes if r.mode == "fp32" and r.file), None)
    return [r.replace(file=r.file.replace(size_ratio=(r.file.size_bytes / ref) if ref else None))
            if r.file else r for r in modes]


def run(subjects: Sequence[Subject], settings: RunSettings,
        progress: Progress | None = None) -> dict[str, Any]:
    """Run every subject under every mode (or the ``settings.shard`` part of those jobs);
    returns a complete results document.

    With more than one worker (``settings.jobs``), recipe models train and conversions run in
    a pool of processes (:func:`_prepare_ahead`), then each mode is evaluated by as many
    interpreter threads and timed alone: no other work of the run shares the cores while
    ``invoke()`` is timed (``settings.scheduling`` in the results)."""
    from tflbench.environment import fingerprint
    from tflbench.runtime import backend_info
    from tflbench.scale import JobPlan, plan_jobs, shard_jobs

    progress = progress or _no_progress
    cache = Cache(settings.cache_dir, enabled=settings.use_cache)
    env = fingerprint(runtime=backend_info(), num_threads=settings.num_threads,
                      xnnpack=settings.xnnpack)
    plan = JobPlan(1, "--jobs 1") if settings.jobs == 1 else plan_jobs(settings.jobs)
    if settings.executor == "ray":  # scale: the same jobs on a Ray cluster (tflbench.scale_ray)
        from tflbench.scale_ray import plan_ray

        plan = plan_ray(settings.ray_address, settings.jobs,
                        settings.isolate or settings.mode_timeout is not None)
    doc = new_document(env, settings.to_dict(), settings.device)
    doc["settings"]["scheduling"] = {
        **plan.to_dict(),
        "training": "process pool" if plan.workers > 1 else "in process",
        "conversions": "process pool" if plan.workers > 1 else "in process",
        "evaluation": "interpreter threads" if plan.workers > 1 else "in process",
        "latency": "each mode alone, after its parallel work, in this process",
    }
    if settings.executor == "ray":
        from tflbench.scale_ray import scheduling

        doc["settings"]["scheduling"].update(scheduling())
    selected = set(shard_jobs([(s.name, m.name) for s in subjects for m in settings.modes],
                              settings.shard))
    try:
        srs: list[_SubjectRun] = []
        for subject in subjects:
            modes = tuple(m for m in settings.modes if (subject.name, m.name) in selected)
            if not modes:
                continue
            sr = _SubjectRun(subject, settings.replace(modes=modes), cache, progress)
            sr.eval_workers = plan.workers
            srs.append(sr)
        if plan.workers > 1 and settings.executor != "ray":
            runs = list(zip(srs, _prepare_ahead(srs, plan.workers, progress), strict=True))
        else:
            runs = [(sr, _prepare(sr)) for sr in srs]
            if plan.workers > 1:
                _convert_ahead([sr for sr, failed in runs if failed is None], plan.workers,
                               progress)
        for sr, failed in runs:
            doc["models"].append((failed or _finish(sr)).to_dict())
            for line in doc["models"][-1].get("warnings") or []:
                doc.setdefault("warnings", []).append(line)
        from tflbench.interrupt import raise_if_pending

        raise_if_pending()
    except KeyboardInterrupt as exc:
        # A signal (a cancelled CI job, Ctrl-C): the document holds every finished mode and
        # says it is partial; the command writes it and exits 128 + the signal.
        from tflbench.interrupt import signal_of

        partial = getattr(exc, "partial_record", None)
        if partial is not None:
            doc["models"].append(partial.to_dict())
        doc["interrupted"] = True
        doc["settings"]["interrupted_by"] = signal_of(exc)
    finally:
        if settings.executor == "ray":  # scale: stop the local Ray instance the run started
            from tflbench.scale_ray import release

            release()
    return doc
