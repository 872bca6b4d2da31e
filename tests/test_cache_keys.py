"""Complete cache keys: changing any input of a cached step misses the cache (the seed and the
evaluated subset, the data's bytes, a custom layer's code, a package version)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tflbench import pipeline
from tflbench.timing import LatencySettings

FAST = LatencySettings(warmup_runs=1, warmup_seconds=0.0, min_runs=3, min_seconds=0.0,
                       max_runs=3, max_seconds=1.0)


def _entries(cache: Path, kind: str) -> int:
    d = cache / kind
    return len([p for p in d.iterdir() if not p.name.startswith(".")]) if d.is_dir() else 0


def _run(model: Path, data: str, cache: Path, **settings: object) -> dict:
    s = pipeline.RunSettings(modes=(pipeline.MODES["fp32"],), cache_dir=cache, latency=FAST,
                             jobs=1, **settings)  # type: ignore[arg-type]
    return pipeline.run([pipeline.subject_from_model_file(model, data, name="m")], s)


def test_subset_seed_and_data_bytes_miss_the_reference_cache(tiny_model_file: Path,
                                                             digits_npz: Path,
                                                             tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    data = f"npz:{digits_npz}"
    _run(tiny_model_file, data, cache, max_eval_samples=300, seed=0)
    assert _entries(cache, "reference") == 1
    _run(tiny_model_file, data, cache, max_eval_samples=300, seed=0)
    assert _entries(cache, "reference") == 1  # same rows: a hit
    _run(tiny_model_file, data, cache, max_eval_samples=300, seed=1)
    assert _entries(cache, "reference") == 2  # same count, other rows: a miss
    _run(tiny_model_file, data, cache, max_eval_samples=301, seed=1)
    assert _entries(cache, "reference") == 3  # another subset size
    changed = tmp_path / "changed.npz"
    arrays = dict(np.load(digits_npz, allow_pickle=False))
    arrays["x"] = arrays["x"].copy()
    arrays["x"][0, 0, 0, 0] += 0.5  # one pixel
    np.savez(changed, **arrays)
    _run(tiny_model_file, f"npz:{changed}", cache, max_eval_samples=300, seed=1)
    assert _entries(cache, "reference") == 4  # the data's bytes


def test_a_package_version_misses_conversion_and_reference(tiny_model_file: Path,
                                                           digits_npz: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    data = f"npz:{digits_npz}"
    _run(tiny_model_file, data, cache, max_eval_samples=200)
    before = (_entries(cache, "reference"), _entries(cache, "tflite"))
    import tflbench.cache

    real = tflbench.cache.tf_versions
    monkeypatch.setattr(pipeline, "tf_versions", lambda: {**real(), "tensorflow": "9.9.9"})
    _run(tiny_model_file, data, cache, max_eval_samples=200)
    after = (_entries(cache, "reference"), _entries(cache, "tflite"))
    assert after[0] == before[0] + 1 and after[1] > before[1]


def test_custom_layer_code_is_in_the_model_key(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    from tflbench.subjects import custom_code_digest

    pkg = tmp_path / "mylayers_keytest.py"
    pkg.write_text(textwrap.dedent('''
        import keras

        @keras.saving.register_keras_serializable(package="keytest")
        class Twice(keras.layers.Layer):
            def call(self, x):
                return x * 2.0
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    import mylayers_keytest  # noqa: F401

    model = keras.Sequential([keras.Input((4,)), sys.modules["mylayers_keytest"].Twice(),
                              keras.layers.Dense(2)])
    path = tmp_path / "custom.keras"
    model.save(path)
    first = custom_code_digest(path, safe_mode=False)
    assert first is not None
    pkg.write_text(pkg.read_text().replace("x * 2.0", "x * 3.0"))
    assert custom_code_digest(path, safe_mode=False) != first
    plain = tmp_path / "plain.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(plain)
    assert custom_code_digest(plain, safe_mode=True) is None
