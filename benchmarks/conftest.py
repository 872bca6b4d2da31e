"""Fixtures for the performance benchmarks (run with: tox -e bench, or pytest benchmarks)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def digits_cnn_tflite(tmp_path_factory):
    """The digits-cnn reference model converted to fp32 and int8, via the real pipeline cache."""
    from tflbench import pipeline
    from tflbench.cache import Cache
    from tflbench.modes import MODES

    cache = Cache(tmp_path_factory.mktemp("bench-cache"))
    settings = pipeline.RunSettings(cache_dir=cache.root, representative_samples=200)
    run = pipeline._SubjectRun(pipeline.subject_from_recipe("digits-cnn"), settings, cache,
                               lambda *a: None)
    run.prepare()
    paths = {m: run.tflite_path(MODES[m])[0] for m in ("fp32", "int8")}
    return paths, run.dataset
