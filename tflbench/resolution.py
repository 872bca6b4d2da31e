"""Resolution: is the evaluation set large enough to resolve a threshold at all?

A gate on 98 samples can neither see a 1 pp drop nor tell it from noise. For every (model,
threshold) whose 95% interval is wider than the threshold, one warning line names the model,
the threshold, the modes and about how many samples would resolve it at the measured rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tflbench.records import ResultsDocument, iter_mode_records

if TYPE_CHECKING:
    from tflbench.gates import Thresholds


def _scaled_half_width(table: Any, n: int) -> float:
    """Half-width of the Newcombe interval for ``table``'s rates at ``n`` samples."""
    from tflbench import stats

    f = n / table.n
    t = stats.PairedTable(*(int(round(v * f)) for v in (table.a, table.b, table.c, table.d)))
    lo, hi = stats.paired_difference_interval(t)
    return (hi - lo) / 2.0


def _paired_needed(table: Any, limit: float, cap: int = 10_000_000) -> int | None:
    """Smallest ``n`` at which the paired interval at ``table``'s rates is at most ``limit``
    wide on each side (``None`` beyond ``cap``)."""
    lo, hi = table.n, cap
    if _scaled_half_width(table, hi) > limit:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if _scaled_half_width(table, mid) <= limit:
            hi = mid
        else:
            lo = mid + 1
    return lo


def resolution_warnings(doc: ResultsDocument | Mapping[str, Any],
                        thresholds: Thresholds) -> list[str]:
    """One line per (model, threshold) whose evaluation set is too small to resolve it: the
    95% interval's half-width is larger than the threshold (``max_accuracy_drop``: the paired
    interval of the change; ``min_top1_agreement``: the Wilson interval against ``1 - limit``).
    Each line names the model, the threshold, the modes and the samples needed at the
    measured rates (docs/metrics-and-timing.md, "Resolution")."""
    from tflbench import stats

    worst: dict[tuple[str, str, float], tuple[int | None, float, list[str], int]] = {}
    for model, rec in iter_mode_records(doc):
        limits = thresholds.limits(model.name, rec.mode)
        acc, agr = rec.accuracy, rec.agreement
        if acc is not None and acc.delta_ci95 and limits.max_accuracy_drop and \
                acc.lost is not None and acc.gained is not None and agr is not None:
            half = (acc.delta_ci95[1] - acc.delta_ci95[0]) / 2.0
            limit = limits.max_accuracy_drop
            if half > limit:
                n = agr.n
                ref_right = int(round(((model.keras.accuracy if model.keras else acc.accuracy))
                                      * n))
                a = max(ref_right - acc.lost, 0)
                table = stats.PairedTable(a, acc.lost, acc.gained,
                                          max(n - a - acc.lost - acc.gained, 0))
                need = _paired_needed(table, limit)
                _keep(worst, (model.name, "max_accuracy_drop", limit), need, half, rec.mode, n)
        if agr is not None and agr.top1_ci95 and limits.min_top1_agreement:
            limit = 1.0 - limits.min_top1_agreement
            half = (agr.top1_ci95[1] - agr.top1_ci95[0]) / 2.0
            if limit > 0 and half > limit:
                need = stats.samples_needed(limit, p=limits.min_top1_agreement)
                _keep(worst, (model.name, "min_top1_agreement", limits.min_top1_agreement),
                      need, half, rec.mode, agr.n)
    lines = []
    for (model_name, name, limit), (need, half, modes, n) in worst.items():
        shown = f"{limit:.4g}" if name == "min_top1_agreement" else f"{limit * 100:.3g} pp"
        needs = f"about {need:,} samples" if need else "more than 10,000,000 samples"
        lines.append(f"{model_name}: {n:,} evaluated samples cannot resolve {name} {shown} "
                     f"({', '.join(modes)}): the 95% interval is ±{half * 100:.2g} pp; "
                     f"{needs} would at the measured rates.")
    return lines


def _keep(worst: dict[Any, Any], key: tuple[str, str, float], need: int | None, half: float,
          mode: str, n: int) -> None:
    old = worst.get(key)
    if old is None:
        worst[key] = (need, half, [mode], n)
        return
    old_need, old_half, modes, old_n = old
    bigger = need is None or (old_need is not None and need > old_need)
    worst[key] = (need if bigger else old_need, max(half, old_half), [*modes, mode], old_n)
