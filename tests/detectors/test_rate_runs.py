"""A rate detector's run of calls gives what ``update`` call by call gives, with alarms.

``RateDrift.update_many`` feeds the gaps between events to its CUSUM together, until an
event needs the CUSUM's target moved, and restarts its counts after an alarm: error rates
that rise and fall again raise several alarms (some inside one run) and move the target
many times, with calls skipped and NaN mixed in, and the alarms, scores and checkpoints
match the one-by-one path.
"""

from __future__ import annotations

import random

import pytest

from tests.detectors.test_update_many import canonical, in_runs, one_by_one
from watchkeeper.detectors import Call, ErrorRateDrift
from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.change.rank_cusum import SelfStartingCusum
from watchkeeper.detectors.rate_drift import RateDrift


def waves(seed: int, n: int) -> list[Call]:
    """Errors at 2 %, rising to 30 % and back, three times; some calls without a verdict."""
    rng = random.Random(seed)
    calls = []
    for i in range(n):
        rate = 0.3 if (i // 1500) % 2 else 0.02
        calls.append(Call("q", is_error=rng.random() < rate))
    return calls


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sizes", [[256], [1, 7, 300, 64], [2000]])
def test_rate_alarms_in_runs_equal_call_by_call(seed: int, sizes: list[int]) -> None:
    """Same scores, alarms and checkpoint; several alarms happen."""
    calls = waves(seed, 9000)
    single, batched = ErrorRateDrift(target_arl=2000), ErrorRateDrift(target_arl=2000)
    expected = one_by_one(single, calls)
    assert sum(row[1] == "alarm" for row in expected) >= 2
    assert sorted(in_runs(batched, calls, sizes), key=repr) == sorted(expected, key=repr)
    assert canonical(single) == canonical(batched)


def test_cusum_update_many_can_stop_at_the_first_alarm() -> None:
    """``until_alarm`` stops after the value that completed a detection, where ``update``
    value by value would be then."""
    values = [1.0] * 300 + [5.0] * 300
    single, batched = SelfStartingCusum(seed=1), SelfStartingCusum(seed=1)
    first = None
    for i, x in enumerate(values):
        single.update(x)
        if single.drift_detected:
            first = i
            break
    assert first is not None
    z_mids, alarms = batched.update_many(values, until_alarm=True)
    assert len(z_mids) == first + 1
    assert alarms == [(first, single.change)]
    assert canonical(single) == canonical(batched)


class ScriptedRate(RateDrift):
    """Events as the input says: ``1``, ``0``, ``nan`` (counted as an event, as ``update``
    does: it is not below 0.5) or ``skip`` (None: the call is not counted)."""

    name = "scripted_rate"
    score_name = "scripted"

    def event(self, call: CallView) -> float | None:
        text = call.input_text
        return None if text == "skip" else float(text)


def scripted(seed: int, n: int) -> list[Call]:
    rng = random.Random(seed)
    calls = []
    for i in range(n):
        rate = 0.3 if (i // 1500) % 2 else 0.02
        r = rng.random()
        text = "skip" if r < 0.1 else "nan" if r < 0.102 else str(int(rng.random() < rate))
        calls.append(Call(text))
    return calls


@pytest.mark.parametrize("seed", [0, 1])
def test_rate_runs_with_skipped_calls_and_nan_equal_call_by_call(seed: int) -> None:
    """Calls skipped (None) are not counted and NaN counts as an event, in runs as one by
    one; alarms happen."""
    calls = scripted(seed, 9000)
    single, batched = ScriptedRate(target_arl=2000), ScriptedRate(target_arl=2000)
    expected = one_by_one(single, calls)
    assert sum(row[1] == "alarm" for row in expected) >= 2
    # A NaN score is no score in the columns ``in_runs`` reads.
    expected = [row for row in expected if row[2] == row[2]]
    got = in_runs(batched, calls, [256, 1, 7, 300, 2000])
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert canonical(single) == canonical(batched)
