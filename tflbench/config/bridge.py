"""From a :class:`~tflbench.config.model.ProjectConfig` to what the pipeline runs: the
:class:`~tflbench.pipeline.RunSettings` and one :class:`~tflbench.pipeline.Subject` per
configured model (the embedded digits subjects when none is configured).

A model file's ``preprocessing`` and ``class_names`` reach its subject as the subject's data
loader (``subject_from_model_file(..., data_loader=...)``), so the subject is complete when it is
built. Nothing here runs before it is called: loading data and building models stay deferred.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from tflbench.config.model import ModelEntry, ProjectConfig
    from tflbench.data.base import Dataset
    from tflbench.pipeline import RunSettings, Subject
    from tflbench.timing import LatencySettings


def latency_settings(project: ProjectConfig) -> LatencySettings:
    """The run's latency settings with the project's ``[latency]`` overrides."""
    from tflbench.pipeline import RUN_LATENCY

    return dataclasses.replace(RUN_LATENCY, **project.latency)


def run_settings(project: ProjectConfig) -> RunSettings:
    """The :class:`~tflbench.pipeline.RunSettings` of a project."""
    from tflbench.modes import resolve_modes
    from tflbench.pipeline import RunSettings

    return RunSettings(
        modes=tuple(resolve_modes(project.mode_names())),
        num_threads=project.threads,
        xnnpack=project.xnnpack,
        top_k=project.top_k,
        representative_samples=project.representative_samples,
        latency=latency_settings(project),
        cache_dir=project.resolved_cache_dir(),
        report_dir=project.report_dir,
        device=project.device,
        max_eval_samples=project.max_eval_samples,
    )


def subjects(project: ProjectConfig) -> list[Subject]:
    """One subject per configured model, in order (the embedded default without models)."""
    from tflbench import pipeline

    if not project.models:
        return pipeline.default_subjects()
    return [subject(m) for m in project.models]


def subject(entry: ModelEntry) -> Subject:
    """The subject of one ``[[models]]`` entry."""
    from tflbench import pipeline

    if entry.recipe:
        return pipeline.subject_from_recipe(entry.recipe, entry.data,
                                            subject_name=entry.name, **entry.params)
    assert entry.path is not None
    return pipeline.subject_from_model_file(entry.path, entry.data, name=entry.name,
                                            safe_mode=entry.safe_mode,
                                            data_loader=data_loader(entry))


def data_loader(entry: ModelEntry) -> Callable[[], Dataset] | None:
    """A deferred loader of a model file's data with its own ``preprocessing`` and
    ``class_names``; ``None`` when it sets neither (the pipeline's default loading applies)."""
    if entry.preprocessing is None and entry.class_names is None:
        return None
    spec = entry.data or "digits"

    def load() -> Dataset:
        from tflbench.pipeline import eval_all_fractions

        return load_data(spec, preprocessing=entry.preprocessing,
                         class_names=entry.class_names, lazy="auto",
                         fractions=eval_all_fractions(spec))

    return load


def load_data(spec: str, *, preprocessing: Any = None,
              class_names: Sequence[str] | None = None, lazy: bool | str = False,
              fractions: str | None = None) -> Dataset:
    """Load a data spec with the user's preprocessing, then name its classes. ``lazy="auto"``
    streams large folder/npz evaluation data (model-file subjects; recipes train in memory)."""
    from tflbench.data import sources
    from tflbench.errors import DataError

    kwargs: dict[str, Any] = {"lazy": lazy, "fractions": fractions}
    if preprocessing is not None:
        kwargs["preprocessing"] = preprocessing
    ds = sources.load_dataset(spec, **kwargs)
    if class_names is not None:
        if len(class_names) != ds.num_classes:
            raise DataError(
                f"class_names has {len(class_names)} names but the data {spec!r} has "
                f"{ds.num_classes} classes ({', '.join(ds.class_names)}). Give one name per "
                "class, in label order."
            )
        ds = dataclasses.replace(ds, class_names=tuple(class_names))
    return ds
