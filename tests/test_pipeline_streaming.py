"""The pipeline on lazily loaded data: the same results as on the same data in memory, with
inputs read batch by batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tflbench import pipeline
from tflbench.data import folder, npz
from tflbench.data.base import LazyArray
from tflbench.data.sources import load_dataset
from tflbench.modes import resolve_modes
from tflbench.timing import LatencySettings

FAST = LatencySettings(warmup_runs=2, warmup_seconds=0.0, min_runs=5, min_seconds=0.0,
                       max_runs=20, max_seconds=1.0)


def _settings(cache: Path, modes: str = "fp32", **kw: Any) -> pipeline.RunSettings:
    return pipeline.RunSettings(modes=tuple(resolve_modes(modes)), latency=FAST,
                                cache_dir=cache, report_dir=cache / "reports",
                                representative_samples=40, **kw)


@pytest.fixture(scope="module")
def digits_folder(digits, tmp_path_factory) -> Path:
    """The digits test and validation images as 8x8 grayscale PNGs, one folder per class."""
    from PIL import Image

    root = tmp_path_factory.mktemp("digit-images")
    x = np.concatenate([digits.val.x, digits.test.x])
    y = np.concatenate([digits.val.y, digits.test.y])
    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        d = root / f"d{label}"
        d.mkdir(exist_ok=True)
        Image.fromarray(np.round(img[..., 0] * 255).astype(np.uint8), "L").save(d / f"{i}.png")
    return root


def _comparable(model: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on how the data was loaded (timings and paths left out)."""
    return {
        "dataset": model["dataset"],
        "keras": model["keras"],
        "modes": [{"mode": r["mode"], "status": r["status"], "io": r["io"],
                   "sha256": r["file"]["sha256"], "agreement": r["agreement"],
                   "accuracy": r["accuracy"]} for r in model["modes"]],
    }


@pytest.mark.parametrize("source", ["npz", "folder"])
def test_lazy_and_in_memory_runs_give_the_same_results(source, tiny_model_file, digits_npz,
                                                       digits_folder, tmp_path):
    spec = (f"npz:{digits_npz}" if source == "npz"
            else f"folder:{digits_folder}?color=grayscale&fractions=0.5/0.2/0.3")
    eager, lazy = load_dataset(spec), load_dataset(spec, lazy=True)
    assert lazy.lazy and not eager.lazy
    docs, evals = [], []
    for ds, cache in ((eager, tmp_path / "eager"), (lazy, tmp_path / "lazy")):
        subject = pipeline.subject_from_model_file(tiny_model_file, ds)
        settings = _settings(cache, "fp32,int8", max_eval_samples=150)
        docs.append(pipeline.run([subject], settings)["models"][0])
        evals.append(pipeline.evaluation_arrays(subject, settings))
    assert all(r["status"] == "ok" for r in docs[1]["modes"])
    assert _comparable(docs[1]) == _comparable(docs[0])
    assert docs[1]["dataset"]["n_eval"] == 150
    (e_split, e_ref), (l_split, l_ref) = evals
    assert isinstance(l_split.x, LazyArray) and len(l_split.x) == 150
    np.testing.assert_array_equal(l_ref, e_ref)
    np.testing.assert_array_equal(np.asarray(l_split.x), e_split.x)
    np.testing.assert_array_equal(l_split.y, e_split.y)


def test_model_file_subjects_load_large_sources_lazily(tiny_model_file, digits_npz, tmp_path,
                                                       monkeypatch):
    subject = pipeline.subject_from_model_file(tiny_model_file, f"npz:{digits_npz}")
    assert not subject.load_dataset().lazy  # small: in memory
    monkeypatch.setattr(npz, "LAZY_AUTO_BYTES", 0)
    monkeypatch.setattr(folder, "LAZY_AUTO_BYTES", 0)
    ds = subject.load_dataset()
    assert ds.lazy
    doc = pipeline.run([subject], _settings(tmp_path / "cache"))
    rec = doc["models"][0]
    assert rec["dataset"]["fingerprint"] == ds.fingerprint() == ds.in_memory().fingerprint()
    assert rec["modes"][0]["status"] == "ok" and rec["modes"][0]["agreement"]["top1"] == 1.0


def test_representative_samples_read_only_those_rows(digits_npz):
    lazy = load_dataset(f"npz:{digits_npz}", lazy=True)
    eager = load_dataset(f"npz:{digits_npz}")
    rep = pipeline.representative_samples(lazy, 25, seed=3)
    assert isinstance(rep, np.ndarray) and rep.shape == (25, 8, 8, 1)
    np.testing.assert_array_equal(rep, pipeline.representative_samples(eager, 25, seed=3))
    assert pipeline.representative_samples(lazy, 0).shape == (0, 8, 8, 1)


def test_recipe_subjects_get_data_in_memory(digits_npz):
    lazy = load_dataset(f"npz:{digits_npz}", lazy=True)
    ds = pipeline.subject_from_recipe("digits-cnn", lazy).load_dataset()
    assert not ds.lazy and isinstance(ds.train.x, np.ndarray)
    assert ds.fingerprint() == lazy.fingerprint()


def test_runner_predicts_a_lazy_array_batch_by_batch(tiny_model, digits_npz):
    from tflbench.convert import convert
    from tflbench.modes import MODES
    from tflbench.runtime import Runner

    x = load_dataset(f"npz:{digits_npz}", lazy=True).train.x
    assert isinstance(x, LazyArray)
    reads: list[int] = []
    original = type(x)._read

    def counting(self: LazyArray, rows: np.ndarray) -> np.ndarray:
        reads.append(len(rows))
        return original(self, rows)

    runner = Runner(convert(tiny_model, MODES["fp32"], None).tflite)
    expected = runner.predict(np.asarray(x[:300]), batch_size=32)
    view = x.subset(slice(0, 300))
    type(x)._read = counting  # type: ignore[method-assign]
    try:
        out = runner.predict(view, batch_size=32)
        assert reads and max(reads) == 32 and sum(reads) == 300
        reads.clear()
        single = runner.predict_per_sample(view.subset(slice(0, 5)))
        assert reads == [1] * 5
    finally:
        type(x)._read = original  # type: ignore[method-assign]
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_allclose(single, expected[:5], atol=1e-6)


def test_keras_reference_in_chunks_equals_one_call(tiny_model, digits_npz, monkeypatch):
    monkeypatch.setattr(pipeline, "_KERAS_CHUNK_BYTES", 1)  # one batch of 256 per chunk
    x = load_dataset(f"npz:{digits_npz}?fractions=0.2/0.1/0.7", lazy=True).test.x
    assert isinstance(x, LazyArray) and len(x) > 3 * 256
    chunked = pipeline._keras_outputs(tiny_model, x)
    whole = pipeline._keras_outputs(tiny_model, np.asarray(x))
    assert chunked.shape == (len(x), 10)
    np.testing.assert_array_equal(chunked, whole)
