"""``tflbench run``: train or load, convert under every mode, measure, report."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tflbench.errors import ConfigError, TflbenchError

if TYPE_CHECKING:  # pragma: no cover
    from tflbench.verdict import Verdict

NAME = "run"
HELP = ("Train or load reference models, convert under every mode, measure agreement, accuracy, "
        "size and latency, and write reports (default: the embedded digits subject).")


def _positive(text: str) -> int:
    """A positive whole number for argparse (``--threads 0`` is refused, naming the value)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number. Received: {text!r}")
    return value


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``bundle``."""
    g = parser.add_argument_group("subjects")
    g.add_argument("--model", action="append", default=[], metavar="PATH",
                   help="a .keras, .h5 or SavedModel to test (repeatable)")
    g.add_argument("--recipe", action="append", default=[], metavar="NAME",
                   help="a built-in recipe to train (repeatable; see 'tflbench recipes')")
    g.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a --recipe parameter, e.g. --param epochs=5 --param weights=none "
                        "(repeatable; see 'tflbench recipes')")
    g.add_argument("--data", metavar="SPEC", default=None,
                   help="dataset for --model/--recipe: digits (default), npz:PATH, folder:PATH, "
                        "tfds:NAME, keras:NAME")
    g.add_argument("--calibration-data", metavar="SPEC", default=None,
                   help="data for the full-integer modes' calibration (any data spec; default: "
                        "the data's own training split, else a seeded sample of the evaluation "
                        "set, said in the reports)")
    g.add_argument("--name", default=None, help="name of the --model subject in reports")
    g.add_argument("--unsafe-model-loading", action="store_true",
                   help="load .keras files with safe_mode=False (only for files you trust)")
    g.add_argument("--config", metavar="PATH", default=None,
                   help="project config (tflbench.toml or pyproject.toml [tool.tflbench])")
    r = parser.add_argument_group("run settings")
    r.add_argument("--modes", default=None,
                   help="comma-separated modes (default: all; see 'tflbench modes')")
    r.add_argument("--threads", type=_positive, default=None,
                   help="interpreter threads (default 1)")
    r.add_argument("--no-xnnpack", action="store_true", help="run without the XNNPACK delegate")
    r.add_argument("--representative-samples", type=int, default=None, metavar="N",
                   help="calibration samples for full-integer modes (default 200)")
    r.add_argument("--max-eval-samples", type=int, default=None, metavar="N",
                   help="cap the evaluation (test) samples")
    r.add_argument("--cache-dir", type=Path, default=None, help="default .tflbench-cache")
    r.add_argument("--no-cache", action="store_true", help="ignore cached models/conversions")
    r.add_argument("--device", default=None, help="device label in results (default hostname)")
    sc = parser.add_argument_group("scale")
    sc.add_argument("--jobs", type=int, default=None, metavar="N",
                    help="worker processes for training and conversions, interpreter threads "
                         "for evaluation (default: TFLBENCH_JOBS, else every usable core, "
                         "capped by memory; 1: everything in this process). Latency is always "
                         "timed with nothing else running")
    sc.add_argument("--shard", default=None, metavar="I/N",
                    help="run the I-th of N deterministic parts of the (model, mode) jobs, for "
                         "a CI matrix; merge with 'tflbench report --format json -o "
                         "merged.json shard-*.json'")
    sc.add_argument("--executor", choices=("local", "ray"), default=None,
                    help="where conversions and evaluation shards run: this machine's "
                         "processes (local, default) or a Ray cluster (ray; pip install "
                         "'tflbench[ray]'; see docs/scale.md)")
    sc.add_argument("--ray-address", default=None, metavar="ADDR",
                    help="with --executor ray: the cluster to join, e.g. 10.0.0.5:6379 "
                         "(default: start a local Ray instance)")
    f = parser.add_argument_group("faults")
    f.add_argument("--resume", action="store_true",
                   help="reuse the modes a previous (interrupted) run of the same job finished")
    f.add_argument("--isolate", action="store_true",
                   help="run each mode's runtime work in a child process: a native crash or an "
                        "out-of-memory kill fails that mode only")
    f.add_argument("--mode-timeout", type=float, default=None, metavar="S",
                   help="seconds one mode's runtime work may take (implies --isolate)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    o = parser.add_argument_group("output")
    o.add_argument("--report-dir", type=Path, default=None,
                   help="where results.json, report.md and report.html go (default reports/)")
    o.add_argument("--quiet", action="store_true", help="no progress display")
    o.add_argument("--baseline", type=Path, default=None, metavar="RESULTS.json",
                   help="compare against a previous results file (e.g. the last release)")
    o.add_argument("--strict", action="store_true",
                   help="exit 1 when a gate fails (a mode failed, a threshold or the baseline)")
    o.add_argument("--targets", nargs="+", action="extend", default=None, metavar="TARGET",
                   help="runtime releases every mode must load on, e.g. 'ai-edge-litert>=2.3' "
                        "'tflite-runtime==2.14' (require_compatible; replaces the config's "
                        "targets)")
    o.add_argument("--attribute", default=None, metavar="MODES",
                   help="rank the layers of these quantized modes by their error (per-layer "
                        "attribution, as 'tflbench diagnose'), e.g. --attribute int8 (modes of "
                        "the run that quantize activations, or lq- modes)")
    o.add_argument("--demo", action="store_true",
                   help="with --strict and no project config: gate the built-in demo models "
                        "(refused in CI without it)")


def settings_and_subjects(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """RunSettings and subjects from the command line (and the project config, if any)."""
    from tflbench import pipeline
    from tflbench.config import discover_project
    from tflbench.modes import resolve_modes

    project, _ = discover_project(getattr(args, "config", None))
    settings = project.to_run_settings()
    subjects: list[Any] = [] if (args.model or args.recipe) else project.to_subjects()
    args._project = project
    changes: dict[str, Any] = {}
    if args.modes:
        changes["modes"] = tuple(resolve_modes(args.modes))
    if args.threads is not None:
        changes["num_threads"] = args.threads
    if args.no_xnnpack:
        changes["xnnpack"] = False
    if args.representative_samples is not None:
        changes["representative_samples"] = args.representative_samples
    if args.max_eval_samples is not None:
        changes["max_eval_samples"] = args.max_eval_samples
    if args.cache_dir is not None:
        changes["cache_dir"] = args.cache_dir
    if args.no_cache:
        changes["use_cache"] = False
    if args.device:
        changes["device"] = args.device
    if getattr(args, "jobs", None) is not None:
        from tflbench.scale import plan_jobs

        plan_jobs(args.jobs)  # validates
        changes["jobs"] = args.jobs or None  # 0: every usable core
    elif "jobs" in vars(args):
        # The command line uses every usable core (or TFLBENCH_JOBS; scale.plan_jobs reads
        # it); RunSettings, the Python API, stays in one process unless asked.
        changes["jobs"] = None
    if getattr(args, "shard", None):
        from tflbench.scale import parse_shard

        changes["shard"] = parse_shard(args.shard)
    if getattr(args, "executor", None) == "ray" or getattr(args, "ray_address", None):
        from tflbench.scale_ray import check_executor  # scale: the Ray executor

        changes.update(check_executor(args.executor, args.ray_address))
    for key in ("resume", "isolate"):
        if getattr(args, key, False):
            changes[key] = True
    if getattr(args, "mode_timeout", None) is not None:
        if args.mode_timeout <= 0:
            raise ConfigError(f"--mode-timeout must be a positive number of seconds. Received: "
                              f"{args.mode_timeout!r}.")
        changes["mode_timeout"] = args.mode_timeout
    if getattr(args, "report_dir", None) is not None:
        changes["report_dir"] = args.report_dir
    settings = settings.replace(**changes)
    if args.name and len(args.model) != 1:
        raise ConfigError(f"--name names a single --model. Received: --name {args.name!r} with "
                          f"{len(args.model)} --model options; name each run separately or "
                          "use a project config with one [[models]] entry per model.")
    for path in args.model:
        subjects.append(pipeline.subject_from_model_file(
            path, args.data, name=args.name, safe_mode=not args.unsafe_model_loading,
            calibration=getattr(args, "calibration_data", None)))
    params = _recipe_params(getattr(args, "param", []))
    if params and not args.recipe:
        raise ConfigError("--param sets parameters of a --recipe; received no --recipe.")
    for recipe in args.recipe:
        subjects.append(pipeline.subject_from_recipe(recipe, args.data, **params))
    if not subjects:
        subjects = pipeline.default_subjects()
    _unique_names(subjects)
    return settings, subjects


def _recipe_params(items: list[str]) -> dict[str, Any]:
    """``["epochs=5", "weights=none", "augment=true"]`` -> typed values (int, float, bool, str)."""
    import json

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param takes KEY=VALUE. Received: {item!r}.")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        out[key.strip()] = value
    return out


def _unique_names(subjects: list[Any]) -> None:
    """Two subjects named alike (model.keras and model.h5) would merge in reports: rename the
    later ones after their source file name, then with a number."""
    seen: set[str] = set()
    for s in subjects:
        name = s.name
        if name in seen:
            name = Path(s.source).name if s.source and not s.source.startswith("recipe:") \
                else name
            base, i = name, 2
            while name in seen:
                name, i = f"{base}-{i}", i + 1
            s.name = name
        seen.add(name)


def run_with_progress(settings: Any, subjects: list[Any], quiet: bool = False) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tflbench import pipeline

    console = Console(stderr=True)
    if quiet:
        return pipeline.run(subjects, settings)
    total = len(subjects) * len(settings.modes)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} modes"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("starting", total=total)

        def progress(model: str, mode: str | None, message: str) -> None:
            where = f"{model}/{mode}" if mode else model
            if message in ("done", "failed"):
                bar.advance(task)
                if message == "failed":
                    console.print(f"[red]✗[/red] {where} failed (see the report)")
            elif message.startswith("error: "):  # reported once, at the end
                bar.advance(task, len(settings.modes))
            else:
                bar.update(task, description=f"{where}: {message}")

        return pipeline.run(subjects, settings, progress)


def main(args: argparse.Namespace) -> int:
    from tflbench.reports import write_all
    from tflbench.reports.terminal import render
    from tflbench.verdict import NOT_COMPARED

    settings, subjects = settings_and_subjects(args)
    attribute_modes = _attribute_modes(args, settings)
    if getattr(args, "targets", None):  # checked before any work
        args._project = args._project.with_overrides(targets=args.targets)
    if args.strict and args._project.source is None and not (args.model or args.recipe):
        from tflbench.config import demo_notice
        from tflbench.reports.terminal import make_console

        make_console(stderr=True).print(demo_notice(demo=args.demo), style="bold yellow",
                                        soft_wrap=True, highlight=False)
    baseline_path = getattr(args, "baseline", None) or args._project.baseline.path
    if baseline_path is not None:
        from tflbench.results import load

        load(baseline_path)  # a missing or malformed baseline is an error before any work
    from tflbench.interrupt import signals_as_interrupt

    t0 = time.perf_counter()
    with signals_as_interrupt():
        doc = run_with_progress(settings, subjects, quiet=args.quiet)
    doc["settings"]["wall_seconds"] = round(time.perf_counter() - t0, 2)
    if doc.get("interrupted"):
        return _write_partial(doc, Path(settings.report_dir))
    _say_reused(doc)
    broken = [f"{m['name']}: {m['error']}" for m in doc["models"] if m.get("error")]
    if broken and len(broken) == len(doc["models"]):
        raise TflbenchError("\n".join(broken))  # nothing was measured: just the error
    if attribute_modes:
        from tflbench.quant_inputs import attach_attribution

        def say(message: str) -> None:
            if not args.quiet:
                print(message, file=sys.stderr)

        for line in attach_attribution(doc, subjects, settings, attribute_modes, say=say):
            doc.setdefault("warnings", []).append(line)
    verdict = apply_gates(doc, args._project, baseline_path, strict=args.strict)
    report_dir = Path(settings.report_dir)
    written = write_all(doc, report_dir)
    render(doc)
    for line in verdict.baseline_failures:  # render() shows the gates' failures
        print(f"  {line}" if line.startswith(NOT_COMPARED) else f"  baseline {line}")
    for fmt, path in written.items():
        print(f"{fmt}: {path}")
    for warning in verdict.warnings:
        print(f"tflbench: warning: {warning}", file=sys.stderr)
    if broken:
        # The other subjects' results are written above; the broken input is one error.
        raise TflbenchError("\n".join(broken))
    if args.strict:
        verdict.enforce()
    return 0


def _attribute_modes(args: argparse.Namespace, settings: Any) -> list[Any]:
    """The modes of ``--attribute``, checked before any work: each must be one of the run's
    modes and quantize activations (or be an lq- mode)."""
    text = getattr(args, "attribute", None)
    if not text:
        return []
    from tflbench.modes import resolve_modes
    from tflbench.quant_inputs import attributable

    run_modes = {m.name for m in settings.modes}
    out = []
    for mode in resolve_modes(text):
        if mode.name not in run_modes:
            raise ConfigError(f"--attribute {mode.name}: not among the run's modes "
                              f"({', '.join(sorted(run_modes))}). Add it to --modes.")
        if not attributable(mode):
            raise ConfigError(f"--attribute {mode.name}: this mode keeps float activations; "
                              "attribute a full-integer mode (int8, int8-float-io) or an lq- "
                              "mode.")
        out.append(mode)
    return out


def _write_partial(doc: dict[str, Any], report_dir: Path) -> int:
    """Write the results of an interrupted run (every finished mode, ``interrupted: true``),
    say where and how to go on, and return 128 + the signal number."""
    import signal

    from tflbench.results import save

    signum = int(doc["settings"].get("interrupted_by") or signal.SIGINT)
    path = save(doc, report_dir / "results.json")
    finished = sum(1 for m in doc["models"] for r in m["modes"])
    print(f"tflbench: interrupted by {signal.Signals(signum).name}: partial results with "
          f"{finished} finished mode(s) in {path}. Run the same command with --resume to "
          "reuse them.", file=sys.stderr)
    return 128 + signum


def _say_reused(doc: dict[str, Any]) -> None:
    for m in doc["models"]:
        reused = m.get("reused_modes")
        if reused:
            print(f"{m['name']}: reused {len(reused)} finished mode(s) from the cache: "
                  f"{', '.join(reused)}", file=sys.stderr)


def apply_gates(doc: dict[str, Any], project: Any, baseline_path: Path | None = None,
                strict: bool = True) -> Verdict:
    """The project's thresholds and baseline (``baseline_path`` wins over the configured one)
    applied to ``doc`` (:func:`tflbench.verdict.apply_verdict`). ``run`` shows the failures;
    ``--strict`` and ``tflbench test`` enforce them."""
    from tflbench import baseline
    from tflbench.verdict import apply_verdict

    return apply_verdict(doc, project.thresholds, baseline_path or project.baseline.path,
                         baseline.Policy.from_config(project.baseline), strict=strict,
                         targets=getattr(project, "targets", None) or ())
