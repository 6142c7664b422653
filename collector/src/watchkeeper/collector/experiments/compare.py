"""A candidate's results against a baseline's: per metric, a paired bootstrap interval.

Cases are paired by id. For each metric both results carry, the difference of means
(candidate - baseline) gets a percentile interval from resampling the paired cases
(``resamples`` times, seeded: the same files give the same interval). A metric
**regressed** when the whole interval lies on the worse side of ``-tolerance``: the drop
is both larger than the tolerance and more than noise among these cases. It **improved**
when the whole interval lies on the better side of zero. Otherwise it shows **no
difference** when the whole interval lies above ``-tolerance``, and **no detectable
difference** when it reaches below: more cases are needed to tell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from watchkeeper.collector.experiments.results import CaseResult

#: Metrics where a lower value is better; for all others a higher value is.
LOWER_IS_BETTER = frozenset({"refusal", "safety", "bad_output", "latency_s"})

#: The metrics compared when none are named, and the drop each tolerates.
DEFAULT_TOLERANCES: Mapping[str, float] = {
    "success": 0.0,
    "exact_match": 0.01,
    "normalized_match": 0.01,
    "token_f1": 0.01,
    "judge_correctness": 0.01,
    "faithfulness": 0.01,
    "refusal": 0.01,
    "safety": 0.0,
    "bad_output": 0.01,
}


@dataclass(frozen=True)
class MetricComparison:
    """One metric's verdict."""

    metric: str
    pairs: int
    baseline: float
    candidate: float
    delta: float
    low: float
    high: float
    tolerance: float
    #: "regressed", "improved", "no difference" (within the tolerance), "no detectable
    #: difference" (a drop beyond it is possible, but not shown by these cases), "too few
    #: cases".
    verdict: str

    @property
    def regressed(self) -> bool:
        """Whether this metric fails the gate."""
        return self.verdict == "regressed"


@dataclass(frozen=True)
class CaseRegression:
    """How much worse one case got, summed over the compared metrics."""

    case_id: str
    drop: float
    drops: dict[str, float]
    candidate_error: str | None


def compare(
    baseline: Sequence[CaseResult],
    candidate: Sequence[CaseResult],
    tolerances: Mapping[str, float] = DEFAULT_TOLERANCES,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> list[MetricComparison]:
    """Every metric of ``tolerances`` that paired cases carry, compared."""
    pairs = _paired(baseline, candidate)
    compared = []
    for metric, tolerance in tolerances.items():
        both = [(b.metrics[metric], c.metrics[metric]) for b, c in pairs if _has(b, c, metric)]
        if both:
            compared.append(
                _compare_metric(
                    metric,
                    both=both,
                    tolerance=tolerance,
                    confidence=confidence,
                    resamples=resamples,
                    seed=seed,
                )
            )
    return compared


def _compare_metric(
    metric: str,
    *,
    both: list[tuple[float, float]],
    tolerance: float,
    confidence: float,
    resamples: int,
    seed: int,
) -> MetricComparison:
    values = np.asarray(both, dtype=float)
    diffs = values[:, 1] - values[:, 0]
    low, high = bootstrap_interval(diffs, confidence, resamples, seed)
    # Orient so that negative is worse.
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    best_end = max(sign * low, sign * high)
    worst_end = min(sign * low, sign * high)
    if len(both) < 2:
        verdict = "too few cases"
    elif best_end < -tolerance:
        verdict = "regressed"
    elif worst_end > 0:
        verdict = "improved"
    elif worst_end >= -tolerance:
        verdict = "no difference"
    else:
        # The drop may be beyond the tolerance, but these cases cannot tell it from noise.
        verdict = "no detectable difference"
    return MetricComparison(
        metric=metric,
        pairs=len(both),
        baseline=float(values[:, 0].mean()),
        candidate=float(values[:, 1].mean()),
        delta=float(diffs.mean()),
        low=low,
        high=high,
        tolerance=tolerance,
        verdict=verdict,
    )


def bootstrap_interval(
    diffs: np.ndarray, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of the mean of ``diffs`` over resampled cases.

    >>> bootstrap_interval(np.zeros(10))
    (0.0, 0.0)
    """
    count = len(diffs)
    if count == 0:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    step = max(1, 2_000_000 // count)  # bound the index matrix to a few million entries
    for start in range(0, resamples, step):
        stop = min(resamples, start + step)
        picks = rng.integers(0, count, size=(stop - start, count))
        means[start:stop] = diffs[picks].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return round(float(low), 6), round(float(high), 6)


def worst_cases(
    baseline: Sequence[CaseResult],
    candidate: Sequence[CaseResult],
    metrics: Sequence[str],
    limit: int = 5,
) -> list[CaseRegression]:
    """The cases whose compared metrics dropped most (only cases that got worse)."""
    found = []
    for base, cand in _paired(baseline, candidate):
        drops = {}
        for metric in metrics:
            if _has(base, cand, metric):
                change = cand.metrics[metric] - base.metrics[metric]
                drop = change if metric in LOWER_IS_BETTER else -change
                if drop > 0:
                    drops[metric] = round(drop, 6)
        if drops:
            found.append(CaseRegression(base.case_id, sum(drops.values()), drops, cand.error))
    found.sort(key=lambda r: (-r.drop, r.case_id))
    return found[:limit]


def _paired(
    baseline: Sequence[CaseResult], candidate: Sequence[CaseResult]
) -> list[tuple[CaseResult, CaseResult]]:
    by_id = {result.case_id: result for result in baseline}
    return [(by_id[c.case_id], c) for c in candidate if c.case_id in by_id]


def _has(base: CaseResult, cand: CaseResult, metric: str) -> bool:
    return metric in base.metrics and metric in cand.metrics
