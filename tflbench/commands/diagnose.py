"""``tflbench diagnose``: which layers make a quantized mode lose agreement, and (with
``--sensitivity``) how much its figures move with the calibration set."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tflbench.errors import ConfigError
from tflbench.quant_inputs import QuantInputs

NAME = "diagnose"
HELP = ("Rank a quantized mode's layers by their error (RMSE/scale, SQNR, agreement regained "
        "when kept float); optionally its calibration sensitivity.")


def add_quant_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``diagnose`` and ``tune`` (plus run's subject and settings options)."""
    from tflbench.commands.run import add_run_arguments

    add_run_arguments(parser)
    q = parser.add_argument_group("quantization")
    q.add_argument("--mode", default="int8",
                   help="the quantized mode (a full-integer converter mode or an lq- mode; "
                        "default int8)")
    q.add_argument("--on", choices=("evaluation", "calibration"), default="evaluation",
                   help="samples the layers are compared on (default: evaluation)")
    q.add_argument("--samples", type=int, default=500, metavar="N",
                   help="samples the layers are compared on (default 500)")
    q.add_argument("--probes", type=int, default=12, metavar="N",
                   help="layers re-quantized one at a time with that layer kept float "
                        "(default 12)")
    q.add_argument("--top", type=int, default=10, metavar="N",
                   help="layers shown (default 10)")
    q.add_argument("--report-dir", type=Path, default=None,
                   help="where results.json, quantization.md and quantization.html go "
                        "(default reports/)")
    q.add_argument("--quiet", action="store_true", help="no progress lines")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_quant_arguments(parser)
    s = parser.add_argument_group("calibration sensitivity")
    s.add_argument("--sensitivity", action="store_true",
                   help="re-calibrate with several set sizes and seeds and report the spread")
    s.add_argument("--sizes", default="25,100,400", help="calibration-set sizes (default "
                   "25,100,400)")
    s.add_argument("--seeds", default="0,1,2", help="seeds (default 0,1,2)")
    add_gate_flags(parser)


def add_gate_flags(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("gates (default: the project's thresholds for the mode)")
    g.add_argument("--min-top1-agreement", type=fraction, default=None, metavar="F",
                   help="e.g. 0.999")
    g.add_argument("--max-accuracy-drop", type=fraction, default=None, metavar="D",
                   help="e.g. 0.5pp, 1%% or 0.005")


def fraction(text: str) -> float:
    """``0.999``, ``0.5pp`` / ``0.5%`` (percentage points) -> a fraction."""
    t = text.strip().lower()
    try:
        if t.endswith("pp"):
            value = float(t[:-2]) / 100
        elif t.endswith("%"):
            value = float(t[:-1]) / 100
        else:
            value = float(t)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction (0.999) or percentage points "
                                         f"(0.5pp). Received: {text!r}")
    return value


def int_list(text: str, what: str) -> list[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        out = []
    if not out or any(v < 0 for v in out):
        raise ConfigError(f"{what}: expected comma-separated whole numbers. Received: {text!r}.")
    return out


@dataclass
class Setup(QuantInputs):
    """One subject ready for quantization work (:class:`QuantInputs`), with its mode, run
    settings and gate limits."""

    subject: Any
    settings: Any
    mode: Any
    limits: Any
    project: Any

    def say(self, quiet: bool) -> Any:
        def progress(message: str) -> None:
            if not quiet:
                print(f"{self.subject.name}/{self.mode.name}: {message}", file=sys.stderr)
        return progress


def prepare(args: argparse.Namespace) -> Setup:
    import dataclasses

    from tflbench.commands.run import settings_and_subjects
    from tflbench.modes import MODES, get_mode
    from tflbench.quant_inputs import attributable, quant_inputs

    if not args.model and not args.recipe:
        raise ConfigError(f"{NAME}: give the model, e.g. --model model.keras --data npz:val.npz."
                          " Received no --model.")
    mode = get_mode(args.mode)
    if not attributable(mode):
        raise ConfigError(f"--mode must quantize activations or be an lq- mode. Received: "
                          f"--mode {args.mode!r}; use int8, int8-float-io or an lq- mode.")
    settings, subjects = settings_and_subjects(args)
    if len(subjects) != 1:
        raise ConfigError(f"Give one model. Received: {len(subjects)} subjects.")
    settings = settings.replace(modes=(MODES["fp32"], mode))
    subject = subjects[0]
    q = quant_inputs(subject, settings, on=args.on, samples=args.samples)
    thresholds = args._project.thresholds
    limits = thresholds.limits(subject.name, mode.name)
    changes = {k: getattr(args, k) for k in ("min_top1_agreement", "max_accuracy_drop")
               if getattr(args, k, None) is not None}
    limits = dataclasses.replace(limits, **changes)
    return Setup(subject=subject, settings=settings, mode=mode, dataset=q.dataset, eval=q.eval,
                 reference=q.reference, model=q.model, calibration=q.calibration,
                 samples=q.samples, sample_reference=q.sample_reference, limits=limits,
                 project=args._project)


def run_records(setup: Setup, modes: tuple[Any, ...]) -> dict[str, Any]:
    """A results document with the standard records of ``modes`` (conversions cached)."""
    from tflbench import pipeline

    return pipeline.run([setup.subject], setup.settings.replace(modes=modes))


def find_record(doc: dict[str, Any], mode: str) -> dict[str, Any]:
    return next(r for r in doc["models"][0]["modes"] if r["mode"] == mode)


def show(doc: dict[str, Any], top: int, report_dir: Path) -> None:
    from tflbench.reports import quantization, write_all
    from tflbench.reports.terminal import make_console

    written = write_all(doc, report_dir)
    written.update(quantization.write(doc, report_dir, top))
    c = make_console()
    for item in quantization.terminal_tables(doc, top):
        c.print(item)
    for fmt, path in written.items():
        print(f"{fmt}: {path}")


def main(args: argparse.Namespace) -> int:
    from tflbench.diagnose import attribute, calibration_sensitivity

    setup = prepare(args)
    say = setup.say(args.quiet)
    doc = run_records(setup, setup.settings.modes)
    attr = attribute(setup.model, setup.mode, setup.calibration, setup.samples,
                     reference=setup.sample_reference, name=setup.subject.name,
                     sample_source=args.on, probes=args.probes, progress=say)
    rec = find_record(doc, setup.mode.name)
    rec["attribution"] = attr.to_dict()
    if args.sensitivity:
        from tflbench.diagnose import QuantizerBackend, backend_for

        fp32 = None

        def quantize(cal: Any) -> bytes:
            nonlocal fp32
            be = backend_for(setup.model, setup.mode, cal, name=setup.subject.name, fp32=fp32)
            if isinstance(be, QuantizerBackend):
                fp32 = be.fp32
            return be.quantized()

        pool = setup.dataset.train.x if len(setup.dataset.train) else setup.eval.x
        sens = calibration_sensitivity(
            quantize, setup.mode.name, pool, setup.eval.x, setup.eval.y, setup.reference,
            sizes=int_list(args.sizes, "--sizes"), seeds=int_list(args.seeds, "--seeds"),
            min_top1_agreement=setup.limits.min_top1_agreement,
            max_accuracy_drop=setup.limits.max_accuracy_drop, progress=say)
        rec["calibration_sensitivity"] = sens.to_dict()
        for w in sens.warnings:
            print(f"tflbench: warning: {w}", file=sys.stderr)
    show(doc, args.top, Path(setup.settings.report_dir))
    return 0
