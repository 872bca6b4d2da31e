"""A run on too few samples to resolve a threshold says so, with the samples needed."""

from __future__ import annotations

import numpy as np

from tflbench import gates, quality
from tflbench.resolution import resolution_warnings


def _doc(n: int, flips: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    ref = np.eye(10)[y] * 0.9 + 0.01
    cand = ref.copy()
    idx = rng.choice(n, flips, replace=False)
    cand[idx] = np.roll(cand[idx], 1, axis=1)
    rec = {"mode": "int8", "status": "ok",
           "agreement": quality.agreement_record(ref, cand).to_dict(),
           "accuracy": quality.accuracy_record(y, ref, cand, None).to_dict()}
    keras = quality.keras_record(y, ref).to_dict()
    return {"models": [{"name": "m", "keras": keras, "modes": [rec]}]}


def test_small_sets_are_warned_with_the_samples_needed() -> None:
    lines = resolution_warnings(_doc(98, 1), gates.Thresholds(per_mode={
        "int8": {"max_accuracy_drop": 0.005}}))
    drop = next(line for line in lines if "max_accuracy_drop" in line)
    assert drop.startswith("m: 98 evaluated samples cannot resolve max_accuracy_drop 0.5 pp "
                           "(int8): the 95% interval is ±")
    needed = int(drop.split("about ")[1].split(" samples")[0].replace(",", ""))
    assert needed > 98
    # at that many samples (same rates) the interval is narrow enough: no warning
    assert not [line for line in resolution_warnings(
        _doc(needed * 2, 2 * needed // 98), gates.Thresholds(per_mode={
            "int8": {"max_accuracy_drop": 0.005}})) if "max_accuracy_drop" in line]


def test_agreement_threshold_resolution() -> None:
    lines = resolution_warnings(_doc(200, 0), gates.Thresholds(per_mode={
        "int8": {"min_top1_agreement": 0.999}}))
    assert any("cannot resolve min_top1_agreement 0.999" in line for line in lines)


def test_apply_stores_the_warnings_in_the_document() -> None:
    doc = _doc(98, 1)
    gates.apply(doc)
    assert any("98 evaluated samples" in line for line in doc["warnings"])
