"""Cold vs warm ``tflbench run`` on the embedded default, as a user runs it (a new process,
TensorFlow import included). Cold: empty cache (trains 2 models, converts 12 modes). Warm: the
same cache again (no training, no conversion, no TensorFlow import).

    pytest benchmarks/test_bench_run.py --benchmark-only
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest


def _run(cache, reports):
    subprocess.run([sys.executable, "-m", "tflbench", "run", "--quiet", "--cache-dir", str(cache),
                    "--report-dir", str(reports)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("run-bench")


def test_cold_run(benchmark, workdir):
    cache = workdir / "cache"

    def setup():
        shutil.rmtree(cache, ignore_errors=True)

    benchmark.pedantic(_run, args=(cache, workdir / "reports"), setup=setup, rounds=2,
                       iterations=1)


def test_warm_run(benchmark, workdir):
    cache = workdir / "cache"
    if not cache.exists():
        _run(cache, workdir / "reports")
    benchmark.pedantic(_run, args=(cache, workdir / "reports"), rounds=5, iterations=1,
                       warmup_rounds=1)
