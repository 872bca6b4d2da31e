"""What per-layer quantization work needs of a subject (its data, model, reference outputs,
calibration rows and the samples compared), shared by ``tflbench diagnose``, ``tflbench tune``
and ``tflbench run --attribute``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def attributable(mode: Any) -> bool:
    """Whether ``mode`` quantizes activations (a full-integer converter mode) or is an lq-."""
    return bool(mode.needs_representative_data or mode.tool == "quantizer")


@dataclass
class QuantInputs:
    """What per-layer work needs of one subject: its data, Keras model and reference outputs,
    calibration rows, and the samples the layers are compared on (with their reference)."""

    dataset: Any
    eval: Any
    reference: Any
    model: Any
    calibration: Any
    samples: Any
    sample_reference: Any


def quant_inputs(subject: Any, settings: Any, *, on: str = "evaluation",
                 samples: int = 500) -> QuantInputs:
    """:class:`QuantInputs` of ``subject`` under ``settings`` (the data, reference outputs and
    model from the run's cache: nothing is trained or predicted twice)."""
    import numpy as np

    from tflbench import pipeline

    sr = pipeline.prepared(subject, settings)
    split, reference, calibration = sr.eval, sr.reference, sr.rep
    ds, model = sr.dataset, sr.keras_model()
    if on == "calibration":
        xs = calibration[:samples]
        xs_ref = np.asarray(model.predict(xs, batch_size=256, verbose=0), np.float32)
    else:
        xs = np.asarray(split.x[:samples], np.float32)
        xs_ref = reference[:samples]
    return QuantInputs(dataset=ds, eval=split, reference=reference, model=model,
                       calibration=calibration, samples=xs, sample_reference=xs_ref)


def attach_attribution(doc: dict[str, Any], subjects: list[Any], settings: Any,
                       modes: list[Any], *, samples: int = 500, probes: int = 12,
                       say: Any = None) -> list[str]:
    """``tflbench run --attribute``: the per-layer attribution of each of ``modes`` in every
    subject's record (where the mode converted and ran); returns one line per mode it could
    not attribute (the run's other results stand)."""
    from tflbench.diagnose import attribute
    from tflbench.errors import TflbenchError

    problems: list[str] = []
    by_name = {m["name"]: m for m in doc["models"]}
    for subject in subjects:
        model_rec = by_name.get(subject.name)
        if model_rec is None or model_rec.get("error"):
            continue
        recs = {r["mode"]: r for r in model_rec["modes"] if r.get("status") == "ok"}
        wanted = [m for m in modes if m.name in recs]
        if not wanted:
            continue
        q = quant_inputs(subject, settings, samples=samples)
        for mode in wanted:
            where = f"{subject.name}/{mode.name}"

            def progress(message: str, where: str = where) -> None:
                if say is not None:
                    say(f"{where}: {message}")

            try:
                attr = attribute(q.model, mode, q.calibration, q.samples,
                                 reference=q.sample_reference, name=subject.name,
                                 sample_source="evaluation", probes=probes, progress=progress)
            except TflbenchError as exc:
                problems.append(f"{subject.name}/{mode.name}: no attribution: {exc}")
                continue
            recs[mode.name]["attribution"] = attr.to_dict()
    return problems
