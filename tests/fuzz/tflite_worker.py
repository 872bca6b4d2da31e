"""The child process of the ``.tflite`` mutation fuzzer (``test_fuzz_tflite.py``).

Usage: ``python tflite_worker.py BUNDLE_DIR``. Reads one JSON request per line on stdin::

    {"id": 7, "file": "digits-mini/int8.tflite", "mode": "int8", "data_hex": "..."}

writes the mutant over the bundle's file, re-signs it in the manifest (SHA-256 and size, so the
bundle check passes and the runtime really loads the mutant), runs ``measure_bundle`` on that
mode, restores the original and answers one line on stdout::

    @@result {"id": 7, "status": "failed", "stage": "load", "error": "..."}

An exception out of ``measure_bundle`` is answered as ``{"id": 7, "exception": "..."}``. A native
crash ends the process: the parent sees the pipe close and records the mutant. The address space
is capped so that a mutant declaring huge tensors fails to allocate instead of exhausting memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import traceback
from pathlib import Path

MARK = "@@result "
#: Address-space cap of the worker (bytes).
MEMORY_LIMIT = 4 << 30


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on every platform
        pass


def main() -> int:
    root = Path(sys.argv[1])
    _limit_memory()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tflbench.measure import measure_bundle
    from tflbench.timing import LatencySettings

    fast = LatencySettings(warmup_runs=1, warmup_seconds=0.0, min_runs=2, min_seconds=0.0,
                           max_runs=3, max_seconds=0.5)
    manifest_path = root / "manifest.json"
    manifest_text = manifest_path.read_text(encoding="utf-8")
    out = sys.stdout
    sys.stdout = sys.stderr  # anything else printed goes to stderr
    print(MARK + json.dumps({"ready": True}), file=out, flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        rel, data = req["file"], bytes.fromhex(req["data_hex"])
        target = root / rel
        original = target.read_bytes()
        manifest = json.loads(manifest_text)
        manifest["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(),
                                  "size_bytes": len(data)}
        try:
            target.write_bytes(data)
            manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
            doc = measure_bundle(root, latency=fast, sweep=False, e2e=False,
                                 modes=[req["mode"]])
            rec = doc["models"][0]["modes"][0]
            answer = {"id": req["id"], "status": rec["status"], "stage": rec.get("stage"),
                      "error": rec.get("error")}
        except Exception as exc:
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            answer = {"id": req["id"], "exception": f"{type(exc).__name__}: {exc}"[:500],
                      "at": f"{tb.filename}:{tb.lineno}"}
        finally:
            target.write_bytes(original)
            manifest_path.write_text(manifest_text, encoding="utf-8")
        print(MARK + json.dumps(answer), file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
