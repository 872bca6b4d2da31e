"""``tflbench measure`` output: tables that fit the console, keys in full, each problem once."""

from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tflbench.cli import main as cli_main
from tflbench.commands.measure import (
    NO_GROWTH,
    failure_lines,
    summary_rows,
    summary_tables,
    sweep_tables,
)
from tflbench.measure import measure_bundle
from tflbench.timing import LatencySettings

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "bundles" / "digits-mini"
FAST = LatencySettings(warmup_runs=1, warmup_seconds=0.0, min_runs=3, min_seconds=0.0,
                       max_runs=5, max_seconds=0.5)
QUICK = ["--threads", "1", "--min-runs", "3", "--min-seconds", "0", "--max-runs", "5",
         "--warmup-runs", "1", "--max-seconds", "0.5"]


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return measure_bundle(FIXTURE, latency=FAST, threads_sweep=[1, 2], xnnpack_sweep=True)


def _long_names(doc: dict[str, Any]) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    d["models"][0]["name"] = "digits-mobilenet-with-a-long-name"
    for r, mode in zip(d["models"][0]["modes"], ("int8-float-io", "int16x8", "dynamic"),
                       strict=False):
        r["mode"] = mode
    return d


def _table_lines(lines: list[str]) -> list[str]:
    """Lines other than the paths to copy (printed unwrapped, however long)."""
    return [line for line in lines if not line.startswith(("results: ", "merge with the host"))]


def _render(items: list[tuple[str, Any]], width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    for heading, table in items:
        console.print(heading)
        console.print(table)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return str(out)


@pytest.mark.parametrize("width", [72, 80, 120])
def test_tables_fit_the_width_and_keys_never_truncate(doc: dict[str, Any], width: int) -> None:
    d = _long_names(doc)
    tables, hidden = summary_tables(d, {}, width=width)
    text = _render(tables + sweep_tables(d, width=width), width)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    words = text.split()
    for mode in ("int8-float-io", "int16x8", "dynamic"):
        assert mode in words
    assert "digits-mobilenet-with-a-long-name" in words
    assert bool(hidden) == (width < 100)


def test_no_rss_growth_is_a_dash_not_zero(doc: dict[str, Any]) -> None:
    d = copy.deepcopy(doc)
    d["models"][0]["modes"][0]["memory"]["rss_total_kb"] = 0
    d["models"][0]["modes"][1]["memory"]["rss_total_kb"] = 120
    headers, rows = summary_rows(d["models"][0], {})
    rss = headers.index("RSS kB")
    assert rows[0][rss] == NO_GROWTH
    assert rows[1][rss] == "120"


def test_failure_lines_name_each_problem_once() -> None:
    d = {"models": [{"name": "m", "modes": [
        {"mode": "fp32", "status": "ok"},
        {"mode": "int8", "status": "failed", "stage": "load",
         "error": "bundle check failed: m/int8.tflite: altered"}]}]}
    lines = failure_lines(d, ["m/int8.tflite: altered", "README.txt: missing"])
    assert lines == ["✗ m/int8 (load): bundle check failed: m/int8.tflite: altered",
                     "bundle problem: README.txt: missing"]


def test_cli_reports_a_corrupt_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    bundle = tmp_path / "b"
    shutil.copytree(FIXTURE, bundle)
    (bundle / "digits-mini" / "dynamic.tflite").write_text("hello")
    rc = cli_main(["measure", str(bundle), "--out", str(tmp_path / "d.json"), *QUICK])
    captured = capsys.readouterr()
    assert rc == 0
    both = captured.out + captured.err
    assert both.count("dynamic.tflite") == 1, both
    assert "failed" in captured.out


def test_cli_piped_output_is_120_wide_without_columns(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert cli_main(["measure", str(FIXTURE), "--out", str(tmp_path / "d.json"), "--quiet",
                     *QUICK]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "host p50" in "\n".join(lines)
    assert max(len(line) for line in _table_lines(lines)) <= 120
    assert all(line == line.rstrip() for line in lines)


def test_cli_respects_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert cli_main(["measure", str(FIXTURE), "--out", str(tmp_path / "d.json"), "--quiet",
                     *QUICK]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in _table_lines(out.splitlines())) <= 80
    assert "not shown to fit 80 columns" in out
    assert "…" not in out


@pytest.mark.parametrize("kind", ["dir", "zip"])
def test_cli_merge_hint_can_be_followed(kind: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    if kind == "dir":
        shutil.copytree(FIXTURE, tmp_path / "bundle")
        bundle = "bundle"
    else:
        bundle = Path(shutil.make_archive("bundle", "zip", FIXTURE.parent, FIXTURE.name)).name
    assert cli_main(["measure", bundle, "--out", "device.json", "--quiet", *QUICK]) == 0
    hint = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith("merge with the host: ")]
    assert hint == [f"merge with the host: tflbench report {bundle} device.json"]
    command = hint[0].split("tflbench ", 1)[1].split()
    assert cli_main([*command, "-o", "merged.json"]) == 0
    merged = json.loads((tmp_path / "merged.json").read_text())
    assert len(merged["merged"]["sources"]) == 2
