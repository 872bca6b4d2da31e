"""Subjects: a reference Keras model and its data, both loaded lazily, keyed by content.

A subject comes from a built-in recipe (trained, cached) or a user's model file; data without
its own splits is evaluated whole for a model file (``fractions=all``). No TensorFlow is
imported until a model is built.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tflbench import __version__
from tflbench.cache import Cache, content_key, file_digest, tf_versions
from tflbench.data.base import Dataset
from tflbench.errors import ModelLoadError

#: progress(model, mode or None, message)
Progress = Callable[[str, "str | None", str], None]


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
    #: How another process makes the same subject (``subject_from_recipe``'s arguments), so a
    #: worker can train it (tflbench.scale); ``None`` for subjects that are not trained.
    rebuild: dict[str, Any] | None = None


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
                   load_dataset=load_dataset, model_key=key, build_model=build,
                   rebuild={"name": name, "dataset": dataset, "subject_name": subject_name,
                            "params": params})


def subject_from_model_file(
    path: str | os.PathLike[str], dataset: Dataset | str | dict[str, Any] | None = None, *,
    name: str | None = None, safe_mode: bool = True,
    data_loader: Callable[[], Dataset] | None = None,
    calibration: Dataset | str | dict[str, Any] | None = None,
) -> Subject:
    """A user's ``.keras`` / ``.h5`` / SavedModel with its data (default: the embedded digits).

    A data spec is loaded with ``lazy="auto"``: an ``npz:`` or ``folder:`` source whose float32
    inputs would exceed 64 MiB is read batch by batch during the run, never whole (see
    docs/data-sources.md, "Streaming evaluation"). Pass a :class:`Dataset` loaded with
    ``load_dataset(spec, lazy=True)`` (or ``False``) to choose.

    Data without its own splits is evaluated whole (:func:`eval_all_fractions`); the
    full-integer modes calibrate on ``calibration`` (any data spec) when given, else as
    :func:`calibration_samples` says.

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
    check_data_spec(calibration)

    def load_dataset() -> Dataset:
        if data_loader is not None:
            return data_loader()
        if isinstance(dataset, Dataset):
            return dataset
        spec = dataset or "digits"
        return load_data_spec(spec, lazy="auto", fractions=eval_all_fractions(spec))

    def key(ds: Dataset) -> str:
        return content_key("file", file_digest(p), safe_mode, custom_code_digest(p, safe_mode),
                           tf_versions())

    def build(ds: Dataset, cache: Cache, progress: Progress) -> Any:
        from tflbench.models.loader import load_model

        return load_model(p, safe_mode=safe_mode)

    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    return Subject(name=name or stem, source=str(p), load_dataset=load_dataset,
                   model_key=key, build_model=build, safe_mode=safe_mode,
                   extra={"calibration": calibration} if calibration is not None else {})


def eval_all_fractions(spec: str | dict[str, Any]) -> str | None:
    """``"all"`` for a data spec without its own splits and without explicit fractions: a model
    that is already trained is evaluated on every row the user gave. ``None`` otherwise (the
    embedded digits keep their seeded test split; explicit ``fractions=`` still split)."""
    from tflbench.data.base import EVAL_ALL
    from tflbench.data.sources import parse_spec

    parsed = parse_spec(spec)
    if "fractions" in parsed.options:
        return None
    if parsed.kind in ("npz", "folder"):
        return EVAL_ALL
    if parsed.kind == "tfds":
        splits = parsed.options.get("split")
        if splits is not None and len(splits) == 1:
            return EVAL_ALL
    return None


def custom_code_digest(path: Path, safe_mode: bool) -> str | None:
    """A digest of the source of the modules that define a ``.keras`` model's custom objects
    (registered classes named in its config), so editing a custom layer's code misses the
    cache. ``None`` for files without custom objects."""
    import importlib.util
    import json
    import zipfile

    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json"))
    except (KeyError, OSError, ValueError, zipfile.BadZipFile):
        return None
    modules: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            mod = node.get("module")
            if isinstance(mod, str) and node.get("registered_name") and \
                    not mod.startswith(("keras", "tensorflow", "builtins")):
                modules.add(mod)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(config)
    if not modules:
        return None
    parts = []
    for mod in sorted(modules):
        try:
            spec = importlib.util.find_spec(mod)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
        parts.append((mod, file_digest(origin) if origin and Path(origin).is_file() else None))
    return content_key("custom-code", parts)


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


def load_data_spec(spec: str | dict[str, Any], lazy: bool | str = False,
                   fractions: str | None = None) -> Dataset:
    """Resolve a data spec ("digits", "npz:PATH", "folder:PATH", "tfds:NAME", "keras:NAME");
    see :mod:`tflbench.data.sources` (``lazy`` and ``fractions`` as in its ``load_dataset``)."""
    from tflbench.data.sources import load_dataset

    return load_dataset(spec, lazy=lazy, fractions=fractions)


