"""``tflbench report``: render results JSON files (merged side by side) with a recommendation."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

NAME = "report"
HELP = ("Render one or more results JSON files as a terminal table, Markdown, HTML or JSON; "
        "recommend the mode to ship under size/latency/accuracy limits.")

_SUFFIX_FORMAT = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html",
                  ".json": "json", ".txt": "term"}
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}


def size_bytes(text: str) -> int:
    """``300000``, ``300k``, ``300KB``, ``292KiB``, ``1.5MB`` -> bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(
            f"expected a size in bytes such as 300000, 300KB or 1.5MiB. Received: {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def fraction(text: str) -> float:
    """``0.01``, ``1%`` or ``1pp`` -> 0.01."""
    t = text.strip().lower()
    scale = 1.0
    for suffix in ("%", "pp"):
        if t.endswith(suffix):
            t, scale = t[: -len(suffix)].strip(), 0.01
    try:
        value = float(t) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction such as 0.01, 1% or 1pp. Received: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"expected a fraction between 0 and 1 (or 0% to 100%). Received: {text!r}")
    return value


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number. Received: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", metavar="RESULTS.json",
                        help="results files; several (devices, thread counts, dates) are "
                             "shown side by side, keyed by (model, mode, device). A bundle "
                             "directory or .zip stands for the host results it holds")
    parser.add_argument("--format", choices=("md", "html", "json", "term"), default=None,
                        help="output format (default: from the --output suffix, else term)")
    parser.add_argument("--output", "-o", metavar="PATH", default=None,
                        help="write here instead of standard output")
    parser.add_argument("--baseline", metavar="BASE.json", default=None,
                        help="show changes against this results file (latency significance "
                             "from the samples)")
    limits = parser.add_argument_group(
        "recommendation limits",
        "Recommend the smallest (or fastest) mode per model that meets every limit given.")
    limits.add_argument("--max-size-bytes", type=size_bytes, metavar="N",
                        help="largest .tflite file, e.g. 300000, 300KB, 1.5MiB")
    limits.add_argument("--max-size-ratio", type=positive, metavar="R",
                        help="largest size relative to the fp32 file, e.g. 0.3")
    limits.add_argument("--max-p90-us", type=positive, metavar="U",
                        help="largest p90 latency per invoke in microseconds")
    limits.add_argument("--max-accuracy-drop", type=fraction, metavar="D",
                        help="largest accuracy loss against Keras, e.g. 0.01, 1%% or 1pp")
    limits.add_argument("--min-top1-agreement", type=fraction, metavar="A",
                        help="lowest top-1 agreement with Keras, e.g. 0.99 or 99%%")
    limits.add_argument("--prefer", choices=("size", "latency"), default=None,
                        help="among modes that meet the limits pick the smallest (default) "
                             "or the fastest")


def _format(args: argparse.Namespace) -> str:
    from tflbench.errors import ConfigError

    if args.format:
        return str(args.format)
    if args.output:
        suffix = Path(args.output).suffix.lower()
        if suffix not in _SUFFIX_FORMAT:
            raise ConfigError(
                f"--output {args.output}: cannot tell the format from the suffix "
                f"{suffix or '(none)'!r}. Use one of {', '.join(_SUFFIX_FORMAT)} "
                "(Markdown, HTML, JSON, plain text), or give --format md|html|json|term.")
        return _SUFFIX_FORMAT[suffix]
    return "term"


def load_source(path: str) -> dict[str, Any]:
    """The results document at ``path``: a results JSON, or a bundle directory or ``.zip``
    written by 'tflbench bundle' (its ``host-results.json``)."""
    import zipfile

    from tflbench import results

    p = Path(path)
    if not (p.is_dir() or (p.is_file() and zipfile.is_zipfile(p))):
        return results.load(p)
    from tflbench.bundle import read_bundle
    from tflbench.errors import ResultsError

    with read_bundle(p) as bundle:
        if bundle.host_results is None:
            raise ResultsError(f"Bundle {p} holds no intact host results (host-results.json "
                               "is missing or altered). Give the host results JSON instead, "
                               "e.g. the one 'tflbench bundle --results PATH' saved.")
        doc = results.load(bundle.host_results)
    return doc


def main(args: argparse.Namespace) -> int:
    from tflbench.baseline import compare
    from tflbench.reports import render, write_text
    from tflbench.reports.merge import merge
    from tflbench.reports.recommend import recommend

    paths = [str(p) for p in args.results]
    docs = [load_source(p) for p in paths]
    from tflbench.scale import is_shard, merge_shards

    if len(docs) > 1 and all(is_shard(d) for d in docs):
        doc = merge_shards(docs)  # the shards of one run: one document, as if unsharded
        from tflbench import gates
        from tflbench.config import discover_project

        gates.apply(doc, discover_project()[0].thresholds)  # the verdict of the whole run
    else:
        doc = merge(docs, sources=paths)
    for warning in (doc.get("merged") or {}).get("warnings") or []:
        print(f"tflbench: warning: {warning}", file=sys.stderr)
    fmt = _format(args)
    limits = {k: getattr(args, k) for k in ("max_size_bytes", "max_size_ratio", "max_p90_us",
                                           "max_accuracy_drop", "min_top1_agreement")}
    wants = any(v is not None for v in limits.values()) or args.prefer is not None
    if wants or (fmt == "json" and not doc.get("recommendation")):
        from tflbench.reports.crossarch import without_emulated_latency

        # emulated latency never ranks a mode
        ranked = without_emulated_latency(doc)
        doc["recommendation"] = recommend(ranked, prefer=args.prefer or "size", **limits)
    if args.baseline:
        doc["baseline"] = compare(doc, load_source(args.baseline), path=str(args.baseline))

    if fmt == "term" and not args.output:
        from tflbench.reports import terminal

        terminal.render(doc)
        return 0
    text = render(doc, fmt)
    if not args.output:
        sys.stdout.write(text)
        return 0
    out = write_text(args.output, text, what="the report", option="--output")
    print(f"tflbench: wrote {out}", file=sys.stderr)
    return 0
