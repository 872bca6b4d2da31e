"""``tflbench measure BUNDLE``: measure a bundle on this machine (no TensorFlow needed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

NAME = "measure"
HELP = ("Measure a bundle written by 'tflbench bundle' on this machine, with no TensorFlow: "
        "agreement with Keras, accuracy, latency (invoke and end-to-end), init time, memory "
        "and a thread/XNNPACK sweep. Writes a results JSON that 'tflbench report' merges.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, metavar="BUNDLE",
                        help="bundle directory or .zip written by 'tflbench bundle'")
    parser.add_argument("--out", type=Path, default=Path("results-device.json"), metavar="PATH",
                        help="results JSON to write (default: results-device.json)")
    parser.add_argument("--device", default=None, metavar="LABEL",
                        help="device label in the results (default: the hostname)")
    parser.add_argument("--modes", default=None, help="comma-separated modes (default: all "
                        "bundled modes)")
    t = parser.add_argument_group("interpreter")
    t.add_argument("--num-threads", type=int, default=None, metavar="N",
                   help="threads for the main latency figure (default: the host run's setting)")
    t.add_argument("--threads", default="auto", metavar="LIST",
                   help="thread counts to sweep, e.g. 1,2,4 (default auto: 1,2,4 and all "
                        "usable cores, capped at the usable cores; 'none' skips the sweep)")
    x = t.add_mutually_exclusive_group()
    x.add_argument("--no-xnnpack", action="store_true",
                   help="run without the XNNPACK delegate")
    x.add_argument("--xnnpack-sweep", action="store_true",
                   help="sweep every thread count with XNNPACK on and off")
    t.add_argument("--backend", default=None,
                   choices=("ai_edge_litert", "tflite_runtime", "tensorflow"),
                   help="interpreter package (default: the first installed, in this order)")
    lat = parser.add_argument_group("latency (default: the host run's settings)")
    lat.add_argument("--warmup-runs", type=int, default=None, metavar="N")
    lat.add_argument("--min-runs", type=int, default=None, metavar="N")
    lat.add_argument("--min-seconds", type=float, default=None, metavar="S")
    lat.add_argument("--max-runs", type=int, default=None, metavar="N")
    lat.add_argument("--max-seconds", type=float, default=None, metavar="S")
    lat.add_argument("--no-e2e", action="store_true",
                     help="skip the end-to-end (set input + invoke + get output) latency")
    o = parser.add_argument_group("checks")
    o.add_argument("--strict", action="store_true",
                   help="refuse a bundle with any missing or altered file, and exit 1 when a "
                        "mode failed")
    o.add_argument("--gate", action="store_true",
                   help="apply the thresholds stored in the bundle; exit 1 when one fails")
    o.add_argument("--quiet", action="store_true", help="print only the tables")


def latency_settings(args: argparse.Namespace, host: dict[str, Any] | None) -> Any:
    """The host's latency settings (from the manifest) overridden by the command line."""
    from tflbench.timing import LatencySettings

    base: dict[str, Any] = {}
    known = set(LatencySettings.__dataclass_fields__)
    for k, v in (host or {}).items():
        if k in known:
            base[k] = v
    for k in ("warmup_runs", "min_runs", "min_seconds", "max_runs", "max_seconds"):
        v = getattr(args, k, None)
        if v is not None:
            base[k] = v
    if base.get("min_runs", 0) > base.get("max_runs", LatencySettings.max_runs):
        base["max_runs"] = base["min_runs"]
    if base.get("min_seconds", 0) > base.get("max_seconds", LatencySettings.max_seconds):
        base["max_seconds"] = base["min_seconds"]
    return LatencySettings(**base)


def _fmt(v: Any, spec: str = ".1f", none: str = "-") -> str:
    if v is None:
        return none
    try:
        return format(v, spec)
    except (TypeError, ValueError):
        return str(v)


def summary_table(doc: dict[str, Any], host: dict[tuple[str, str], dict[str, Any]]) -> Any:
    """Main table: quality, latency (µs), init time and memory per model/mode."""
    from rich import box
    from rich.table import Table

    s = doc["settings"]
    t = Table(title=f"tflbench measure on {doc['device']}: {s['num_threads']} thread(s), "
                    f"XNNPACK {'on' if s['xnnpack'] else 'off'}, latency in µs",
              box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("model/mode", "agree", "acc (Δ)", "p50", "p90", "e2e p50", "host p50",
                "init ms", "1st", "RSS kB"):
        t.add_column(col, justify="left" if col == "model/mode" else "right")
    for m in doc["models"]:
        for r in m["modes"]:
            where = f"{m['name']}/{r['mode']}"
            if r["status"] != "ok":
                t.add_row(where, f"[red]failed ({r['stage']})[/red]", *[""] * 8)
                continue
            a, acc, lat = r.get("agreement") or {}, r.get("accuracy") or {}, r["latency"] or {}
            e2e = r.get("latency_e2e") or {}
            mem = r.get("memory") or {}
            h = host.get((m["name"], r["mode"])) or {}
            accuracy = _fmt(acc.get("accuracy"), ".3f")
            if acc.get("accuracy_delta") is not None:
                accuracy += f" ({acc['accuracy_delta']:+.3f})"
            t.add_row(
                where, _fmt(a.get("top1"), ".3f"), accuracy, _fmt(lat.get("median")),
                _fmt(lat.get("p90")), _fmt(e2e.get("median")), _fmt(h.get("latency_median_us")),
                _fmt(None if lat.get("init_us") is None else lat["init_us"] / 1000, ".2f"),
                _fmt(lat.get("first_invoke_us")), _fmt(mem.get("rss_total_kb"), "d"),
            )
    return t


def sweep_table(doc: dict[str, Any]) -> Any | None:
    """Median (p90) invoke latency per model/mode for every (threads, XNNPACK) swept."""
    from rich import box
    from rich.table import Table

    combos: list[tuple[int, bool]] = []
    for m in doc["models"]:
        for r in m["modes"]:
            for row in r.get("latency_sweep") or []:
                key = (row.get("threads"), bool(row.get("xnnpack")))
                if key not in combos:
                    combos.append(key)
    if not combos:
        return None
    combos.sort(key=lambda c: (not c[1], c[0]))
    t = Table(title="latency sweep: median invoke() µs (p90)", box=box.SIMPLE_HEAD,
              pad_edge=False)
    t.add_column("model")
    t.add_column("mode")
    for threads, xnn in combos:
        t.add_column(f"{threads}t{'' if xnn else ' no-XNN'}", justify="right")
    for m in doc["models"]:
        for r in m["modes"]:
            rows = {(row.get("threads"), bool(row.get("xnnpack"))): row
                    for row in r.get("latency_sweep") or []}
            if not rows:
                continue
            cells = []
            for c in combos:
                row = rows.get(c)
                if row is None:
                    cells.append("")
                elif row.get("error"):
                    cells.append("[red]error[/red]")
                else:
                    cells.append(f"{row['median']:.1f} ({row['p90']:.1f})")
            t.add_row(m["name"], r["mode"], *cells)
    return t


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from tflbench.bundle import read_bundle
    from tflbench.errors import ConfigError
    from tflbench.measure import measure_bundle, parse_threads
    from tflbench.results import save

    console = Console() if sys.stdout.isatty() else Console(width=120)
    err = Console(stderr=True)
    if args.num_threads is not None and args.num_threads < 1:
        raise ConfigError(f"--num-threads must be a positive integer. Received: "
                          f"{args.num_threads}.")
    sweep = parse_threads(args.threads)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()] if args.modes else None
    with read_bundle(args.bundle, strict=args.strict) as bundle:
        for p in bundle.problems:
            err.print(f"[yellow]bundle problem:[/yellow] {p}")
        settings = latency_settings(args, (bundle.manifest.get("settings") or {}).get("latency"))
        progress = None if args.quiet else (lambda msg: err.print(f"[dim]{msg}[/dim]"))
        doc = measure_bundle(
            bundle, num_threads=args.num_threads, xnnpack=not args.no_xnnpack,
            threads_sweep=sweep, sweep=sweep != [], xnnpack_sweep=args.xnnpack_sweep,
            latency=settings, e2e=not args.no_e2e, device=args.device, backend=args.backend,
            modes=modes, progress=progress,
        )
        host = {(m["name"], md["mode"]): md.get("host") or {}
                for m in bundle.manifest["models"] for md in m["modes"]}
        gate_lines = _gates(doc, bundle.manifest.get("thresholds")) if args.gate else []
        host_results = bundle.host_results
        console.print(summary_table(doc, host))
        table = sweep_table(doc)
        if table is not None:
            console.print(table)
        for m in doc["models"]:
            for r in m["modes"]:
                if r["status"] != "ok":
                    console.print(f"[red]✗[/red] {m['name']}/{r['mode']} ({r['stage']}): "
                                  f"{r['error']}")
        path = save(doc, args.out)
        console.print(f"results: {path}")
        if host_results is not None and not bundle.source.is_file():
            console.print(f"merge with the host: tflbench report {host_results} {path}")
    for line in gate_lines:
        console.print(f"[red]gate failed:[/red] {line}")
    failed = any(r["status"] != "ok" for m in doc["models"] for r in m["modes"])
    return 1 if gate_lines or (args.strict and failed) else 0


def _gates(doc: dict[str, Any], stored: dict[str, Any] | None) -> list[str]:
    """Evaluate the bundle's stored limits on the device results; returns the failure lines."""
    from tflbench import gates

    if not stored:
        return ["the bundle holds no thresholds (re-create it with 'tflbench bundle')"]
    per_model_mode = {(model, mode): limits for model, by_mode in stored.items()
                      for mode, limits in (by_mode or {}).items()}
    results = gates.apply(doc, gates.Thresholds(per_model_mode=per_model_mode,
                                                use_defaults=False))
    return gates.failure_lines(results)
