"""Calibrated change detection: thresholds from false-alarm targets, and the tests using them."""

from __future__ import annotations

import math
import random

import pytest

from watchkeeper.detectors.change.calibration import cusum_arl, cusum_threshold
from watchkeeper.detectors.change.histogram_test import (
    WindowedHistogramTest,
    calibrate_threshold,
    hellinger,
    psi,
)
from watchkeeper.detectors.change.rank_cusum import SelfStartingCusum
from watchkeeper.detectors.change.sequential_ranks import SequentialRanks


@pytest.mark.parametrize("target", [500, 20_000, 1_000_000])
def test_threshold_inverts_the_run_length(target: int) -> None:
    """The threshold for a target gives back that target (Siegmund's approximation)."""
    h = cusum_threshold(target, k=0.15)
    assert cusum_arl(0.15, h) == pytest.approx(target, rel=1e-6)
    assert cusum_arl(0.15, h, shift=0.5) < target / 10


def test_threshold_rejects_meaningless_targets() -> None:
    """A target of one observation or less, or a non-positive k, is an error."""
    with pytest.raises(ValueError, match="target_arl"):
        cusum_threshold(1.0, k=0.1)
    with pytest.raises(ValueError, match="k must"):
        cusum_threshold(100.0, k=0.0)


def _count_alarms(values: list[float], **params: object) -> int:
    cusum = SelfStartingCusum(**params)  # type: ignore[arg-type]
    alarms = 0
    for x in values:
        cusum.update(x)
        alarms += cusum.drift_detected
    return alarms


@pytest.mark.parametrize(
    "draw",
    [
        lambda r: r.expovariate(1.0),  # skewed
        lambda r: float(r.randint(0, 3)),  # few distinct values: ties everywhere
        lambda r: float(r.random() < 0.05),  # rare events
    ],
    ids=["skewed", "discrete", "binary"],
)
def test_false_alarm_rate_matches_the_target_whatever_the_distribution(draw: object) -> None:
    """Sequential ranks make the calibration distribution-free.

    Target 2,000 over 300,000 stable values: about 150 alarms expected. The bounds are
    wide enough for chance (Poisson) and narrow enough to catch a 1.5x miscalibration.
    """
    rng = random.Random(11)
    values = [draw(rng) for _ in range(300_000)]  # type: ignore[operator]
    alarms = _count_alarms(values, target_arl=2000, seed=3)
    assert 100 <= alarms <= 220


def test_detects_a_half_sigma_shift_and_says_which_way() -> None:
    """A 0.5 standard-deviation rise in a skewed signal is found within 300 values."""
    rng = random.Random(5)
    cusum = SelfStartingCusum(target_arl=200_000)
    found = None
    for i in range(8000):
        cusum.update(rng.gauss(0.0, 1.0) + (0.5 if i >= 5000 else 0.0))
        if cusum.drift_detected:
            found = i
            break
    assert found is not None
    assert 5000 <= found < 5300
    assert cusum.change == "up"


def test_one_sided_detection_ignores_the_other_direction() -> None:
    """``direction='up'`` never alarms on a fall, however large."""
    rng = random.Random(6)
    values = [rng.gauss(0.0, 1.0) - (3.0 if i >= 1000 else 0.0) for i in range(3000)]
    assert _count_alarms(values, direction="up") == 0
    assert _count_alarms(values, direction="down") >= 1


def test_non_finite_values_are_ignored() -> None:
    """NaN and infinities neither count as observations nor move the statistics."""
    cusum = SelfStartingCusum(warmup=0)
    for x in [1.0, math.nan, math.inf, -math.inf, 2.0]:
        cusum.update(x)
    assert cusum.n == 2
    assert cusum.reference_count == 2


def test_memory_is_bounded_by_bins_after_the_exact_phase() -> None:
    """Past ``reference_size`` values only bin counts are kept."""
    ranks = SequentialRanks(reference_size=128, bins=32)
    rng = random.Random(7)
    for _ in range(5000):
        ranks.rank(rng.random(), rng)
    assert ranks.count == 5000
    assert len(ranks._counts) <= 32
    assert ranks._values is None


def test_strata_keep_the_calibration_when_their_mix_changes() -> None:
    """Two strata with different levels: a change in how often each occurs is no alarm.

    Without strata the same stream alarms (its overall level moved).
    """
    rng = random.Random(9)
    stream = []
    for i in range(12_000):
        share = 0.1 if i < 6000 else 0.9
        stratum = int(rng.random() < share)
        stream.append((rng.gauss(3.0 * stratum, 1.0), stratum))
    stratified, pooled = SelfStartingCusum(), SelfStartingCusum()
    alarms_stratified = alarms_pooled = 0
    for x, stratum in stream:
        stratified.update(x, stratum)
        pooled.update(x)
        alarms_stratified += stratified.drift_detected
        alarms_pooled += pooled.drift_detected
    assert alarms_stratified == 0
    assert alarms_pooled >= 1


def test_hellinger_and_psi_agree_on_identical_and_disjoint_histograms() -> None:
    """Same shape gives 0; disjoint support gives Hellinger 1 and a large PSI."""
    assert hellinger([1, 2, 3], [10, 20, 30]) == pytest.approx(0.0, abs=1e-9)
    assert psi([1, 2, 3], [10, 20, 30]) < 0.01
    assert hellinger([5, 0], [0, 5]) == pytest.approx(1.0)
    assert psi([50, 0], [0, 50]) > 3.0


def test_histogram_threshold_grows_as_false_alarms_get_rarer() -> None:
    """A rarer false alarm needs a larger distance."""
    reference = [300, 200, 100, 50, 10, 5]
    loose = calibrate_threshold(reference, 200, 0.05)
    strict = calibrate_threshold(reference, 200, 0.001)
    assert 0 < loose < strict < 1


def test_histogram_test_is_quiet_on_a_stable_mix_and_fires_on_a_new_one() -> None:
    """A stable stream drawn like the reference rarely alarms; a changed mix does, soon."""
    rng = random.Random(8)
    weights = [40, 30, 20, 10]
    reference = [0] * 4
    for _ in range(2000):
        reference[rng.choices(range(4), weights)[0]] += 1
    test = WindowedHistogramTest(reference, window=100, target_arl=100_000)
    stable = 0
    for _ in range(100_000):
        test.update(rng.choices(range(4), weights)[0])
        stable += test.drift_detected
    assert stable <= 5
    changed = None
    for i in range(1000):
        test.update(rng.choices(range(4), [10, 20, 30, 40])[0])
        if test.drift_detected:
            changed = i
            break
    assert changed is not None
    assert changed < 300
