"""From a configuration to the pipeline's settings and subjects (tflbench.config.bridge)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tflbench import config, pipeline
from tflbench.config import bridge


def _project(tmp_path: Path, extra: str = "") -> config.ProjectConfig:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", x=rng.integers(0, 255, (60, 8, 8), dtype=np.uint8),
             y=np.repeat(np.arange(3), 20))
    (tmp_path / "m.keras").write_bytes(b"not loaded here")
    (tmp_path / "tflbench.toml").write_text(
        f'[[models]]\npath = "m.keras"\ndata = "npz:data.npz"\n{extra}')
    return config.load(tmp_path / "tflbench.toml")


def test_a_model_file_without_data_options_uses_the_pipeline_loading(tmp_path: Path) -> None:
    (entry,) = _project(tmp_path).models
    assert bridge.data_loader(entry) is None
    (subject,) = bridge.subjects(_project(tmp_path))
    ds = subject.load_dataset()
    assert ds.class_names == ("0", "1", "2")
    assert ds.preprocessing["named"] == "unit"


def test_preprocessing_and_class_names_reach_the_subject_when_built(tmp_path: Path) -> None:
    project = _project(tmp_path, 'preprocessing = "raw"\nclass_names = ["a", "b", "c"]\n')
    (entry,) = project.models
    loader = bridge.data_loader(entry)
    assert loader is not None
    (subject,) = project.to_subjects()
    ds = subject.load_dataset()
    assert ds.class_names == ("a", "b", "c")
    assert ds.preprocessing["named"] == "raw" and float(ds.test.x.max()) > 1.0


def test_subject_from_model_file_calls_the_given_data_loader(tmp_path: Path) -> None:
    from tflbench.data import digits

    (tmp_path / "m.keras").write_bytes(b"x")
    calls: list[int] = []
    ds = digits.load()

    def loader():  # type: ignore[no-untyped-def]
        calls.append(1)
        return ds

    subject = pipeline.subject_from_model_file(tmp_path / "m.keras", "digits",
                                               data_loader=loader)
    assert calls == []  # deferred until the data is needed
    assert subject.load_dataset() is ds and calls == [1]


def test_run_settings_follow_the_project(tmp_path: Path) -> None:
    (tmp_path / "tflbench.toml").write_text(
        'modes = ["fp32", "int8"]\n[runtime]\nthreads = 3\n[latency]\nmin_runs = 7\n')
    project = config.load(tmp_path / "tflbench.toml")
    settings = project.to_run_settings()
    assert [m.name for m in settings.modes] == ["fp32", "int8"]
    assert settings.num_threads == 3 and settings.latency.min_runs == 7
    assert settings.cache_dir == project.resolved_cache_dir()
