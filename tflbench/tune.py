"""A tuner that meets the gate: keep the most harmful layers in float until every accuracy gate
passes.

Layers are kept float greedily (:mod:`tflbench.diagnose` gives the attribution order): step 0
is the base mode, and each step adds one layer and is re-evaluated like any mode (agreement and
accuracy with their intervals, size, latency). Two searches:

* ``order``: step ``k`` keeps the first ``k`` layers of the attribution order float (one
  evaluation a step);
* ``forward``: each step tries the next ``width`` layers of that order not yet float, each added
  to the current set, and keeps the one that agrees best (``width`` evaluations a step). Layers
  interact, so the single-layer attribution does not predict the best second layer well.
 The loop stops at the first
step that passes every accuracy gate, or when a size or latency limit is exceeded, the budget of
steps is spent, or no layer is left (:func:`stop_reason`, a pure function). The winner is saved
as a recipe file (:mod:`tflbench.quant_recipe`) so CI converts exactly that configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tflbench.gates import Limits, check_record
from tflbench.records import ModeRecord

#: Checks that are not about accuracy: they bound the search instead of ending it.
RESOURCE_CHECKS = frozenset({"require_conversion", "max_size_bytes", "max_size_ratio",
                             "max_latency_p90_us"})

PASSED, SIZE, LATENCY, BUDGET, EXHAUSTED, FAILED = (
    "passed", "size limit", "latency limit", "step budget", "no layer left", "step failed")


@dataclass(frozen=True)
class TuneStep:
    """One evaluated configuration: the layers kept float and what was measured."""

    float_layers: tuple[str, ...]
    agreement: float | None = None
    agreement_ci: tuple[float, float] | None = None
    accuracy: float | None = None
    accuracy_ci: tuple[float, float] | None = None
    accuracy_drop: float | None = None
    n: int | None = None
    size_bytes: int | None = None
    latency_p90_us: float | None = None
    #: One line per failed accuracy gate (empty: every accuracy gate passed).
    failures: tuple[str, ...] = ()
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {"float_layers": list(self.float_layers), "agreement": self.agreement,
                "agreement_ci": list(self.agreement_ci) if self.agreement_ci else None,
                "accuracy": self.accuracy,
                "accuracy_ci": list(self.accuracy_ci) if self.accuracy_ci else None,
                "accuracy_drop": self.accuracy_drop, "n": self.n,
                "size_bytes": self.size_bytes, "latency_p90_us": self.latency_p90_us,
                "passed": self.passed, "failures": list(self.failures), "error": self.error}


@dataclass(frozen=True)
class Budget:
    """Where the search stops besides success: steps, and size/latency limits."""

    max_steps: int = 10
    max_size_bytes: int | None = None
    max_latency_p90_us: float | None = None

    def __post_init__(self) -> None:
        if self.max_steps < 1:
            raise ValueError(f"expected max_steps >= 1. Received: max_steps={self.max_steps}")


@dataclass(frozen=True)
class TuneResult:
    """The path and where it stopped; truthy when a step passed every accuracy gate."""

    base: str
    steps: tuple[TuneStep, ...]
    stopped: str
    order: tuple[str, ...] = ()
    limits: dict[str, Any] = field(default_factory=dict)
    search: str = "order"
    #: Every configuration evaluated (``forward`` tries several per step), in order.
    trials: int = 0

    def __bool__(self) -> bool:
        return self.stopped == PASSED

    @property
    def winner(self) -> TuneStep | None:
        return self.steps[-1] if self and self.steps else None

    @property
    def float_layers(self) -> tuple[str, ...]:
        w = self.winner
        return w.float_layers if w else ()

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "stopped": self.stopped, "passed": bool(self),
                "float_layers": list(self.float_layers), "order": list(self.order),
                "limits": dict(self.limits), "search": self.search,
                "trials": self.trials or len(self.steps),
                "path": [s.to_dict() for s in self.steps]}


def stop_reason(steps: Sequence[TuneStep], candidates_left: int, budget: Budget) -> str | None:
    """Why the search stops after ``steps`` (``None``: go on). Success wins over the limits;
    a limit exceeded by the last step stops the search (keeping more layers float only grows
    the file and, usually, the latency)."""
    if not steps:
        return None
    last = steps[-1]
    if last.error is not None:
        return FAILED
    if last.passed:
        return PASSED
    if budget.max_size_bytes is not None and last.size_bytes is not None \
            and last.size_bytes > budget.max_size_bytes:
        return SIZE
    if budget.max_latency_p90_us is not None and last.latency_p90_us is not None \
            and last.latency_p90_us > budget.max_latency_p90_us:
        return LATENCY
    if len(steps) >= budget.max_steps:
        return BUDGET
    if candidates_left <= 0:
        return EXHAUSTED
    return None


def tune(evaluate: Callable[[tuple[str, ...]], TuneStep], order: Sequence[str], budget: Budget,
         *, base: str = "", limits: dict[str, Any] | None = None,
         progress: Callable[[TuneStep], None] | None = None) -> TuneResult:
    """Grow the float set greedily in ``order``; ``evaluate(float_layers)`` measures a step."""
    steps: list[TuneStep] = []
    order = list(dict.fromkeys(order))
    k = 0
    while True:
        step = evaluate(tuple(order[:k]))
        steps.append(step)
        if progress:
            progress(step)
        reason = stop_reason(steps, len(order) - k, budget)
        if reason is not None:
            return TuneResult(base=base, steps=tuple(steps), stopped=reason, order=tuple(order),
                              limits=dict(limits or {}))
        k += 1


def _score(step: TuneStep) -> tuple[int, int, float, float]:
    """Best first: passing, built, then higher agreement, then smaller file."""
    return (int(step.passed), int(step.error is None),
            step.agreement if step.agreement is not None else -1.0,
            -float(step.size_bytes or 0))


def tune_forward(evaluate: Callable[[tuple[str, ...]], TuneStep], order: Sequence[str],
                 budget: Budget, *, width: int = 4, base: str = "",
                 limits: dict[str, Any] | None = None,
                 progress: Callable[[TuneStep], None] | None = None) -> TuneResult:
    """Forward selection: each step evaluates the current float set plus each of the next
    ``width`` candidates of ``order`` and keeps the best (:func:`_score`); the path holds the
    kept steps and stops by :func:`stop_reason` like :func:`tune`."""
    if width < 1:
        raise ValueError(f"expected width >= 1. Received: width={width}")
    left = list(dict.fromkeys(order))
    steps = [evaluate(())]
    trials = 1
    if progress:
        progress(steps[0])
    while (reason := stop_reason(steps, len(left), budget)) is None:
        current = steps[-1].float_layers
        tried = [evaluate((*current, layer)) for layer in left[:width]]
        trials += len(tried)
        best = max(range(len(tried)), key=lambda i: _score(tried[i]))
        left.pop(best)
        steps.append(tried[best])
        if progress:
            progress(tried[best])
    return TuneResult(base=base, steps=tuple(steps), stopped=reason,
                      order=tuple(dict.fromkeys(order)), limits=dict(limits or {}),
                      search="forward", trials=trials)


def step_from_record(float_layers: tuple[str, ...], rec: ModeRecord, model: str,
                     limits: Limits) -> TuneStep:
    """A step's figures from an evaluated mode record, gated by the accuracy checks of
    ``limits`` (size and latency bound the search instead: :class:`Budget`)."""
    if not rec.ok:
        return TuneStep(float_layers=float_layers, error=rec.error or "failed")
    failures = tuple(c.line for c in check_record(model, rec, limits)
                     if c.name not in RESOURCE_CHECKS and not c.passed)
    ag, acc = rec.agreement, rec.accuracy
    return TuneStep(
        float_layers=float_layers,
        agreement=ag.top1 if ag is not None else None,
        agreement_ci=_pair(ag.top1_ci95) if ag is not None else None,
        accuracy=acc.accuracy if acc is not None else None,
        accuracy_ci=_pair(acc.ci95) if acc is not None else None,
        accuracy_drop=-acc.accuracy_delta if acc is not None and acc.accuracy_delta is not None
        else None,
        n=ag.n if ag is not None else None,
        size_bytes=rec.file.size_bytes if rec.file else None,
        latency_p90_us=rec.latency.p90 if rec.latency else None,
        failures=failures)


def _pair(ci: list[float] | None) -> tuple[float, float] | None:
    return (float(ci[0]), float(ci[1])) if ci and len(ci) == 2 else None
