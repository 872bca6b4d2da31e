"""Validate the quantization repair on real photos (not part of the default test run).

The fine-tuned MobileNetV2 of ``validate_realdata.py flowers`` (``image-folder-mobilenetv2``
recipe, local ImageNet weights, flowers5 at 128x128, 90/10 split) is saved as a ``.keras`` file
and handed to tflbench like a user's model: ``tflbench run`` evaluates the converter's int8 and the
quantizer's modes on the same 430 test photos, then ``tflbench tune`` keeps layers float
(forward selection over the attribution order by default) until top-1 agreement with Keras
reaches the target. The tuned mode is converted again from its
recipe file, as CI would, and its figures are compared to the converter's int8.

Run::

    python benchmarks/validate_tuner.py --out /tmp/tuner
    # 2 cores: about 15 min to fine-tune the model (once, then cached in --out), about 5 min
    # for the comparison run and 12 min for the tuner

It prints one table (mode, agreement with its interval, accuracy change with its interval,
McNemar p, size, size relative to int8) and writes ``tuner.json`` and the reports in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate_realdata import FINE_TUNE, FLOWERS, FLOWERS_PARAMS, WEIGHTS, data_dir, missing  # noqa: E402

#: Modes compared with the tuned int8 (the converter's and the quantizer's).
COMPARED = ("fp32", "int8", "lq-static-int8", "lq-static-int16x8", "lq-dynamic-int8",
            "lq-weight-int8")


def data_spec(root: Path) -> str:
    return f"folder:{root / FLOWERS}?size=128&preprocess=mobilenet_v2&fractions=0.9/0.1"


def trained_model(root: Path, cache_dir: Path, target: Path) -> Path:
    """The fine-tuned flowers model as a ``.keras`` file (trained once, then from the cache)."""
    from tflbench.cache import Cache
    from tflbench.data.sources import load_dataset
    from tflbench.subjects import subject_from_recipe

    if target.exists():
        return target
    ds = load_dataset(data_spec(root))
    subject = subject_from_recipe("image-folder-mobilenetv2", ds,
                                  subject_name="flowers-fine-tuned",
                                  weights=str(root / WEIGHTS), **FLOWERS_PARAMS, **FINE_TUNE)
    data = subject.load_dataset()

    def say(model: str, mode: str | None, message: str) -> None:
        print(f"{model}: {message}", flush=True)

    model = subject.build_model(data, Cache(cache_dir), say)
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save(target)
    return target


def _cli(args: list[str], out: Path) -> dict[str, Any]:
    """``python -m tflbench ARGS --report-dir OUT``; the results document it wrote."""
    cmd = [sys.executable, "-m", "tflbench", *args, "--report-dir", str(out)]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, env=dict(os.environ, CI=""), check=False)
    results = out / "results.json"
    if not results.exists():
        raise RuntimeError(f"{args[0]} wrote no results (exit {proc.returncode})")
    doc: dict[str, Any] = json.loads(results.read_text())
    doc["_exit"] = proc.returncode
    return doc


def compare(model: Path, root: Path, out: Path, cache_dir: Path) -> dict[str, Any]:
    """The converter's and the quantizer's modes on the test photos (``tflbench run``)."""
    return _cli(["run", "--model", str(model), "--name", "flowers", "--data", data_spec(root),
                 "--modes", ",".join(COMPARED), "--cache-dir", str(cache_dir), "--quiet"],
                out / "compare")


def tune(model: Path, root: Path, out: Path, cache_dir: Path, *, target: float,
         max_steps: int, probes: int, search: str, width: int) -> dict[str, Any]:
    """``tflbench tune`` on the saved model; returns the results document it wrote."""
    return _cli(["tune", "--model", str(model), "--name", "flowers", "--data", data_spec(root),
                 "--mode", "int8", "--min-top1-agreement", str(target),
                 "--max-steps", str(max_steps), "--probes", str(probes), "--search", search,
                 "--width", str(width), "--cache-dir", str(cache_dir),
                 "--save-recipe", str(out / "flowers-int8-tuned.json")], out / "tune")


def rows(*docs: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per mode of ``docs`` (the first document's record of a mode wins)."""
    recs: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for m in doc["models"][0]["modes"]:
            recs.setdefault(m["mode"], m)
    out = []
    int8_size = next((m["file"]["size_bytes"] for m in recs.values()
                      if m["mode"] == "int8" and m["status"] == "ok"), None)
    for m in recs.values():
        if m["status"] != "ok":
            out.append({"mode": m["mode"], "error": m.get("error")})
            continue
        ag, acc = m["agreement"], m["accuracy"]
        size = m["file"]["size_bytes"]
        out.append({
            "mode": m["mode"], "n": ag.get("n"),
            "agreement": ag["top1"], "agreement_ci95": ag.get("top1_ci95"),
            "accuracy": acc["accuracy"], "accuracy_delta": acc.get("accuracy_delta"),
            "accuracy_delta_ci95": acc.get("delta_ci95"), "mcnemar_p": acc.get("mcnemar_p"),
            "size_bytes": size, "size_vs_int8": size / int8_size if int8_size else None,
            "float_layers": (m.get("tuning") or {}).get("float_layers"),
        })
    return out


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _ci(ci: Any, scale: float = 100.0, signed: bool = False) -> str:
    if not ci:
        return ""
    f = "+.1f" if signed else ".1f"
    return f" [{scale * ci[0]:{f}}, {scale * ci[1]:{f}}]"


def table(found: Sequence[dict[str, Any]], keras_accuracy: float | None) -> str:
    lines = [f"Keras accuracy: {_pct(keras_accuracy)}",
             "| mode | top-1 agreement [95% CI] | accuracy | change, pp [95% CI] | McNemar p | "
             "size (KiB) | size / int8 |", "|---|---|---|---|---|---|---|"]
    for r in found:
        if "error" in r:
            lines.append(f"| {r['mode']} | failed: {r['error']} | | | | | |")
            continue
        d, p, ratio = r["accuracy_delta"], r["mcnemar_p"], r["size_vs_int8"]
        lines.append(
            f"| {r['mode']} | {_pct(r['agreement'])}{_ci(r['agreement_ci95'])} | "
            f"{_pct(r['accuracy'])} | "
            f"{'-' if d is None else f'{100 * d:+.1f}'}{_ci(r['accuracy_delta_ci95'], signed=True)}"
            f" | {'-' if p is None else f'{p:.2g}'} | {r['size_bytes'] / 1024:.0f} | "
            f"{'-' if ratio is None else f'{ratio:.2f}x'} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with the real data (default: $TFLBENCH_DATA or "
                        "<repo>/../shared/data)")
    parser.add_argument("--out", type=Path, default=Path("tuner-validation"))
    parser.add_argument("--cache-dir", type=Path, default=Path(".tflbench-cache"))
    parser.add_argument("--target", type=float, default=0.95,
                        help="top-1 agreement the tuned int8 must reach (default 0.95)")
    parser.add_argument("--max-steps", type=int, default=12)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--search", choices=("order", "forward"), default="forward")
    parser.add_argument("--width", type=int, default=6)
    args = parser.parse_args(argv)
    root = args.data or data_dir()
    reason = missing(root, FLOWERS, WEIGHTS)
    if reason:
        print(f"skipped: {reason}")
        return 0
    started = time.perf_counter()
    model = trained_model(root, args.cache_dir, args.out / "flowers-fine-tuned.keras")
    trained = time.perf_counter() - started
    base = compare(model, root, args.out, args.cache_dir)
    doc = tune(model, root, args.out, args.cache_dir, target=args.target,
               max_steps=args.max_steps, probes=args.probes, search=args.search,
               width=args.width)
    found = rows(base, doc)
    keras_acc = (base["models"][0].get("keras") or {}).get("accuracy")
    print(table(found, keras_acc))
    tuned = next((r for r in found if r["mode"] == "int8-tuned"), None)
    if tuned:
        print(f"int8-tuned keeps float: {', '.join(tuned['float_layers'] or [])}")
    seconds = time.perf_counter() - started
    print(f"wall time {seconds:.0f} s (training or loading the model {trained:.0f} s); "
          f"tune exit code {doc['_exit']}")
    (args.out / "tuner.json").write_text(json.dumps(
        {"dataset": data_spec(root), "keras_accuracy": keras_acc, "modes": found,
         "target": args.target, "search": args.search, "width": args.width,
         "tuning": next((m.get("tuning") for m in doc["models"][0]["modes"]
                         if m.get("tuning")), None),
         "exit": doc["_exit"], "seconds": seconds}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
