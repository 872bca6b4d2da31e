"""Every core, a CI matrix: parallel and sharded runs give the one-core run's figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scale_helpers import figures as _figures
from scale_helpers import run_cli as _run

from tflbench import scale
from tflbench.cli import main as cli_main
from tflbench.errors import ConfigError, ResultsError


def test_shards_partition_the_jobs_deterministically() -> None:
    jobs = [(m, mode) for m in ("a", "b", "c") for mode in ("fp32", "dynamic", "int8", "fp16")]
    for count in (1, 2, 3, 5, 12, 20):
        parts = [scale.shard_jobs(jobs, (i, count)) for i in range(1, count + 1)]
        assert sorted(j for p in parts for j in p) == sorted(jobs)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
        assert parts == [scale.shard_jobs(jobs, (i, count)) for i in range(1, count + 1)]


@pytest.mark.parametrize("spec", ["0/2", "3/2", "1/0", "a/b", "1", "1/2/3"])
def test_bad_shard_specs_are_named(spec: str) -> None:
    with pytest.raises(ConfigError, match="--shard"):
        scale.parse_shard(spec)


def test_job_plan_is_capped_by_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TFLBENCH_JOBS", raising=False)
    plan = scale.plan_jobs(None, cores=8, memory=3 * scale.WORKER_MEMORY_BYTES)
    assert plan.workers == 3 and "fit in" in plan.reason
    assert scale.plan_jobs(2, cores=8, memory=None).workers == 2
    assert scale.plan_jobs(None, cores=4, memory=None).workers == 4
    with pytest.raises(ConfigError):
        scale.plan_jobs(-1)
    monkeypatch.setenv("TFLBENCH_JOBS", "3")
    assert scale.plan_jobs(None, cores=8, memory=None).workers == 3


def test_shard_bounds_cut_at_batches_and_cover_every_row() -> None:
    for n, shards, batch in ((1000, 2, 64), (5000, 3, 64), (130, 4, 64), (64, 2, 64)):
        bounds = scale.shard_bounds(n, shards, batch)
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a % batch == 0 for a, _ in bounds)
        assert all(b == c for (_, b), (c, _) in zip(bounds, bounds[1:], strict=False))


def test_threaded_predictions_are_identical(tflite_by_mode, digits, tmp_path: Path) -> None:
    from tflbench.runtime import Runner

    x = np.concatenate([digits.train.x, digits.val.x, digits.test.x])  # 1,797 rows
    for mode in ("fp32", "int8", "int16x8"):
        path = tmp_path / f"{mode}.tflite"
        path.write_bytes(tflite_by_mode[mode])
        one = Runner(path).predict(x, batch_size=64)
        for workers in (2, 3):
            threaded = scale.predict_threaded(str(path), x, workers=workers, num_threads=1,
                                              xnnpack=True, backend=None, batch=64, name=mode)
            assert threaded is not None
            np.testing.assert_array_equal(threaded, one)
    # One batch or less: not worth a second interpreter, the caller evaluates in process.
    assert scale.predict_threaded(str(path), x[:64], workers=2, num_threads=1, xnnpack=True,
                                  backend=None, batch=64, name="small") is None


def test_a_failing_thread_fails_the_evaluation(tflite_by_mode, tmp_path: Path) -> None:
    from tflbench.errors import TflbenchError

    path = tmp_path / "fp32.tflite"
    path.write_bytes(tflite_by_mode["fp32"])
    wrong = np.zeros((300, 5, 5, 1), np.float32)  # the model takes 8x8x1
    with pytest.raises(TflbenchError, match="shape"):
        scale.predict_threaded(str(path), wrong, workers=2, num_threads=1, xnnpack=True,
                               backend=None, batch=64, name="fp32")


def test_parallel_cold_run_trains_in_workers_and_matches_jobs_1(tmp_path: Path) -> None:
    """A recipe trained in a worker process (TensorFlow's default threads there too) is the
    model ``--jobs 1`` trains: the same weights and the same figures. (Layer names, hence
    file digests, follow how many layers the process made before: a fresh worker's differ.)"""
    import subprocess
    import sys

    docs = {}
    for jobs in ("1", "2"):  # each in its own process, as users run it
        out = tmp_path / f"jobs-{jobs}"
        proc = subprocess.run(
            [sys.executable, "-m", "tflbench", "run", "--recipe", "digits-cnn", "--param",
             "epochs=2", "--modes", "fp32,int8", "--quiet", "--jobs", jobs, "--report-dir",
             str(out), "--cache-dir", str(tmp_path / f"cache-{jobs}")],
            capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        docs[jobs] = json.loads((out / "results.json").read_text())
    scheduling = docs["2"]["settings"]["scheduling"]
    assert (scheduling["workers"], scheduling["training"]) == (2, "process pool")
    assert docs["1"]["settings"]["scheduling"]["training"] == "in process"
    import keras

    weights = [keras.models.load_model(next((tmp_path / f"cache-{jobs}" / "models")
                                            .glob("*.keras"))).get_weights()
               for jobs in ("1", "2")]
    assert len(weights[0]) == len(weights[1]) > 0
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)

    def figures(doc: dict) -> list:
        return [(r["mode"], r["agreement"], r["accuracy"]) for r in doc["models"][0]["modes"]]

    assert figures(docs["2"]) == figures(docs["1"])


def test_merge_shards_refuses_an_incomplete_set() -> None:
    doc = {"settings": {"shard": {"index": 1, "count": 2}}, "models": []}
    with pytest.raises(ResultsError, match="do not make one run"):
        scale.merge_shards([doc])


def test_two_shards_merged_equal_the_unsharded_run(tiny_model_file: Path, digits_npz: Path,
                                                   tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    whole = _run(tiny_model_file, digits_npz, tmp_path / "whole", cache, "--jobs", "1")
    assert whole["settings"]["scheduling"]["workers"] == 1
    parallel = _run(tiny_model_file, digits_npz, tmp_path / "par", tmp_path / "cache2",
                    "--jobs", "2")
    assert parallel["settings"]["scheduling"]["workers"] == 2
    assert _figures(parallel) == _figures(whole)
    s1 = _run(tiny_model_file, digits_npz, tmp_path / "s1", cache, "--shard", "1/2")
    s2 = _run(tiny_model_file, digits_npz, tmp_path / "s2", cache, "--shard", "2/2")
    assert [r["mode"] for r in s1["models"][0]["modes"]] == ["fp32", "int8"]
    assert [r["mode"] for r in s2["models"][0]["modes"]] == ["dynamic"]
    merged_path = tmp_path / "merged.json"
    assert cli_main(["report", "--format", "json", "-o", str(merged_path),
                     str(tmp_path / "s1" / "results.json"),
                     str(tmp_path / "s2" / "results.json")]) == 0
    merged = json.loads(merged_path.read_text())
    assert [r["mode"] for r in merged["models"][0]["modes"]] == ["fp32", "dynamic", "int8"]
    assert _figures(merged) == _figures(whole)
    verdict = {(g["mode"], g["name"]): g["passed"] for g in merged["gates"]
               if g["name"] != "max_latency_p90_us"}
    assert verdict == {(g["mode"], g["name"]): g["passed"] for g in whole["gates"]
                       if g["name"] != "max_latency_p90_us"}
