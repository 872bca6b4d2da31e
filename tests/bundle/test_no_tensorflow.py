"""`tflbench measure` runs with TensorFlow and Keras made unimportable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bundle_helpers import FIXTURE

_BLOCKER = r'''
import importlib.abc
import sys


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    BLOCKED = ("tensorflow", "keras", "tf_keras", "tensorflow_datasets")

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.BLOCKED:
            raise ImportError(f"{fullname} is blocked: measure must not need TensorFlow")
        return None


sys.meta_path.insert(0, _NoTensorFlow())
'''

_RUN = _BLOCKER + r'''
import json
from tflbench.cli import main

rc = main(["measure", sys.argv[1], "--out", sys.argv[2], "--threads", "1,2",
           "--xnnpack-sweep", "--min-runs", "5", "--min-seconds", "0", "--warmup-runs", "1",
           "--max-seconds", "1", "--quiet", "--device", "no-tf", "--gate"])
import tflbench.bundle, tflbench.environment, tflbench.measure  # noqa: E401
blocked = sorted(m for m in sys.modules if m.split(".")[0] in _NoTensorFlow.BLOCKED)
print(json.dumps({"rc": rc, "blocked_modules": blocked}))
'''


def _run(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_blocker_really_blocks() -> None:
    code = _BLOCKER + (
        "import json\n"
        "try:\n"
        "    import tensorflow\n"
        "    ok = False\n"
        "except ImportError:\n"
        "    ok = True\n"
        "print(json.dumps({'blocked': ok}))\n"
    )
    assert _run(code) == {"blocked": True}


def test_measure_runs_without_tensorflow(tmp_path: Path) -> None:
    out = tmp_path / "no-tf.json"
    result = _run(_RUN, str(FIXTURE), str(out))
    assert result == {"rc": 0, "blocked_modules": []}
    doc = json.loads(out.read_text())
    assert doc["device"] == "no-tf"
    assert doc["environment"]["tensorflow_imported"] is False
    assert doc["environment"]["runtime"]["name"] != "tensorflow"
    modes = {r["mode"]: r for r in doc["models"][0]["modes"]}
    assert set(modes) == {"fp32", "dynamic", "int8"}
    assert all(r["status"] == "ok" for r in modes.values())
    assert {(s["threads"], s["xnnpack"]) for s in modes["fp32"]["latency_sweep"]} >= {
        (1, True), (1, False)}
