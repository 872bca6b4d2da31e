"""Rebuild the data tables of :mod:`tflbench.compat`: ``python -m tflbench.compat.probe``.

``names``
    Regenerate :mod:`tflbench.compat.builtin_ops` from the ``BuiltinOperator`` enum of the
    installed ai-edge-litert (or TensorFlow) schema.

``table --python PY --backend NAME``
    Measure which op versions one runtime registers and store them in
    :mod:`tflbench.compat.runtime_table` (replacing that runtime release's entry). ``PY`` is the
    Python of an environment holding the runtime (e.g. a venv with ``tflite-runtime==2.14.0``
    and ``numpy<2``). For every builtin code and every version 1..``--max-version`` a minimal
    model naming only that operator code is written (:mod:`tflbench.compat.synthetic`) and
    loaded there (``_probe_worker.py``); the highest version whose interpreter builds is the
    runtime's highest supported version of that op.

``check --python PY --backend NAME FILE...``
    Load real ``.tflite`` files in that runtime and compare with what the table predicts: the
    cross-check that the probe's verdicts match converted models.

A development tool: it runs other Pythons in subprocesses and never runs on the runtime path.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tflbench.compat.builtin_ops import BUILTIN_OPS
from tflbench.compat.synthetic import OpCode, minimal_model

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_probe_worker.py"
TABLE_MODULE = HERE / "runtime_table.py"
NAMES_MODULE = HERE / "builtin_ops.py"
#: Builtin codes that are not kernels a runtime registers.
SKIP = ("CUSTOM", "DELEGATE", "PLACEHOLDER_FOR_GREATER_OP_CODES")

METHOD = ("registration probe: for every builtin code and version 1..{max_version}, a minimal "
          "model naming only that operator code was loaded with the runtime's Interpreter "
          "(builtin kernels, no default delegates); the highest version whose interpreter was "
          "built is recorded. A runtime resolves every operator code while building the "
          "interpreter, so a refusal there (\"Didn't find op for builtin opcode\") is exactly "
          "the refusal a converted model meets.")


class ProbeError(Exception):
    """A probe could not measure a runtime (the worker failed or gave unexpected results)."""


def run_worker(python: str, backend: str, files: Sequence[tuple[str, str, int]]
               ) -> dict[str, Any]:
    """Load ``files`` (``(path, op, version)``) with ``backend`` in ``python``."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([list(x) for x in files], f)
        jobs = f.name
    try:
        proc = subprocess.run([python, str(WORKER), backend, jobs], capture_output=True,
                              text=True, check=False)
    finally:
        Path(jobs).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise ProbeError(f"probe worker failed ({python} {backend}, exit {proc.returncode}):\n"
                         f"{proc.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def probe_runtime(python: str, backend: str, max_version: int) -> dict[str, Any]:
    """The table entry of the runtime ``backend`` installed for ``python``."""
    jobs: list[tuple[str, str, int]] = []
    with tempfile.TemporaryDirectory(prefix="tflbench-probe-") as tmp:
        for code, name in enumerate(BUILTIN_OPS):
            if name in SKIP:
                continue
            for version in range(1, max_version + 1):
                path = Path(tmp) / f"{code}-{version}.tflite"
                path.write_bytes(minimal_model([OpCode(code, version)]))
                jobs.append((str(path), name, version))
        result = run_worker(python, backend, jobs)
    loaded: dict[str, list[int]] = {}
    errors: dict[str, str] = {}
    for (_, name, version), outcome in zip(jobs, result["outcomes"], strict=True):
        if outcome == "ok":
            loaded.setdefault(name, []).append(version)
        elif outcome.startswith("error"):
            errors.setdefault(name, f"v{version}: {outcome}")
    if errors:
        lines = "\n".join(f"  {k} {v}" for k, v in sorted(errors.items()))
        raise ProbeError(f"unexpected load errors (neither built nor refused):\n{lines}")
    gaps = {n: v for n, v in loaded.items() if v != list(range(min(v), max(v) + 1))}
    if gaps:
        raise ProbeError(f"versions with gaps, which the table cannot express: {gaps}")
    capped = sorted(n for n, v in loaded.items() if max(v) == max_version)
    if capped:
        raise ProbeError(f"ops supported up to --max-version {max_version}: {capped}; raise it")
    return {
        "runtime": result["runtime"],
        "version": result["version"],
        "measured": datetime.date.today().isoformat(),
        "environment": f"{result['python']}, numpy {result['numpy']}, {result['platform']}",
        "method": METHOD.format(max_version=max_version),
        "command": (f"python -m tflbench.compat.probe table --python PY --backend {backend} "
                    f"--max-version {max_version}  (PY: a venv with {result['runtime']}=="
                    f"{result['version']})"),
        "max_versions": {n: max(v) for n, v in sorted(loaded.items())},
        "min_versions": {n: min(v) for n, v in sorted(loaded.items()) if min(v) > 1},
    }


def _literal(value: Any, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = ",\n".join(f"{pad}    {k!r}: {_literal(v, indent + 4)}" for k, v in value.items())
        return "{\n" + inner + f",\n{pad}}}"
    return repr(value)


def write_table(entries: Sequence[dict[str, Any]], path: Path = TABLE_MODULE) -> None:
    body = ",\n".join("    " + _literal(e, 4) for e in entries)
    path.write_text(
        '"""Highest supported version of every builtin op, per runtime release: data only.\n\n'
        "Generated by ``python -m tflbench.compat.probe table`` (see that module for the method;\n"
        "every entry records how and where it was measured). Edit by re-running the probe.\n"
        '"""\n\n'
        "# ruff: noqa: E501\n\n"
        "from __future__ import annotations\n\n"
        "from typing import Any\n\n"
        "RUNTIME_TABLES: tuple[dict[str, Any], ...] = (\n" + body + ",\n)\n",
        encoding="utf-8",
    )


def _current_entries() -> list[dict[str, Any]]:
    try:
        from tflbench.compat.runtime_table import RUNTIME_TABLES
    except ImportError:
        return []
    return [dict(e) for e in RUNTIME_TABLES]


def _version_key(entry: dict[str, Any]) -> tuple[str, tuple[int, ...]]:
    return entry["runtime"], tuple(int(p) for p in str(entry["version"]).split(".")
                                   if p.isdigit())


def cmd_table(args: argparse.Namespace) -> int:
    entry = probe_runtime(args.python, args.backend, args.max_version)
    entries = [e for e in _current_entries()
               if (e["runtime"], e["version"]) != (entry["runtime"], entry["version"])]
    entries.append(entry)
    write_table(sorted(entries, key=_version_key))
    print(f"{entry['runtime']} {entry['version']}: {len(entry['max_versions'])} builtin ops "
          f"registered -> {TABLE_MODULE}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Load real files in the runtime and compare with the table's verdict."""
    from tflbench.compat.check import check_compatibility
    from tflbench.compat.flatbuffer import read_ops

    files = [(str(Path(f).resolve()), Path(f).name, 0) for f in args.files]
    result = run_worker(args.python, args.backend, files)
    target = f"{result['runtime']}=={result['version']}"
    mismatches = 0
    for (path, _, _), outcome in zip(files, result["outcomes"], strict=True):
        verdict = check_compatibility(read_ops(path), [target])
        predicted = "ok" if verdict else "refused"
        same = predicted == outcome
        mismatches += not same
        why = "; ".join(verdict.problems) or "all ops supported"
        print(f"{'agrees' if same else 'DIFFERS'}: {path}: loaded={outcome}, "
              f"table predicts {predicted} ({why})")
    return 1 if mismatches else 0


def cmd_names(args: argparse.Namespace) -> int:
    try:
        from ai_edge_litert import schema_py_generated as schema
        source = "ai-edge-litert"
    except ImportError:
        from tensorflow.lite.python import schema_py_generated as schema  # type: ignore
        source = "tensorflow"
    from importlib.metadata import version

    enum = {v: k for k, v in vars(schema.BuiltinOperator).items()
            if not k.startswith("_") and isinstance(v, int)}
    n = max(enum) + 1
    missing = [i for i in range(n) if i not in enum]
    if missing:
        raise ProbeError(f"the enum has gaps at {missing}; the table needs every code")
    lines = [
        '"""The ``BuiltinOperator`` enum of the TFLite schema: ``BUILTIN_OPS[code]`` is the name '
        "of",
        "builtin code ``code``.",
        "",
        "Generated by ``python -m tflbench.compat.probe names`` from the schema of "
        f"{source}",
        f"{version(source)} ({n} codes, 0..{n - 1}). Data only: edit by regenerating.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "BUILTIN_OPS: tuple[str, ...] = (",
        *[f'    "{enum[i]}",  # {i}' for i in range(n)],
        ")",
    ]
    NAMES_MODULE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{n} builtin op names -> {NAMES_MODULE}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tflbench.compat.probe",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("names", help="regenerate builtin_ops.py from the installed schema")
    for name, helptext in (("table", "probe one runtime and update runtime_table.py"),
                           ("check", "load real files in one runtime; compare with the table")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--python", default=sys.executable,
                       help="the Python of the environment holding the runtime")
        p.add_argument("--backend", required=True,
                       choices=("ai_edge_litert", "tflite_runtime", "tensorflow"))
        if name == "table":
            p.add_argument("--max-version", type=int, default=32)
        else:
            p.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    try:
        return {"names": cmd_names, "table": cmd_table, "check": cmd_check}[args.cmd](args)
    except ProbeError as exc:
        print(f"probe: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
