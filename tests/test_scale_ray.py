"""The Ray executor gives the one-process run's figures (on a local Ray instance)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from scale_helpers import figures as _figures
from scale_helpers import run_cli as _run

from tflbench.errors import ConfigError


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance of two CPUs with the latency resource, for this module."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from tflbench.scale_ray import LATENCY_RESOURCE

    ray.init(num_cpus=2, resources={LATENCY_RESOURCE: 1}, include_dashboard=False,
             log_to_driver=False, object_store_memory=256 << 20)
    yield ray
    ray.shutdown()


def test_ray_executor_equals_the_one_process_run(local_ray, tiny_model_file: Path,
                                                 digits_npz: Path, tmp_path: Path) -> None:
    whole = _run(tiny_model_file, digits_npz, tmp_path / "whole", tmp_path / "c1",
                 "--jobs", "1")
    on_ray = _run(tiny_model_file, digits_npz, tmp_path / "ray", tmp_path / "c2",
                  "--executor", "ray")
    sched = on_ray["settings"]["scheduling"]
    assert sched["executor"] == "ray" and sched["workers"] == 2
    assert "Ray" in sched["conversions"] and sched["latency_node"]["cpus"] == 2
    assert _figures(on_ray) == _figures(whole)
    for m in on_ray["models"]:
        for r in m["modes"]:
            assert r["status"] == "ok" and r["latency"]["n"] > 0
    assert local_ray.is_initialized()  # a joined instance is left running


def test_ray_shards_are_identical(local_ray, tflite_by_mode, digits, tmp_path: Path) -> None:
    import numpy as np

    from tflbench import scale_ray
    from tflbench.runtime import Runner

    x = np.concatenate([digits.train.x, digits.val.x, digits.test.x])  # 1,797 rows
    for mode in ("fp32", "int8"):
        path = tmp_path / f"{mode}.tflite"
        path.write_bytes(tflite_by_mode[mode])
        shards = scale_ray.predict_sharded(str(path), x, workers=2, num_threads=1,
                                           xnnpack=True, backend=None, batch=64, name=mode)
        assert shards is not None
        np.testing.assert_array_equal(shards, Runner(path).predict(x, batch_size=64))


def test_a_failed_task_reads_as_in_process(local_ray) -> None:
    from tflbench.errors import ConversionError
    from tflbench.scale_ray import _cause

    def fails(message: str) -> None:  # defined here: sent by value to the worker
        from tflbench.errors import ConversionError

        raise ConversionError(message)

    ref = local_ray.remote(fails).options(max_retries=0).remote("int16x8: CUMSUM unsupported")
    with pytest.raises(Exception) as info:
        local_ray.get(ref)
    cause = _cause(info.value)
    assert isinstance(cause, ConversionError) and str(cause) == "int16x8: CUMSUM unsupported"


def test_an_address_needs_the_ray_executor() -> None:
    from tflbench.scale_ray import check_executor

    with pytest.raises(ConfigError, match="--executor ray"):
        check_executor("local", "10.0.0.5:6379")


def test_without_ray_the_executor_says_what_to_install(tmp_path: Path) -> None:
    import subprocess

    code = ("import sys; sys.modules['ray'] = None\n"
            "from tflbench.cli import main\n"
            "raise SystemExit(main(['run', '--executor', 'ray', '--quiet']))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120, check=False)
    assert res.returncode != 0
    assert "pip install 'tflbench[ray]'" in res.stderr
    assert len([line for line in res.stderr.splitlines() if line.strip()]) == 1
