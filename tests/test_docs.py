"""The docs and the CLI agree: documented defaults and flags are checked against the code."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tflbench import gates
from tflbench.cli import build_parser
from tflbench.pipeline import RUN_LATENCY
from tflbench.timing import LatencySettings

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _text(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_threshold_table_lists_every_threshold() -> None:
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", _text("docs/gating.md"), re.M))
    assert set(gates.THRESHOLD_NAMES) <= documented


def test_documented_latency_defaults_match_the_code() -> None:
    text = " ".join(_text("docs/metrics-and-timing.md").split())
    d = LatencySettings()
    assert f"`warmup_runs` calls (default {d.warmup_runs})" in text
    assert f"`warmup_seconds` (default {d.warmup_seconds:g} s)" in text
    assert f"`min_runs` ({d.min_runs})" in text and f"`max_runs` ({d.max_runs})" in text
    assert f"`min_seconds` ({d.min_seconds:g} s of wall time)" in text
    assert f"`max_seconds` ({d.max_seconds:g} s)" in text
    r = RUN_LATENCY
    run_sentence = (f"{r.warmup_runs} warm-up runs and {r.warmup_seconds:g} s, then at least "
                    f"{r.min_runs} runs and {r.min_seconds:g} s, at most {r.max_runs} runs or "
                    f"{r.max_seconds:g} s")
    assert run_sentence in text
    gating = " ".join(_text("docs/gating.md").split())
    assert (f"{r.warmup_runs} warm-up runs and at least {r.warmup_seconds:g} s of warm-up, then "
            f"at least {r.min_runs} runs and {r.min_seconds:g} s, at most {r.max_runs} runs or "
            f"{r.max_seconds:g} s") in gating


def _options() -> dict[str, set[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return {name: {s for a in p._actions for s in a.option_strings}
            for name, p in sub.choices.items()}  # type: ignore[union-attr]


def _documented_commands() -> list[tuple[str, str, list[str]]]:
    found = []
    for path in DOCS:
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.search(r"(?:^|[\s`$])tflbench ([a-z]+)( [^`#|]*)?", line)
            if not m:
                continue
            try:
                words = shlex.split(m.group(2) or "")
            except ValueError:
                continue
            found.append((path.name, m.group(1), [w.split("=")[0] for w in words
                                                   if w.startswith("--")]))
    return found


def test_every_documented_flag_exists() -> None:
    options = _options()
    problems = []
    for doc, command, flags in _documented_commands():
        if command not in options or command == "test":  # `test` passes pytest's own flags on
            continue
        for flag in flags:
            if flag not in options[command]:
                problems.append(f"{doc}: tflbench {command} {flag}")
    assert not problems, "documented flags the CLI does not know:\n" + "\n".join(problems)


@pytest.mark.parametrize("command", ["run", "bundle"])
def test_threads_means_a_count_in_run_and_bundle(command: str) -> None:
    parser = build_parser()
    args = parser.parse_args([command, "--threads", "2"])
    assert args.threads == 2
