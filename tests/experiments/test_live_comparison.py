"""The live comparison's error rates, measured over repeated simulated canary runs."""

from __future__ import annotations

import math
import random

from tests.experiments.canary_traffic import Scenario, simulate
from watchkeeper.collector.versions import (
    EQUIVALENT,
    IMPROVED,
    REGRESSED,
    UNDECIDED,
    MeanConfidenceSequence,
    VersionComparison,
)

ALPHA = 0.05


def test_an_identical_candidate_is_almost_never_called_different() -> None:
    """200 runs of 3,000 calls, verdict read after every call: the share of runs that
    ever decide "regressed" or "improved" stays within the advertised 5 %."""
    outcome = simulate(Scenario("same", 0.8, 0.8), runs=200, horizon=3000, alpha=ALPHA)
    assert outcome.any_decision_rate <= ALPHA


def test_a_faithfulness_drop_is_caught() -> None:
    """Mean faithfulness 0.80 -> 0.70 on half the traffic: caught in at least 95 % of
    100 runs within 3,000 calls, and never called an improvement."""
    outcome = simulate(Scenario("drop", 0.8, 0.7), runs=100, horizon=3000, alpha=ALPHA)
    assert outcome.regressed_rate >= 0.95
    assert outcome.improved == 0


def test_a_refusal_rise_on_a_canary_is_caught() -> None:
    """Refusals 5 % -> 15 % on a 10 % canary: lower is better, and the rise is caught."""
    scenario = Scenario("refusals", 0.05, 0.15, canary_share=0.1, kind="rate")
    outcome = simulate(scenario, runs=50, horizon=20_000, alpha=ALPHA)
    assert outcome.regressed_rate >= 0.9
    assert outcome.improved == 0


def test_the_interval_covers_the_mean_at_every_time() -> None:
    """Over 200 runs of 2,000 scores, the share of runs whose interval ever misses the
    true mean is within alpha (the property every verdict rests on)."""
    misses = 0
    for run in range(200):
        rng = random.Random(run)
        sequence = MeanConfidenceSequence(alpha=ALPHA)
        for _ in range(2000):
            sequence.update(rng.betavariate(3, 7))
            low, high = sequence.interval
            if not low <= 0.3 <= high:
                misses += 1
                break
    assert misses / 200 <= ALPHA


def test_verdicts_and_their_numbers() -> None:
    """Undecided at first; with a tolerance, a tiny difference ends as "no difference
    beyond tolerance"; an improvement is called one; the interval holds the difference."""
    comparison = VersionComparison(tolerance=0.05)
    assert comparison.verdict().verdict == UNDECIDED
    assert math.isnan(comparison.verdict().difference)
    rng = random.Random(1)
    for _ in range(20_000):
        comparison.add_baseline(rng.betavariate(8, 2))
        comparison.add_candidate(rng.betavariate(8.05, 1.95))
    final = comparison.verdict()
    assert final.verdict == EQUIVALENT
    assert final.low <= final.difference <= final.high
    assert final.baseline_calls == final.candidate_calls == 20_000
    better = VersionComparison()
    for _ in range(3000):
        better.add_baseline(rng.betavariate(7, 3))
        better.add_candidate(rng.betavariate(8, 2))
    assert better.verdict().verdict == better.decided == IMPROVED
    assert better.decided_at is not None


def test_lower_is_better_scores_regress_upwards() -> None:
    """For an error rate, a rise is the regression."""
    comparison = VersionComparison(higher_is_better=False)
    for n in range(4000):
        comparison.add_baseline(float(n % 20 == 0))  # 5 %
        comparison.add_candidate(float(n % 4 == 0))  # 25 %
    assert comparison.verdict().verdict == REGRESSED
