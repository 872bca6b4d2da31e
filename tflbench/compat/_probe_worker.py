"""Load probe models in one TFLite runtime; run by :mod:`tflbench.compat.probe` with the Python
of the environment that holds the runtime to measure.

Standalone on purpose: it imports only the runtime and the standard library, so it runs in a
bare virtual environment (``python -m venv`` + the runtime wheel) without tflbench installed.

Usage: ``python _probe_worker.py BACKEND JOBS.json`` where BACKEND is ai_edge_litert,
tflite_runtime or tensorflow and JOBS.json is a list of ``[file, name, version]``. Prints one JSON
object: the runtime's version and environment, and one outcome per job: ``"ok"`` (the
interpreter was built), ``"refused"`` (the runtime has no kernel for that op version) or
``"error: ..."`` (anything else).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import platform
import sys

MODULES = {
    "ai_edge_litert": ("ai_edge_litert.interpreter", "ai-edge-litert"),
    "tflite_runtime": ("tflite_runtime.interpreter", "tflite-runtime"),
    "tensorflow": ("tensorflow.lite.python.interpreter", "tensorflow"),
}
REFUSALS = ("Didn't find op for builtin opcode", "builtin_code out of range",
            "Registration failed")


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def main(argv: list[str]) -> int:
    backend, jobs_file = argv
    module, dist = MODULES[backend]
    mod = importlib.import_module(module)
    kwargs = {}
    resolver = getattr(mod, "OpResolverType", None)
    if resolver is not None:  # kernels only: the delegate plays no part in registration
        kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    with open(jobs_file, encoding="utf-8") as f:
        jobs = json.load(f)
    # The runtime's own error reporter writes to fd 2; the outcome is in the exception.
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    os.dup2(devnull, 2)
    outcomes = []
    try:
        for path, *_ in jobs:
            try:
                mod.Interpreter(model_path=path, **kwargs)
                outcomes.append("ok")
            except (ValueError, RuntimeError) as exc:
                text = str(exc)
                if any(r in text for r in REFUSALS):
                    outcomes.append("refused")
                else:
                    outcomes.append("error: " + " ".join(text.split())[:200])
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    json.dump({
        "runtime": dist,
        "version": _version(dist) or getattr(sys.modules.get(module.split(".")[0]),
                                             "__version__", None),
        "numpy": _version("numpy"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.machine()}",
        "outcomes": outcomes,
    }, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
