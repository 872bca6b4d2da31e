"""``tflbench tune``: keep the most harmful layers in float until every accuracy gate passes,
and save the winning configuration as a recipe file the project commits."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tflbench.errors import ConfigError

NAME = "tune"
HELP = ("Keep the most harmful layers of a quantized mode in float, greedily, until every "
        "accuracy gate passes; save the winner as a recipe file (a reusable mode).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tflbench.commands.diagnose import add_gate_flags, add_quant_arguments

    add_quant_arguments(parser)
    add_gate_flags(parser)
    b = parser.add_argument_group("search limits")
    b.add_argument("--max-steps", type=int, default=10, metavar="N",
                   help="evaluations at most, the base mode included (default 10)")
    b.add_argument("--max-size-bytes", type=int, default=None, metavar="B",
                   help="stop when a step's file is larger")
    b.add_argument("--max-latency-p90-us", type=float, default=None, metavar="US",
                   help="stop when a step's p90 latency is higher")
    b.add_argument("--search", choices=("order", "forward"), default="order",
                   help="order: keep the first k layers of the attribution order float (one "
                        "evaluation a step); forward: try the next --width layers at each step "
                        "and keep the best (default order)")
    b.add_argument("--width", type=int, default=4, metavar="N",
                   help="with --search forward: layers tried at each step (default 4)")
    b.add_argument("--save-recipe", type=Path, default=None, metavar="PATH",
                   help="where the winning recipe goes (default quant/<model>-<mode>-tuned.json)")


def main(args: argparse.Namespace) -> int:
    from tflbench import metrics as M
    from tflbench.commands.diagnose import find_record, prepare, run_records, show
    from tflbench.diagnose import attribute, backend_for
    from tflbench.errors import GateError
    from tflbench.evaluate import EvalOptions, Reference, evaluate_tflite
    from tflbench.quant_recipe import save_recipe, tuned_mode
    from tflbench.records import ModeRecord
    from tflbench.tune import Budget, TuneStep, step_from_record, tune, tune_forward

    setup = prepare(args)
    say = setup.say(args.quiet)
    mode, name = setup.mode, setup.subject.name
    doc = run_records(setup, setup.settings.modes)
    fp32_size = (find_record(doc, "fp32").get("file") or {}).get("size_bytes")
    backend = backend_for(setup.model, mode, setup.calibration, name=name,
                          debug_samples=setup.samples[:200])
    attr = attribute(setup.model, mode, setup.calibration, setup.samples,
                     reference=setup.sample_reference, name=name, sample_source=args.on,
                     probes=args.probes, backend=backend, progress=say)
    ref = Reference(x=setup.eval.x, y=setup.eval.y, outputs=setup.reference,
                    class_names=setup.dataset.class_names,
                    keras=M.classification(setup.eval.y, setup.reference,
                                           setup.dataset.num_classes))
    st = setup.settings
    opts = EvalOptions(top_k=st.top_k, batch_size=st.batch_size, num_threads=st.num_threads,
                       xnnpack=st.xnnpack, latency=st.latency)
    tuned_name = f"{mode.name}-tuned"

    def evaluate(layers: tuple[str, ...]) -> TuneStep:
        say(f"evaluating with {len(layers)} layer(s) kept float: {', '.join(layers) or '-'}")
        with tempfile.TemporaryDirectory(prefix="tflbench-tune-") as d:
            path = Path(d) / f"{tuned_name}.tflite"
            try:
                path.write_bytes(backend.quantized(layers))
            except Exception as exc:  # a configuration the tool cannot build: a failed step
                return TuneStep(float_layers=layers, error=str(exc).splitlines()[0])
            rec: ModeRecord = evaluate_tflite(path, ref, opts, mode=tuned_name,
                                              name=f"{name}/{tuned_name}")
        if rec.file and fp32_size:
            rec = rec.replace(file=rec.file.replace(size_ratio=rec.file.size_bytes / fp32_size))
        return step_from_record(layers, rec, name, setup.limits)

    budget = Budget(max_steps=args.max_steps, max_size_bytes=args.max_size_bytes,
                    max_latency_p90_us=args.max_latency_p90_us)
    limits = {k: v for k, v in setup.limits.to_dict().items() if v is not None}
    if args.search == "forward":
        if args.width < 1:
            raise ConfigError(f"--width must be at least 1. Received: {args.width}.")
        result = tune_forward(evaluate, attr.order, budget, width=args.width, base=mode.name,
                              limits=limits)
    else:
        result = tune(evaluate, attr.order, budget, base=mode.name, limits=limits)
    tuning = result.to_dict()
    base_rec = find_record(doc, mode.name)
    base_rec["attribution"] = attr.to_dict()
    if result:
        tuned = tuned_mode(mode, result.float_layers)
        target = args.save_recipe or Path("quant") / f"{name}-{tuned.name}.json"
        save_recipe(tuned, target, {"model": name, "agreement": result.steps[-1].agreement,
                                    "limits": limits})
        tuning["recipe"] = str(target)
        # The tuned mode as CI will build it: converted from the recipe file by the pipeline.
        from tflbench.modes import get_mode

        again = run_records(setup, (get_mode(str(target)),))
        rec = find_record(again, tuned.name)
        if rec.get("file") and fp32_size:
            rec["file"]["size_ratio"] = rec["file"]["size_bytes"] / fp32_size
        rec["tuning"] = tuning
        doc["models"][0]["modes"].append(rec)
    else:
        base_rec["tuning"] = tuning
    show(doc, args.top, Path(st.report_dir))
    if result:
        print(f"{name}/{tuned_name}: every accuracy gate passes with "
              f"{len(result.float_layers)} layer(s) kept float "
              f"({', '.join(result.float_layers) or 'none'}); recipe: {tuning['recipe']}. "
              f"List it among the project's modes so CI converts exactly this configuration.")
        return 0
    best = max(result.steps, key=lambda s: s.agreement if s.agreement is not None else -1.0)
    lines = [f"{name}/{mode.name}: no configuration passed every accuracy gate (stopped: "
             f"{result.stopped} after {len(result.steps)} step(s)); best agreement "
             f"{(best.agreement or 0) * 100:.2f}% with {len(best.float_layers)} layer(s) float"]
    lines += list(result.steps[-1].failures)
    raise GateError(lines)
