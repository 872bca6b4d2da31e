"""The core job: for each subject (a reference Keras model and its dataset) and each mode,
convert, evaluate against Keras, and time ``invoke()``; return one results document.

Every step is deferred and cached by content (:mod:`tflbench.cache`): a second run with the same
model, data, modes and package versions neither trains, converts nor runs Keras again, and does
not import TensorFlow at all. A step that fails for one mode is recorded in that mode's record
(``status: failed`` with one clear line) and the other modes go on.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tflbench import __version__
from tflbench import metrics as M
from tflbench.cache import DEFAULT_DIR, Cache, array_digest, content_key, file_digest, tf_versions
from tflbench.data.base import Dataset, LazyArray, Split, stratified_subset
from tflbench.errors import ModelLoadError, TflbenchError
from tflbench.modes import MODES, Mode
from tflbench.results import new_document
from tflbench.timing import LatencySettings, measure, measure_once_ns

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
    modes: tuple[Mode, ...] = tuple(MODES.values())
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
        }

    def replace(self, **changes: Any) -> RunSettings:
        return dataclasses.replace(self, **changes)


@dataclass
class Subject:
    """A reference model and its data, both loaded lazily.

    ``model_key(dataset)`` is a cheap content key of the model *before* loading it (recipe and
    parameters and data, or the model file's bytes) so cached work is found without TensorFlow.
    ``build_model(dataset)`` returns the Keras model (training it if it is a recipe).
    """

    name: str
    source: str
    load_dataset: Callable[[], Dataset]
    model_key: Callable[[Dataset], str]
    build_model: Callable[[Dataset, Cache, Progress], Any]
    safe_mode: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------- subjects


def subject_from_recipe(
    name: str, dataset: Dataset | str | dict[str, Any] | None = None, *,
    subject_name: str | None = None, **params: Any,
) -> Subject:
    """A subject trained by a built-in recipe (see ``tflbench recipes``)."""
    from tflbench.models.recipes import get_recipe

    recipe = get_recipe(name)
    full = recipe.params(**params)
    if dataset is None and "PATH" in recipe.dataset:
        from tflbench.errors import ConfigError

        raise ConfigError(f"Recipe '{recipe.name}' trains on your data; give it, e.g. "
                          f"--data '{recipe.dataset.replace('PATH', 'path/to/images')}'.")
    check_data_spec(dataset)

    def load_dataset() -> Dataset:
        # Training needs the inputs in memory: a lazily loaded dataset is read whole here.
        if isinstance(dataset, Dataset):
            ds = dataset.in_memory()
        else:
            ds = load_data_spec(dataset or recipe.dataset)
        mod = recipe.load_module()
        prepare = getattr(mod, "prepare", None)
        return prepare(ds, **full) if prepare else ds

    def key(ds: Dataset) -> str:
        return content_key("recipe", recipe.name, full, ds.fingerprint(), tf_versions(),
                           __version__)

    def build(ds: Dataset, cache: Cache, progress: Progress) -> Any:
        k = key(ds)
        cached = cache.get("models", k, ".keras")
        if cached is not None:
            from tflbench.models.loader import load_model

            try:
                return load_model(cached, safe_mode=True)
            except ModelLoadError:
                pass  # a damaged cache entry: train again
        progress(subject_name or recipe.name, None, f"training recipe {recipe.name}")
        model = recipe.load_module().train(ds, progress=False, **full)
        target = cache.path("models", k, ".keras")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
        model.save(tmp)
        os.replace(tmp, target)
        return model

    return Subject(name=subject_name or recipe.name, source=f"recipe:{recipe.name}",
                   load_dataset=load_dataset, model_key=key, build_model=build)


def subject_from_model_file(
    path: str | os.PathLike[str], dataset: Dataset | str | dict[str, Any] | None = None, *,
    name: str | None = None, safe_mode: bool = True,
    data_loader: Callable[[], Dataset] | None = None,
) -> Subject:
    """A user's ``.keras`` / ``.h5`` / SavedModel with its data (default: the embedded digits).

    A data spec is loaded with ``lazy="auto"``: an ``npz:`` or ``folder:`` source whose float32
    inputs would exceed 64 MiB is read batch by batch during the run, never whole (see
    docs/data-sources.md, "Streaming evaluation"). Pass a :class:`Dataset` loaded with
    ``load_dataset(spec, lazy=True)`` (or ``False``) to choose.

    ``data_loader``, when given, loads the data instead (deferred, like the default loading):
    the project configuration passes one that applies a model's own preprocessing and class
    names to ``dataset``.
    """
    from tflbench.models.loader import model_kind

    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"Model not found: {p}. Check the path.")
    model_kind(p)  # validates the kind early, without TensorFlow
    check_data_spec(dataset)

    def load_dataset() -> Dataset:
        if data_loader is not None:
            return data_loader()
        if isinstance(dataset, Dataset):
            return dataset
        return load_data_spec(dataset or "digits", lazy="auto")

    def key(ds: Dataset) -> str:
        return content_key("file", file_digest(p), safe_mode, tf_versions())

    def build(ds: Dataset, cache: Cache, progress: Progress) -> Any:
        from tflbench.models.loader import load_model

        return load_model(p, safe_mode=safe_mode)

    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    return Subject(name=name or stem, source=str(p), load_dataset=load_dataset,
                   model_key=key, build_model=build, safe_mode=safe_mode)


def default_subjects() -> list[Subject]:
    """The embedded default: two reference models on scikit-learn's 8x8 digits."""
    return [subject_from_recipe("digits-cnn"), subject_from_recipe("digits-mobilenet")]


def check_data_spec(spec: Dataset | str | dict[str, Any] | None) -> None:
    """Fail fast, before any training or conversion, on a malformed spec or a missing path."""
    if spec is None or isinstance(spec, Dataset):
        return
    from tflbench.data.sources import parse_spec
    from tflbench.errors import DataError

    parsed = parse_spec(spec)
    if parsed.kind in ("npz", "folder") and not Path(parsed.target).exists():
        raise DataError(f"Data not found: {parsed.target} (from the data spec {spec!r}). "
                        "Check the path.")


def load_data_spec(spec: str | dict[str, Any], lazy: bool | str = False) -> Dataset:
    """Resolve a data spec ("digits", "npz:PATH", "folder:PATH", "tfds:NAME", "keras:NAME");
    see :mod:`tflbench.data.sources` (``lazy`` as in its ``load_dataset``)."""
    from tflbench.data.sources import load_dataset

    return load_dataset(spec, lazy=lazy)


# ----------------------------------------------------------------------------------- the run


#: Bytes of inputs per Keras ``predict`` call on lazily loaded data (whole batches of 256).
_KERAS_CHUNK_BYTES = 32 << 20


def _eval_split(ds: Dataset, settings: RunSettings) -> Split:
    """The test split, or a seeded stratified subset of ``max_eval_samples`` of it (a file's
    own order may be sorted by class: its first rows would cover only the first classes)."""
    test = ds.test
    if settings.max_eval_samples is not None and len(test) > settings.max_eval_samples:
        return test.take(stratified_subset(test.y, settings.max_eval_samples, settings.seed))
    return test


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
    """``n`` training samples, seeded, for full-integer calibration (only those ``n`` are read
    from lazily loaded data)."""
    x = ds.train.x
    if n <= 0 or len(x) == 0:
        return x[:0]
    idx = np.random.default_rng(seed).permutation(len(x))[: min(n, len(x))]
    return np.asarray(x[np.sort(idx)], dtype=np.float32)


def _unexpected(exc: BaseException, stage: str) -> str:
    text = str(exc).strip().splitlines()
    return (f"unexpected {type(exc).__name__} during {stage}: "
            f"{text[0] if text else type(exc).__name__}. The other modes go on; if the input "
            "looks right, report this with the results file.")


def _failed_record(mode: str, stage: str, error: str) -> dict[str, Any]:
    rec = _empty_record(mode)
    rec.update(status="failed", stage=stage, error=error)
    return rec


def _empty_record(mode: str) -> dict[str, Any]:
    return {"mode": mode, "status": "ok", "error": None, "stage": None, "conversion": None,
            "file": None, "io": None, "agreement": None, "accuracy": None, "latency": None}


class _SubjectRun:
    """State of one subject during a run: the dataset, the lazily built Keras model, caches."""

    def __init__(self, subject: Subject, settings: RunSettings, cache: Cache,
                 progress: Progress) -> None:
        self.subject, self.settings, self.cache, self.progress = subject, settings, cache, progress
        self._model: Any = None

    def keras_model(self) -> Any:
        if self._model is None:
            self._model = self.subject.build_model(self.dataset, self.cache, self.progress)
        return self._model

    def prepare(self) -> None:
        s = self.subject
        self.progress(s.name, None, "loading data")
        self.stage = "data"
        self.dataset = s.load_dataset()
        self.stage = "model"
        self.eval = _eval_split(self.dataset, self.settings)
        mkey = s.model_key(self.dataset)
        meta = self.cache.get_json("model-meta", mkey)
        if meta is None:
            from tflbench.models.loader import model_hash

            self.progress(s.name, None, "building reference model")
            self.model_sha256 = model_hash(self.keras_model())
            self.cache.put_json("model-meta", mkey, {"model_sha256": self.model_sha256})
        else:
            self.model_sha256 = meta["model_sha256"]
        self._check_model_shapes()
        self.reference = self._reference_outputs()
        self.keras_cls = M.classification(self.eval.y, self.reference, self.dataset.num_classes)
        self.rep = representative_samples(self.dataset, self.settings.representative_samples,
                                          self.settings.seed)

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
        rkey = content_key("reference", self.model_sha256, self.dataset.fingerprint(),
                           len(self.eval), tf_versions())
        ref = self.cache.get_array("reference", rkey)
        if ref is None:
            self.progress(self.subject.name, None, "computing Keras reference outputs")
            model = self.keras_model()
            self._check_model_shapes()
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
    def tflite_path(self, mode: Mode) -> tuple[Path, dict[str, Any]]:
        ckey = content_key("tflite", self.model_sha256, dataclasses.asdict(mode),
                           array_digest(self.rep) if mode.needs_representative_data else None,
                           tf_versions(), __version__)
        path = self.cache.get("tflite", ckey, ".tflite")
        meta = self.cache.get_json("tflite", ckey)
        if path is not None and meta is not None:
            return path, {**meta, "cached": True}
        from tflbench.convert import convert

        self.progress(self.subject.name, mode.name, "converting")
        outcome = convert(self.keras_model(), mode, self.rep, name=self.subject.name)
        path = self.cache.put_bytes("tflite", ckey, ".tflite", outcome.tflite)
        rec = outcome.record()
        self.cache.put_json("tflite", ckey, rec)
        return path, rec

    def run_mode(self, mode: Mode) -> dict[str, Any]:
        from tflbench.runtime import Runner

        rec = _empty_record(mode.name)
        stage = "convert"
        try:
            path, rec["conversion"] = self.tflite_path(mode)
            stage = "load"
            rec["file"] = M.size_record(path, None)
            runner = Runner(path, num_threads=self.settings.num_threads,
                            xnnpack=self.settings.xnnpack, name=f"{self.subject.name}/{mode.name}")
            rec["io"] = runner.io_record()
            # The first invoke on a fresh interpreter (lazy kernel preparation), before the
            # evaluation warms it up.
            runner.set_single_input(self.eval.x[0:1])
            first_ns, _ = measure_once_ns(runner.invoke)
            stage = "evaluate"
            self.progress(self.subject.name, mode.name, "evaluating")
            out = runner.predict(self.eval.x, batch_size=self.settings.batch_size)
            M.check_finite(out, f"{self.subject.name}/{mode.name}")
            rec["agreement"] = M.agreement(self.reference, out, k=self.settings.top_k).to_dict()
            cls = M.classification(self.eval.y, out, self.dataset.num_classes)
            rec["accuracy"] = M.accuracy_record(cls, self.keras_cls, self.dataset.class_names)
            stage = "latency"
            self.progress(self.subject.name, mode.name, "timing invoke()")
            rec["latency"] = {**self._latency(runner), "first_invoke_us": first_ns / 1000.0}
        except TflbenchError as exc:
            rec.update(status="failed", stage=stage, error=str(exc))
        except Exception as exc:  # the runtime or the file system failed: keep the other modes
            rec.update(status="failed", stage=stage, error=_unexpected(exc, stage))
        return rec

    def _latency(self, runner: Any) -> dict[str, Any]:
        runner.set_single_input(self.eval.x[0:1])
        stats = measure(runner.invoke, self.settings.latency)
        return {**stats.to_dict(), "threads": self.settings.num_threads,
                "xnnpack": self.settings.xnnpack, "init_us": runner.init_us}


def run_subject(subject: Subject, settings: RunSettings, cache: Cache | None = None,
                progress: Progress | None = None) -> dict[str, Any]:
    """The model record of one subject (see docs/results-schema.md)."""
    progress = progress or _no_progress
    cache = cache or Cache(settings.cache_dir, enabled=settings.use_cache)
    sr = _SubjectRun(subject, settings, cache, progress)
    record: dict[str, Any] = {"name": subject.name, "source": subject.source,
                              "model_sha256": None, "dataset": None, "keras": None, "modes": []}
    try:
        sr.prepare()
    except Exception as exc:  # user errors and unexpected ones alike: the other subjects go on
        stage = getattr(sr, "stage", "data")
        if not isinstance(exc, TflbenchError):
            exc = TflbenchError(_unexpected(exc, stage))
        record["error"] = str(exc)
        record["stage"] = stage
        record["modes"] = [_failed_record(m.name, stage, str(exc)) for m in settings.modes]
        progress(subject.name, None, f"error: {exc}")
        return record
    record.update(model_sha256=sr.model_sha256, dataset=sr.dataset.describe(),
                  keras=sr.keras_cls.to_dict())
    record["dataset"]["n_eval"] = len(sr.eval)
    for mode in settings.modes:
        rec = sr.run_mode(mode)
        record["modes"].append(rec)
        progress(subject.name, mode.name, "failed" if rec["status"] == "failed" else "done")
    _fill_size_ratios(record)
    return record


def evaluation_arrays(subject: Subject, settings: RunSettings, cache: Cache | None = None
                      ) -> tuple[Split, np.ndarray]:
    """The evaluation split and the Keras reference outputs of ``subject`` under ``settings``
    (from the content cache after a run: nothing is trained or predicted again)."""
    cache = cache or Cache(settings.cache_dir, enabled=settings.use_cache)
    sr = _SubjectRun(subject, settings, cache, _no_progress)
    sr.prepare()
    return sr.eval, sr.reference


def _fill_size_ratios(record: dict[str, Any]) -> None:
    ref = next((r["file"]["size_bytes"] for r in record["modes"]
                if r["mode"] == "fp32" and r.get("file")), None)
    for r in record["modes"]:
        if r.get("file"):
            r["file"]["size_ratio"] = (r["file"]["size_bytes"] / ref) if ref else None


def run(subjects: Sequence[Subject], settings: RunSettings,
        progress: Progress | None = None) -> dict[str, Any]:
    """Run every subject under every mode; returns a complete results document."""
    from tflbench.environment import fingerprint
    from tflbench.runtime import backend_info

    cache = Cache(settings.cache_dir, enabled=settings.use_cache)
    env = fingerprint(runtime=backend_info(), num_threads=settings.num_threads,
                      xnnpack=settings.xnnpack)
    doc = new_document(env, settings.to_dict(), settings.device)
    for subject in subjects:
        doc["models"].append(run_subject(subject, settings, cache, progress))
    return doc
