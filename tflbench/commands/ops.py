"""``tflbench ops FILE|BUNDLE``: the ops and op versions of each model, and whether the target
runtimes load them (no TensorFlow needed)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

NAME = "ops"
HELP = ("List the ops and op versions of a .tflite file or of every mode of a bundle, and check "
        "them against the runtime releases a project targets (e.g. --targets "
        "'ai-edge-litert>=2.3' 'tflite-runtime==2.14'). Exit 1 when a mode will not load on a "
        "target. Without --targets, every release the runtime table covers is shown and "
        "nothing is gated.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", type=Path, nargs="+", metavar="FILE|BUNDLE",
                        help=".tflite file, bundle directory or bundle .zip")
    parser.add_argument("--targets", nargs="+", action="extend", default=[], metavar="TARGET",
                        help="runtime targets, e.g. 'tflite-runtime==2.14' "
                             "'ai-edge-litert>=2.3' (operators == >= <= > < ~=)")
    parser.add_argument("--xnnpack", action="store_true",
                        help="also load each model in the installed runtime and show which "
                             "nodes the XNNPACK delegate takes")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document instead of tables")


def _cell(release: Any, op: Any) -> str:
    if op.custom:
        return "custom"
    why = release.refusal(op.name, op.version)
    if why is None:
        return "ok"
    rng = release.supported_range(op.name)
    return "NO (absent)" if rng is None else f"NO (v{rng[0]}-v{rng[1]})"


def _table(title: str, ops: Any, releases: Any, delegation: Any) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
              pad_edge=False, show_edge=False)
    t.add_column("op", no_wrap=True, min_width=max([2] + [len(o.name) for o in ops]))
    t.add_column("version", justify="right", no_wrap=True)
    t.add_column("count", justify="right", no_wrap=True)
    if delegation is not None:
        t.add_column("XNNPACK", justify="right", no_wrap=True)
    for r in releases:
        t.add_column(r.label.replace(" ", "\n", 1), no_wrap=True)
    taken, left = (delegation.delegated, delegation.fallback) if delegation else ({}, {})
    for op in ops:
        row: list[Any] = [op.name, f"v{op.version}", str(op.count)]
        if delegation is not None:
            n = taken.get(op.name, 0)
            row.append(f"{n}/{n + left.get(op.name, 0)}" if delegation.known else "?")
        for r in releases:
            cell = _cell(r, op)
            row.append(Text(cell, style="red" if cell.startswith("NO") else ""))
        t.add_row(*row)
    return t


def main(args: argparse.Namespace) -> int:
    from tflbench.compat.check import _check, model_files, resolve_targets
    from tflbench.compat.flatbuffer import read_ops
    from tflbench.compat.runtimes import RELEASES
    from tflbench.errors import GateError, TflbenchError
    from tflbench.reports.terminal import make_console

    gated = bool(args.targets)
    resolved = resolve_targets(args.targets)
    releases = ([r for rt in resolved for r in rt.releases] if gated else list(RELEASES))
    releases = list(dict.fromkeys(releases))
    models: list[dict[str, Any]] = []
    for path in args.paths:
        with model_files(path) as files:
            for label, f in files:
                entry: dict[str, Any] = {"label": label}
                if isinstance(f, str):
                    entry["error"] = f
                    models.append(entry)
                    continue
                entry["file"] = str(f)
                entry["ops"] = read_ops(f)
                entry["result"] = _check(entry["ops"], resolved)
                if args.xnnpack:
                    from tflbench.compat.delegation import delegated_ops

                    try:
                        entry["delegation"] = delegated_ops(f)
                    except TflbenchError as exc:
                        entry["delegation_error"] = str(exc)
                models.append(entry)

    failures = [f"{m['label']}: {m['error']}" for m in models if "error" in m]
    failures += [f"{m['label']}: {p}" for m in models if "result" in m
                 for p in m["result"].problems]
    warnings = list(dict.fromkeys(w for m in models if "result" in m
                                  for w in m["result"].warnings))
    if args.json:
        doc = {
            "schema": "tflbench.ops", "schema_version": 1,
            "targets": [rt.text for rt in resolved],
            "releases": [r.label for r in releases],
            "models": [{
                "label": m["label"], "file": m.get("file"), "error": m.get("error"),
                "ops": [o.to_dict() for o in m["ops"].ops] if "ops" in m else [],
                "compatibility": m["result"].to_dict() if "result" in m else None,
                "delegation": m["delegation"].to_dict() if "delegation" in m else None,
            } for m in models],
            "failures": failures if gated else [],
            "warnings": warnings,
        }
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        console = make_console()
        for m in models:
            if "error" in m:
                console.print(f"[red]{m['label']}: {m['error']}[/red]", soft_wrap=True)
                continue
            d = m.get("delegation")
            console.print(_table(f"{m['label']}  ({m['file']})", m["ops"].ops, releases, d))
            if d is not None and not d.known:
                console.print(f"  XNNPACK: could not tell ({d.reason})", soft_wrap=True)
            elif d is not None:
                console.print(f"  XNNPACK ({d.runtime}): {d.partitions} partition(s); nodes "
                              "delegated/total per op", soft_wrap=True)
            if "delegation_error" in m:
                console.print(f"  XNNPACK: {m['delegation_error']}", soft_wrap=True)
        for w in warnings:
            console.print(f"[yellow]warning:[/yellow] {w}", soft_wrap=True)
        if not gated:
            console.print("No --targets: every runtime release the table covers is shown; "
                          "nothing is gated.", soft_wrap=True)
        elif not failures:
            console.print(f"Every mode loads on {', '.join(rt.text for rt in resolved)}.",
                          soft_wrap=True)
    if gated and failures:
        raise GateError(failures)
    return 0
