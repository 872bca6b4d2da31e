"""Fuzzing the data-spec parser: random and mutated spec strings and dicts, and keyword
arguments, end in a parsed spec or one clear :class:`ConfigError`, never another exception.
Nothing is loaded: only :func:`parse_spec` and :func:`resolve_request` run."""

from __future__ import annotations

import json
import reprlib
from typing import Any

import pytest
from fuzz_helpers import (
    NASTY_VALUES,
    Failures,
    Tally,
    all_paths,
    deep,
    fuzz_settings,
    json_values,
    materialize,
    mutate_text,
    mutated,
    nasty_numbers,
    nasty_strings,
    outcome,
    run_property,
    set_path,
    sweep_values,
)
from hypothesis import given
from hypothesis import strategies as st

from tflbench.data.sources import _DICT_KEYS, OPTION_KEYS, parse_spec, resolve_request

pytestmark = pytest.mark.xdist_group("parsers")

VALID_STRINGS = [
    "digits", "digits?fractions=0.8/0.1/0.1&seed=3&size=16", "npz:/data/set.npz?size=32x24",
    "folder:/data/flowers?size=224&preprocess=mobilenet_v2&fractions=0.9/0.1&color=rgb",
    "tfds:fashion_mnist?split=train[:80%],train[80%:]&data_dir=/data/tfds&download=false",
    "keras:cifar10?size=32&color=grayscale&preprocess=unit", "/data/x.npz",
    "tfds:mnist?fractions=all",
]
VALID_DICTS: list[dict[str, Any]] = [
    {"kind": "tfds", "name": "fashion_mnist", "splits": ["train", "test"],
     "data_dir": "/data/tfds", "download": False, "seed": 7, "size": [28, 28],
     "color": "grayscale", "preprocessing": "unit"},
    {"kind": "folder", "path": "/data/flowers", "fractions": [0.8, 0.1, 0.1], "input_size": 224,
     "preprocess": {"scale": 0.5}},
    {"kind": "digits", "fractions": "0.9/0.1", "seed": 1},
]

@st.composite
def _mutated_strings(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID_STRINGS)).encode()
    return mutate_text(text, draw).decode("utf-8", errors="replace")


_option = st.builds(lambda k, v: f"{k}={v}", st.sampled_from(OPTION_KEYS) | nasty_strings,
                    nasty_strings | nasty_numbers.map(str))
_spec_strings = st.one_of(
    st.builds(lambda kind, target, opts: f"{kind}{target}?{'&'.join(opts)}",
              st.sampled_from(["digits", "npz:", "folder:", "tfds:", "keras:", "", "NPZ:"]),
              nasty_strings, st.lists(_option, max_size=4)),
    _mutated_strings(),
    nasty_strings,
)
_spec_dicts = st.one_of(
    st.sampled_from(VALID_DICTS).flatmap(mutated),
    st.dictionaries(st.sampled_from(sorted(_DICT_KEYS)), json_values, max_size=5),
)
#: Keyword arguments of the types the signature declares, with unexpected values.
_kwargs = st.fixed_dictionaries({}, optional={
    "seed": st.integers() | st.sampled_from([2**64, -(2**70)]),
    "fractions": st.lists(nasty_numbers | st.floats(), max_size=4) | nasty_strings
    | st.sampled_from(["0.8/0.1/0.1", "all", "0.9,0.1"]),
    "preprocessing": nasty_strings | st.dictionaries(nasty_strings, json_values, max_size=3)
    | st.sampled_from(["unit", "raw", "mobilenet_v2", {"scale": 2.0}, {"color": "rgb"}]),
    "data_dir": nasty_strings,
    "input_size": json_values | st.sampled_from([224, [32, 24], "16x16"]),
})


def test_data_spec_strings() -> None:
    tally = Tally("data-spec-strings")

    @fuzz_settings()
    @given(spec=_spec_strings)
    def prop(spec: str) -> None:
        parsed = outcome(tally, lambda: parse_spec(spec))
        if parsed is not None:  # error messages show a parsed spec as text
            assert isinstance(parsed.to_string(), str)

    run_property(prop, tally, share=0.025)


def test_data_spec_dicts_and_other_values() -> None:
    tally = Tally("data-spec-dicts")

    @fuzz_settings()
    @given(spec=_spec_dicts | json_values)
    def prop(spec: Any) -> None:
        spec = materialize(spec)
        outcome(tally, lambda: parse_spec(spec))

    run_property(prop, tally, share=0.025)


def test_data_spec_resolve_request() -> None:
    tally = Tally("data-spec-request")

    @fuzz_settings()
    @given(spec=st.sampled_from(VALID_STRINGS + VALID_DICTS) | _spec_strings, kwargs=_kwargs)
    def prop(spec: Any, kwargs: dict[str, Any]) -> None:
        outcome(tally, lambda: resolve_request(spec, **kwargs))

    run_property(prop, tally, share=0.035)


def test_every_nasty_value_at_every_path_of_a_spec_dict() -> None:
    tally = Tally("data-spec-every-path")
    failures = Failures()
    for base in VALID_DICTS:
        for i, path in enumerate(all_paths(base)):
            for value in [*sweep_values(i, NASTY_VALUES, per_path=10), deep(5000),
                          deep(5000, kind="dict")]:
                spec = json.loads(json.dumps(base))
                set_path(spec, path, value)
                failures.run(tally, lambda spec=spec: resolve_request(spec),
                             f"{path}={reprlib.repr(value)}")
    tally.write()
    failures.check()
