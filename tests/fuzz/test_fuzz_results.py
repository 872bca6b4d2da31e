"""Fuzzing the results reader: random values, mutated valid documents and damaged files end in a
validated document or one clear :class:`ResultsError`, never another exception."""

from __future__ import annotations

import json
import reprlib
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fuzz_helpers import (
    FIXTURE_BUNDLE,
    REPO,
    Failures,
    Tally,
    all_paths,
    deep,
    fuzz_settings,
    json_values,
    materialize,
    mutate_text,
    mutated,
    outcome,
    run_property,
    set_path,
    sweep_values,
)
from hypothesis import given
from hypothesis import strategies as st

from tflbench import results
from tflbench.records import ResultsDocument

pytestmark = pytest.mark.xdist_group("parsers")

HOST = json.loads((FIXTURE_BUNDLE / "host-results.json").read_text(encoding="utf-8"))
MERGED = json.loads((REPO / "tests" / "reports" / "golden" / "report.json").read_text(
    encoding="utf-8"))


def _shortened(value: Any, keep: int = 2) -> Any:
    """``value`` with every list cut to ``keep`` items: the same record types, fewer paths."""
    if isinstance(value, dict):
        return {k: _shortened(v, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [_shortened(v, keep) for v in value[:keep]]
    return value


#: One model, one mode record and short lists: every field type of a document, few paths.
SMALL = _shortened(HOST)
BASES = [SMALL, _shortened(MERGED, 3)]


def _read(doc: Any) -> None:
    """What a consumer does first: validate (parse into records) and write back."""
    parsed = results.parse(doc, source="fuzz.json")
    assert isinstance(parsed, ResultsDocument)
    parsed.to_dict()


def test_bases_are_valid() -> None:
    for doc in (HOST, MERGED, *BASES):
        _read(doc)


def test_results_random_values() -> None:
    tally = Tally("results-random")
    top = st.fixed_dictionaries({"schema": st.just("tflbench.results"),
                                 "schema_version": st.sampled_from([1, 2])},
                                optional={k: json_values for k in SMALL
                                          if not k.startswith("schema")})

    @fuzz_settings()
    @given(doc=json_values | top)
    def prop(doc: Any) -> None:
        outcome(tally, lambda: _read(doc))

    run_property(prop, tally, share=0.025)


def test_results_mutated_documents() -> None:
    tally = Tally("results-mutated")

    @fuzz_settings()
    @given(doc=st.sampled_from(BASES).flatmap(mutated))
    def prop(doc: Any) -> None:
        doc = materialize(doc)
        outcome(tally, lambda: _read(doc))

    run_property(prop, tally, share=0.045)


@st.composite
def _files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "nested"]))
    if kind == "nested":
        depth = draw(st.sampled_from([100, 1000, 100_000]))
        return ('{"schema": "tflbench.results", "schema_version": 2, "settings": '
                + "[" * depth + "]" * depth + "}").encode()
    if kind == "json":
        doc = materialize(draw(mutated(draw(st.sampled_from(BASES)))))
        try:
            return json.dumps(doc, allow_nan=True).encode()
        except RecursionError:
            return json.dumps(SMALL).encode()
    return mutate_text(json.dumps(draw(st.sampled_from(BASES)), indent=1).encode(), draw)


def test_results_load_damaged_files() -> None:
    tally = Tally("results-files")
    folder = Path(tempfile.mkdtemp(prefix="tflbench-fuzz-results-"))

    @fuzz_settings()
    @given(data=_files())
    def prop(data: bytes) -> None:
        path = folder / "results.json"
        path.write_bytes(data)
        doc = outcome(tally, lambda: results.load(path))
        if doc is not None:
            _read(doc)

    run_property(prop, tally, share=0.035)


#: Values tried at every path of :data:`SMALL`.
SWEEP_VALUES: list[Any] = [10**400, float("nan"), float("inf"), "\ud800", "a\x00", None, True,
                           [], {}, -1, 2**64]


def test_every_nasty_value_at_every_path() -> None:
    tally = Tally("results-every-path")
    failures = Failures()
    nested = [deep(5000), deep(5000, kind="dict")]
    for i, path in enumerate(all_paths(SMALL)):
        # Deep nesting costs a recursion overflow each: every 7th path is enough.
        for value in [*sweep_values(i, SWEEP_VALUES), *(nested if i % 7 == 0 else [])]:
            doc = json.loads(json.dumps(SMALL))
            set_path(doc, path, value)
            failures.run(tally, lambda doc=doc: _read(doc), f"{path}={reprlib.repr(value)}")
    tally.write()
    failures.check()
