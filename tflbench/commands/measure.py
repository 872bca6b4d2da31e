"""``tflbench measure BUNDLE``: measure a bundle on this machine (no TensorFlow needed)."""

from __future__ import annotations

import argparse
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
    f = parser.add_argument_group("faults")
    f.add_argument("--no-isolate", action="store_true",
                   help="measure in this process (default: each mode in a child process, so a "
                        "native crash or an out-of-memory kill fails that mode only)")
    f.add_argument("--mode-timeout", type=float, default=None, metavar="S",
                   help="seconds one mode may take before it is stopped and recorded failed")
    o = parser.add_argument_group("checks")
    o.add_argument("--strict", action="store_true",
                   help="refuse a bundle with any missing or altered file, and exit 1 when a "
                        "mode failed")
    o.add_argument("--gate", action="store_true",
                   help="apply the thresholds stored in the bundle; exit 1 when one fails")
    o.add_argument("--config", metavar="PATH", default=None,
                   help="with --gate: apply this project config's thresholds instead of the "
                        "bundle's (tflbench.toml, pyproject.toml with [tool.tflbench], or a "
                        "directory holding one)")
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


#: Columns left out first (last ones first) when the console is too narrow for a table.
DROP_ORDER = ("host p50", "e2e p50", "p90", "1st µs", "init ms")
#: The RSS growth cell when VmRSS did not grow (see :data:`RSS_NOTE`).
NO_GROWTH = "—"
RSS_NOTE = ("RSS kB: growth of the resident set ({source}) over load, tensor allocation and the "
            "first invoke. {dash} = no growth seen: RSS counts whole pages and reuses memory "
            "freed by the modes measured before, so a small model can load without raising it.")


def _fit(headers: list[str], rows: list[list[str]], width: int) -> tuple[list[int], list[str]]:
    """Indices of the columns that fit ``width`` (dropping :data:`DROP_ORDER` first) and the
    names of the columns left out."""
    keep = list(range(len(headers)))
    hidden: list[str] = []

    def need() -> int:
        # content, one space of padding each side and one separator between columns
        return sum(max([len(headers[i])] + [len(r[i]) for r in rows]) + 3 for i in keep) - 3

    for name in DROP_ORDER:
        if need() <= width:
            break
        if name in headers and headers.index(name) in keep:
            keep.remove(headers.index(name))
            hidden.append(name)
    return keep, hidden


def _table(title: str | None, headers: list[str], rows: list[list[str]], keep: list[int],
           left: int = 1) -> Any:
    """A rich table of ``rows`` (plain text cells) with the columns ``keep``; the first
    ``left`` columns are keys: left-aligned and never wrapped or cut."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
              pad_edge=False, show_edge=False)
    for i in keep:
        if i < left:
            t.add_column(headers[i], justify="left", no_wrap=True,
                         min_width=max([len(headers[i])] + [len(r[i]) for r in rows]))
        else:
            t.add_column(headers[i], justify="right", no_wrap=True)
    for r in rows:
        t.add_row(*[Text(r[i], style="red" if r[i].startswith("failed") else "") for i in keep])
    return t


def summary_rows(model: dict[str, Any], host: dict[tuple[str, str], dict[str, Any]]
                 ) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of one model's main table: quality, latency (µs), init and memory."""
    headers = ["mode", "agree", "acc (Δ)", "p50", "p90", "e2e p50", "host p50", "init ms",
               "1st µs", "RSS kB"]
    rows = []
    for r in model["modes"]:
        if r["status"] != "ok":
            rows.append([r["mode"], "failed", f"({r['stage']})"] + [""] * (len(headers) - 3))
            continue
        a, acc, lat = r.get("agreement") or {}, r.get("accuracy") or {}, r["latency"] or {}
        e2e = r.get("latency_e2e") or {}
        rss = (r.get("memory") or {}).get("rss_total_kb")
        h = host.get((model["name"], r["mode"])) or {}
        accuracy = _fmt(acc.get("accuracy"), ".3f")
        if acc.get("accuracy_delta") is not None:
            accuracy += f" ({acc['accuracy_delta']:+.3f})"
        rows.append([
            r["mode"], _fmt(a.get("top1"), ".3f"), accuracy, _fmt(lat.get("median")),
            _fmt(lat.get("p90")), _fmt(e2e.get("median")), _fmt(h.get("latency_median_us")),
            _fmt(None if lat.get("init_us") is None else lat["init_us"] / 1000, ".2f"),
            _fmt(lat.get("first_invoke_us")),
            NO_GROWTH if isinstance(rss, int) and rss <= 0 else _fmt(rss, "d"),
        ])
    return headers, rows


def summary_tables(doc: dict[str, Any], host: dict[tuple[str, str], dict[str, Any]],
                   width: int = 120) -> tuple[list[tuple[str, Any]], list[str]]:
    """``(heading, table)`` per model: the main table fitting ``width`` columns; and the
    columns left out."""
    hidden: list[str] = []
    tables = []
    for m in doc["models"]:
        headers, rows = summary_rows(m, host)
        if not rows:
            continue
        keep, dropped = _fit(headers, rows, width)
        hidden += [h for h in dropped if h not in hidden]
        tables.append((m["name"], _table(None, headers, rows, keep)))
    return tables, hidden


def settings_line(doc: dict[str, Any]) -> str:
    s = doc["settings"]
    return (f"tflbench measure on {doc['device']}: {s['num_threads']} thread(s), "
            f"XNNPACK {'on' if s['xnnpack'] else 'off'}, latency in µs")


def sweep_tables(doc: dict[str, Any], width: int = 120) -> list[tuple[str, Any]]:
    """``(heading, table)`` per model: median (p90) ``invoke()`` µs for every thread count
    swept (rows) with XNNPACK on and/or off (columns)."""
    tables = []
    for m in doc["models"]:
        states: list[bool] = []
        rows: list[list[str]] = []
        by_mode = []
        for r in m["modes"]:
            cells = {(row.get("threads"), bool(row.get("xnnpack"))): row
                     for row in r.get("latency_sweep") or []}
            if cells:
                by_mode.append((r["mode"], cells))
                for _, x in cells:
                    if x not in states:
                        states.append(x)
        if not by_mode:
            continue
        states.sort(reverse=True)
        headers = ["mode", "threads"] + ["XNNPACK" if x else "no XNNPACK" for x in states]
        for mode, cells in by_mode:
            for threads in sorted({t for t, _ in cells}):
                row = [mode, str(threads)]
                for x in states:
                    c = cells.get((threads, x))
                    if c is None:
                        row.append("")
                    elif c.get("error"):
                        row.append("failed")
                    else:
                        row.append(f"{c['median']:.1f} ({c['p90']:.1f})")
                rows.append(row)
        keep, _ = _fit(headers, rows, width)
        tables.append((f"{m['name']} · latency sweep: median invoke() µs (p90)",
                       _table(None, headers, rows, keep, left=2)))
    return tables


def failure_lines(doc: dict[str, Any], problems: list[str]) -> list[str]:
    """One line per failed mode, then the bundle problems no failed mode already names."""
    lines = []
    errors = []
    for m in doc["models"]:
        for r in m["modes"]:
            if r["status"] != "ok":
                errors.append(str(r.get("error") or ""))
                lines.append(f"✗ {m['name']}/{r['mode']} ({r['stage']}): {r['error']}")
    lines += [f"bundle problem: {p}" for p in problems if not any(p in e for e in errors)]
    return lines


def main(args: argparse.Namespace) -> int:
    from rich.text import Text

    from tflbench.bundle import read_bundle
    from tflbench.errors import ConfigError
    from tflbench.measure import measure_bundle, parse_threads
    from tflbench.reports.terminal import make_console
    from tflbench.results import save

    console = make_console(piped_width=120)
    err = make_console(stderr=True)
    if args.num_threads is not None and args.num_threads < 1:
        raise ConfigError(f"--num-threads must be a positive integer. Received: "
                          f"{args.num_threads}.")
    project = _gate_config(args)
    sweep = parse_threads(args.threads)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()] if args.modes else None
    with read_bundle(args.bundle, strict=args.strict) as bundle:
        settings = latency_settings(args, (bundle.manifest.get("settings") or {}).get("latency"))
        progress = None if args.quiet else (lambda msg: err.print(Text(msg, style="dim")))
        doc = measure_bundle(
            bundle, num_threads=args.num_threads, xnnpack=not args.no_xnnpack,
            threads_sweep=sweep, sweep=sweep != [], xnnpack_sweep=args.xnnpack_sweep,
            latency=settings, e2e=not args.no_e2e, device=args.device, backend=args.backend,
            modes=modes, progress=progress, isolate=not args.no_isolate,
            mode_timeout=args.mode_timeout,
        )
        host = {(m["name"], md["mode"]): md.get("host") or {}
                for m in bundle.manifest["models"] for md in m["modes"]}
        gate_lines = _gates(doc, bundle.manifest.get("thresholds"), project) if args.gate else []
        has_host_results = bundle.host_results is not None
        problems = list(bundle.problems)
    console.print(Text(settings_line(doc), style="bold"))
    tables, hidden = summary_tables(doc, host, width=console.width)
    for heading, table in tables:
        console.print(Text(heading, style="bold"))
        console.print(table)
    rss = [r.get("memory") or {} for m in doc["models"] for r in m["modes"]]
    if any(x.get("rss_total_kb") is not None and x["rss_total_kb"] <= 0 for x in rss):
        source = next((x.get("source") for x in rss if x.get("source")), "VmRSS")
        console.print(Text(RSS_NOTE.format(source=source, dash=NO_GROWTH), style="dim"))
    if hidden:
        console.print(Text(f"(not shown to fit {console.width} columns: {', '.join(hidden)}; "
                           "widen the terminal or read the results JSON)", style="dim"))
    for heading, table in sweep_tables(doc, width=console.width):
        console.print(Text(heading, style="bold"))
        console.print(table)
    for line in failure_lines(doc, problems):
        console.print(Text(line, style="red" if line.startswith("✗") else "yellow"))
    path = save(doc, args.out)
    console.print(f"results: {path}", soft_wrap=True)
    if has_host_results:
        console.print(f"merge with the host: tflbench report {args.bundle} {path}",
                      soft_wrap=True)
    for line in gate_lines:
        console.print(Text("gate failed: ", style="red") + Text(line))
    failed = any(r["status"] != "ok" for m in doc["models"] for r in m["modes"])
    return 1 if gate_lines or (args.strict and failed) else 0


def _gate_config(args: argparse.Namespace) -> Any:
    """The project config of ``--config`` (found as every command finds it), or None: the
    bundle's stored limits are the default of ``--gate``."""
    from tflbench.config import discover_project
    from tflbench.errors import ConfigError

    if args.config is None:
        return None
    if not args.gate:
        raise ConfigError(f"--config gives the thresholds --gate applies; add --gate or drop "
                          f"--config. Received: --config {args.config!r} without --gate.")
    return discover_project(args.config)[0]


def _gates(doc: dict[str, Any], stored: dict[str, Any] | None, project: Any = None
           ) -> list[str]:
    """Evaluate the bundle's stored limits (or ``project``'s thresholds, when given) on the
    device results (:func:`tflbench.verdict.apply_verdict`); returns the failure lines."""
    from tflbench import gates
    from tflbench.verdict import apply_verdict

    if project is not None:
        return list(apply_verdict(doc, project.thresholds, targets=project.targets).failures)
    if not stored:
        return ["the bundle holds no thresholds (re-create it with 'tflbench bundle')"]
    per_model_mode = {(model, mode): limits for model, by_mode in stored.items()
                      for mode, limits in (by_mode or {}).items()}
    thresholds = gates.Thresholds(per_model_mode=per_model_mode, use_defaults=False)
    return list(apply_verdict(doc, thresholds).failures)
