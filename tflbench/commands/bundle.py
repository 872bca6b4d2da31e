"""``tflbench bundle``: run the host pipeline, then write a bundle a device measures without TF."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

NAME = "bundle"
HELP = ("Run the host pipeline (like 'tflbench run') and write a portable bundle: the .tflite of "
        "every mode, evaluation inputs, labels and Keras reference outputs, and a checksummed "
        "manifest, for 'tflbench measure' on a device without TensorFlow.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tflbench.bundle import DEFAULT_MAX_SAMPLES
    from tflbench.commands.run import add_run_arguments

    add_run_arguments(parser)
    o = parser.add_argument_group("bundle")
    o.add_argument("--out", type=Path, default=Path("bundle"), metavar="DIR",
                   help="bundle directory to create (default: ./bundle); with --zip, DIR.zip")
    o.add_argument("--zip", action="store_true", help="write one .zip file instead of a directory")
    o.add_argument("--max-samples", type=int, default=DEFAULT_MAX_SAMPLES, metavar="N",
                   help=f"evaluation samples stored per model (default {DEFAULT_MAX_SAMPLES}; "
                        "0 = all)")
    o.add_argument("--force", action="store_true", help="replace an existing bundle at --out")
    o.add_argument("--results", type=Path, default=None, metavar="PATH",
                   help="also save the full host results JSON here (the bundle holds a copy "
                        "without latency samples)")
    o.add_argument("--quiet", action="store_true", help="no progress display")


def thresholds_for(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The resolved gate limits of every (model, mode) of ``doc``: ``{model: {mode: limits}}``,
    from the project config the host run used (``args._project``, set by
    ``settings_and_subjects``; the built-in defaults when no config was found). With
    ``--model``/``--recipe`` the project's thresholds still apply."""
    from tflbench.bundle import thresholds_table

    return thresholds_table(doc, args._project.thresholds)


def main(args: argparse.Namespace) -> int:
    from tflbench.bundle import arrays_for_subject, bundleable_modes, write_bundle
    from tflbench.commands.run import run_with_progress, settings_and_subjects
    from tflbench.errors import ConfigError
    from tflbench.reports.terminal import make_console
    from tflbench.results import save

    if args.max_samples < 0:
        raise ConfigError(f"--max-samples must be >= 0 (0 = all). Received: {args.max_samples}.")
    settings, subjects = settings_and_subjects(args)
    doc = run_with_progress(settings, subjects, quiet=args.quiet)
    usable = {m["name"] for m in doc["models"] if bundleable_modes(m)}
    arrays = {s.name: arrays_for_subject(s, settings) for s in subjects if s.name in usable}
    out = write_bundle(doc, arrays, args.out, zip=args.zip,
                       max_samples=args.max_samples or None,
                       thresholds=thresholds_for(doc, args), overwrite=args.force)
    console = make_console()
    if args.results is not None:
        console.print(f"host results: {save(doc, args.results)}")
    failed = [f"{m['name']}/{r['mode']}" for m in doc["models"] for r in m["modes"]
              if r["status"] != "ok"]
    if failed:
        console.print(f"[yellow]not bundled (failed on the host):[/yellow] {', '.join(failed)}")
    size = out.stat().st_size if out.is_file() else sum(
        p.stat().st_size for p in out.rglob("*") if p.is_file())
    console.print(f"bundle: {out} ({size / 1024:.0f} KiB)", soft_wrap=True)
    console.print(f"measure it on a device: tflbench measure {out.name} --out results-device.json",
                  soft_wrap=True)
    console.print(f"then merge: tflbench report {out} results-device.json", soft_wrap=True)
    return 0
