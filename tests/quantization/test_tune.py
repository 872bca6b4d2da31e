"""The tuner's stopping rules (tflbench.tune), on fake evaluations."""

from __future__ import annotations

import pytest

from tflbench.tune import (
    BUDGET,
    EXHAUSTED,
    FAILED,
    LATENCY,
    PASSED,
    SIZE,
    Budget,
    TuneStep,
    stop_reason,
    tune,
)

ORDER = ["bad", "worse", "meh", "fine"]


def fake(passing_at: int | None, *, size: int = 100, grow: int = 10, latency: float = 50.0,
         error_at: int | None = None):
    calls: list[tuple[str, ...]] = []

    def evaluate(layers: tuple[str, ...]) -> TuneStep:
        calls.append(layers)
        k = len(layers)
        if error_at is not None and k == error_at:
            return TuneStep(float_layers=layers, error="cannot build")
        ok = passing_at is not None and k >= passing_at
        return TuneStep(float_layers=layers, agreement=0.5 + 0.1 * k,
                        size_bytes=size + grow * k, latency_p90_us=latency + 5 * k,
                        failures=() if ok else ("agreement too low",))

    return evaluate, calls


def test_stops_at_the_first_step_that_passes():
    evaluate, calls = fake(passing_at=2)
    result = tune(evaluate, ORDER, Budget(max_steps=10), base="int8")
    assert result and result.stopped == PASSED
    assert calls == [(), ("bad",), ("bad", "worse")]
    assert result.float_layers == ("bad", "worse")
    assert result.to_dict()["path"][-1]["passed"] is True


def test_a_passing_base_keeps_nothing_float():
    evaluate, calls = fake(passing_at=0)
    result = tune(evaluate, ORDER, Budget())
    assert result and result.float_layers == () and calls == [()]


def test_the_size_limit_stops_the_search():
    evaluate, calls = fake(passing_at=None, size=100, grow=50)
    result = tune(evaluate, ORDER, Budget(max_size_bytes=180))
    assert not result and result.stopped == SIZE and len(calls) == 3  # 100, 150, 200 B
    assert result.winner is None and result.float_layers == ()


def test_the_latency_limit_stops_the_search():
    evaluate, calls = fake(passing_at=None, latency=50.0)
    result = tune(evaluate, ORDER, Budget(max_latency_p90_us=56.0))
    assert result.stopped == LATENCY and len(calls) == 3


def test_the_step_budget_stops_the_search():
    evaluate, calls = fake(passing_at=None)
    result = tune(evaluate, ORDER, Budget(max_steps=3))
    assert result.stopped == BUDGET and len(calls) == 3


def test_running_out_of_layers_stops_the_search():
    evaluate, calls = fake(passing_at=None)
    result = tune(evaluate, ORDER[:2], Budget(max_steps=10))
    assert result.stopped == EXHAUSTED and calls[-1] == ("bad", "worse")


def test_a_step_that_cannot_be_built_stops_and_says_so():
    evaluate, _ = fake(passing_at=3, error_at=1)
    result = tune(evaluate, ORDER, Budget())
    assert result.stopped == FAILED and result.steps[-1].error == "cannot build"


def test_success_wins_over_a_limit_reached_on_the_same_step():
    step = TuneStep(float_layers=("a",), size_bytes=10**9)
    assert stop_reason([step], 3, Budget(max_size_bytes=10)) == PASSED


def test_budget_needs_a_step():
    with pytest.raises(ValueError, match="Received: max_steps=0"):
        Budget(max_steps=0)


def interacting(passing: set[str]):
    """Layer ``b`` alone regains little, but with ``a`` it completes the fix: the fixed order
    would take ``c`` second."""
    gain = {"a": 0.10, "b": 0.02, "c": 0.05, "d": 0.01}
    calls: list[tuple[str, ...]] = []

    def evaluate(layers: tuple[str, ...]) -> TuneStep:
        calls.append(layers)
        agree = 0.80 + sum(gain[x] for x in layers) + (0.06 if {"a", "b"} <= set(layers) else 0)
        ok = set(layers) >= passing
        return TuneStep(float_layers=layers, agreement=agree, size_bytes=100 + 10 * len(layers),
                        failures=() if ok else ("agreement too low",))

    return evaluate, calls


def test_forward_selection_keeps_the_best_layer_of_each_step():
    from tflbench.tune import tune_forward

    evaluate, calls = interacting(passing={"a", "b"})
    result = tune_forward(evaluate, ["a", "c", "b", "d"], Budget(max_steps=10), width=3)
    assert result and result.float_layers == ("a", "b")
    assert result.search == "forward"
    # step 1 tries a, c, b; step 2 tries the current set plus c, b, d and keeps b
    assert calls == [(), ("a",), ("c",), ("b",), ("a", "c"), ("a", "b"), ("a", "d")]
    assert result.trials == len(calls) and result.to_dict()["trials"] == 7
    assert [s.float_layers for s in result.steps] == [(), ("a",), ("a", "b")]


def test_forward_selection_stops_by_the_same_rules():
    from tflbench.tune import tune_forward

    evaluate, calls = interacting(passing={"x"})  # never passes
    result = tune_forward(evaluate, ["a", "c", "b", "d"], Budget(max_steps=3), width=2)
    assert result.stopped == BUDGET and len(result.steps) == 3
    evaluate, _ = interacting(passing={"x"})
    result = tune_forward(evaluate, ["a", "b"], Budget(max_steps=10), width=5)
    assert result.stopped == EXHAUSTED and result.float_layers == ()
    with pytest.raises(ValueError, match="width"):
        tune_forward(evaluate, ["a"], Budget(), width=0)
