"""A model that outputs logits and its softmax twin get the same figures and gate verdicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tflbench import gates, pipeline, quality


def test_output_kind_detection() -> None:
    probs = np.array([[0.2, 0.8], [1.0, 0.0]])
    assert quality.output_kind(probs) == "probabilities"
    assert quality.output_kind(np.array([[2.0, -1.0], [0.5, 0.5]])) == "logits"
    assert quality.output_kind(np.array([[0.3, 0.3], [0.1, 0.1]])) == "logits"  # no sum to 1


def test_logit_metrics_compare_softmax_and_keep_the_raw_sqnr() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 4)) * 3
    noisy = logits + rng.normal(size=logits.shape) * 0.05
    as_logits = quality.agreement_record(logits, noisy)
    as_probs = quality.agreement_record(quality.softmax(logits), quality.softmax(noisy))
    assert as_logits.output_kind == "logits" and as_probs.output_kind == "probabilities"
    for key in ("top1", "mean_abs_diff", "max_abs_diff", "kl_divergence", "sqnr_db"):
        assert getattr(as_logits, key) == pytest.approx(getattr(as_probs, key))
    assert as_logits.logit_sqnr_db is not None and as_probs.logit_sqnr_db is None


@pytest.fixture(scope="module")
def twins(tiny_model, tmp_path_factory) -> tuple[Path, Path]:
    import keras

    out = tmp_path_factory.mktemp("twins")
    softmax_path, logits_path = out / "softmax.keras", out / "logits.keras"
    tiny_model.save(softmax_path)
    cfg = tiny_model.get_config()
    cfg["layers"][-1]["config"]["activation"] = "linear"
    twin = keras.Sequential.from_config(cfg)
    twin.set_weights(tiny_model.get_weights())
    twin.save(logits_path)
    return softmax_path, logits_path


def test_logits_twin_gets_the_softmax_models_verdicts(twins, digits_npz, tmp_path: Path) -> None:
    settings = pipeline.RunSettings(
        modes=tuple(m for name, m in pipeline.MODES.items() if name in ("fp32", "fp16", "int8")),
        cache_dir=tmp_path / "cache", latency=pipeline.LatencySettings(
            warmup_runs=1, warmup_seconds=0.0, min_runs=3, min_seconds=0.0, max_runs=3,
            max_seconds=1.0))
    verdicts = []
    for path in twins:
        subject = pipeline.subject_from_model_file(path, f"npz:{digits_npz}?fractions=0.8/0.1/0.1",
                                                   name="m")
        doc = pipeline.run([subject], settings)
        results = gates.evaluate(doc)
        verdicts.append({(r.mode, r.name): r.passed for r in results
                         if r.name != "max_latency_p90_us"})
        kinds = {rec["agreement"]["output_kind"] for rec in doc["models"][0]["modes"]}
        assert kinds == {"logits" if path.stem == "logits" else "probabilities"}
    assert verdicts[0] == verdicts[1]
    assert verdicts[0]  # the checks ran
