import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tflbench import pipeline
from tflbench.modes import resolve_modes
from tflbench.results import validate
from tflbench.timing import LatencySettings

FAST = LatencySettings(warmup_runs=2, warmup_seconds=0.0, min_runs=5, min_seconds=0.0,
                       max_runs=20, max_seconds=1.0)


def _settings(tmp_path, modes="fp32,int8", **kw):
    return pipeline.RunSettings(modes=tuple(resolve_modes(modes)), latency=FAST,
                                cache_dir=tmp_path / "cache", report_dir=tmp_path / "reports",
                                representative_samples=50, **kw)


def _counting(subject):
    calls = []
    build = subject.build_model

    def counted(*a):
        calls.append(1)
        return build(*a)

    subject.build_model = counted
    return subject, calls


def test_user_model_runs_every_mode_and_caches(tiny_model_file, digits, tmp_path):
    settings = _settings(tmp_path, modes="fp32,dynamic,int8")
    subject, calls = _counting(pipeline.subject_from_model_file(tiny_model_file, digits))
    doc = pipeline.run([subject], settings)
    validate(doc)
    model = doc["models"][0]
    assert model["name"] == "tiny" and len(calls) == 1
    recs = {r["mode"]: r for r in model["modes"]}
    assert all(r["status"] == "ok" for r in recs.values())
    assert recs["fp32"]["agreement"]["top1"] == 1.0
    assert recs["fp32"]["file"]["size_ratio"] == 1.0
    assert recs["int8"]["io"]["input_dtype"] == "int8"
    assert recs["int8"]["file"]["size_ratio"] < 0.8
    assert recs["fp32"]["accuracy"]["accuracy"] == pytest.approx(model["keras"]["accuracy"])
    lat = recs["fp32"]["latency"]
    assert lat["n"] >= 5 and lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"]
    assert lat["threads"] == 1 and lat["init_us"] > 0

    # Second run: nothing is converted or predicted by Keras again; the model is not loaded.
    subject2, calls2 = _counting(pipeline.subject_from_model_file(tiny_model_file, digits))
    doc2 = pipeline.run([subject2], settings)
    assert calls2 == []
    assert all(r["conversion"]["cached"] for r in doc2["models"][0]["modes"])
    assert [r["agreement"] for r in doc2["models"][0]["modes"]] == \
        [r["agreement"] for r in model["modes"]]


def test_a_failing_mode_keeps_the_others(cumsum_model_file, digits, tmp_path):
    subj = pipeline.subject_from_model_file(cumsum_model_file, digits)
    doc = pipeline.run([subj], _settings(tmp_path, modes="fp32,int16x8,dynamic"))
    recs = {r["mode"]: r for r in doc["models"][0]["modes"]}
    assert recs["int16x8"]["status"] == "failed" and recs["int16x8"]["stage"] == "convert"
    assert "CUMSUM" in recs["int16x8"]["error"]
    assert recs["fp32"]["status"] == "ok" and recs["dynamic"]["status"] == "ok"


def test_shape_mismatch_fails_the_model_not_the_run(tiny_model_file, digits, tmp_path):
    from tflbench.data.base import Dataset, Split

    big = Dataset("big", digits.class_names, *(Split(np.zeros((20, 16, 16, 1), np.float32),
                                                     np.arange(20) % 10) for _ in range(3)))
    ok = pipeline.subject_from_model_file(tiny_model_file, digits, name="ok")
    bad = pipeline.subject_from_model_file(tiny_model_file, big, name="bad")
    doc = pipeline.run([bad, ok], _settings(tmp_path, modes="fp32"))
    bad_rec, ok_rec = doc["models"]
    assert "expects inputs of shape (8, 8, 1)" in bad_rec["error"]
    assert bad_rec["modes"][0]["status"] == "failed" and bad_rec["modes"][0]["stage"] == "model"
    assert ok_rec["modes"][0]["status"] == "ok"


def test_representative_samples_are_seeded_and_capped(digits):
    a = pipeline.representative_samples(digits, 30, seed=1)
    b = pipeline.representative_samples(digits, 30, seed=1)
    assert a.shape == (30, 8, 8, 1) and np.array_equal(a, b)
    assert len(pipeline.representative_samples(digits, 10**6)) == len(digits.train)


BLOCK_TF = textwrap.dedent("""
    import sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'):
                raise ImportError('blocked for this test: ' + name)
    sys.meta_path.insert(0, _Block())
""")


def _run_blocked(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_TF + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300)


def test_runtime_and_metrics_never_import_tensorflow(tflite_by_mode, tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(tflite_by_mode["int8"])
    proc = _run_blocked(f"""
        import numpy as np
        from tflbench import metrics, results, timing, runtime, environment, modes, cache
        from tflbench.runtime import Runner
        r = Runner({str(model)!r}, num_threads=1)
        x = np.random.default_rng(0).random((8, 8, 8, 1), dtype=np.float32)
        out = r.predict(x)
        a = metrics.agreement(out, out)
        s = timing.measure(r.invoke, timing.LatencySettings(min_runs=3, min_seconds=0,
                                                            warmup_runs=1, warmup_seconds=0))
        assert a.top1 == 1.0 and s.n >= 3
        assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)
        print('OK')
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("OK")


@pytest.mark.parametrize("jobs", [1, 2])
def test_warm_run_needs_no_tensorflow(tiny_model_file, digits, tmp_path, jobs):
    """Everything cached: nothing to train or convert, so no worker pool starts either."""
    settings = _settings(tmp_path, modes="fp32,int8")
    pipeline.run([pipeline.subject_from_model_file(tiny_model_file, "digits")], settings)
    proc = _run_blocked(f"""
        from pathlib import Path
        from tflbench import pipeline
        from tflbench.modes import resolve_modes
        from tflbench.timing import LatencySettings
        s = pipeline.RunSettings(modes=tuple(resolve_modes('fp32,int8')),
                                 cache_dir=Path({str(tmp_path / 'cache')!r}),
                                 representative_samples=50, jobs={jobs},
                                 latency=LatencySettings(warmup_runs=1, warmup_seconds=0,
                                                         min_runs=3, min_seconds=0))
        doc = pipeline.run([pipeline.subject_from_model_file({str(tiny_model_file)!r},
                                                             'digits')], s)
        assert all(r['status'] == 'ok' for r in doc['models'][0]['modes']), doc
        assert 'tensorflow' not in sys.modules
        assert doc['settings']['scheduling']['workers'] == {jobs}
        print('OK')
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_an_unexpected_runtime_failure_keeps_the_other_modes(tiny_model_file, digits, tmp_path,
                                                             monkeypatch):
    from tflbench import runtime

    real_invoke = runtime.Runner.invoke

    def flaky(self):
        if self.name.endswith("/int8"):
            raise RuntimeError("Node number 3 (CONV_2D) failed to invoke.")
        return real_invoke(self)

    monkeypatch.setattr(runtime.Runner, "invoke", flaky)
    doc = pipeline.run([pipeline.subject_from_model_file(tiny_model_file, digits)],
                       _settings(tmp_path, modes="fp32,int8,fp16"))
    recs = {r["mode"]: r for r in doc["models"][0]["modes"]}
    assert recs["int8"]["status"] == "failed" and "RuntimeError" in recs["int8"]["error"]
    assert recs["fp32"]["status"] == "ok" and recs["fp16"]["status"] == "ok"


def test_first_invoke_is_timed_on_a_fresh_interpreter(tiny_model_file, digits, tmp_path):
    doc = pipeline.run([pipeline.subject_from_model_file(tiny_model_file, digits)],
                       _settings(tmp_path, modes="fp32"))
    lat = doc["models"][0]["modes"][0]["latency"]
    assert lat["first_invoke_us"] > 0 and lat["init_us"] > 0


def test_capped_evaluation_covers_every_class(tiny_model_file, digits, tmp_path):
    from tflbench.data.base import Dataset, Split

    order = np.argsort(digits.test.y, kind="stable")  # a test file sorted by class
    sorted_ds = Dataset("sorted", digits.class_names, digits.train, digits.val,
                        Split(digits.test.x[order], digits.test.y[order]))
    doc = pipeline.run([pipeline.subject_from_model_file(tiny_model_file, sorted_ds)],
                       _settings(tmp_path, modes="fp32", max_eval_samples=50))
    support = doc["models"][0]["modes"][0]["accuracy"]["support"]
    assert sum(support) == 50 and all(s >= 4 for s in support)
