"""``update_many`` over runs of calls reports exactly what ``update`` call by call reports.

The collector feeds each detector runs of a key's calls at once; detectors that override
``update_many`` (the descriptor and rate detectors) must give the same scores, alarms and
reasons, and be left in the same state, as feeding the same calls one at a time.
"""

from __future__ import annotations

import math
from array import array
from typing import Any

import pytest

from tests.detectors import native_parity
from tests.detectors.test_consistency import _support_stream
from watchkeeper.detectors import Call, ConsistencyDrift, Detector, TopicDrift, default_detectors
from watchkeeper.detectors.change.rank_cusum import SelfStartingCusum


def canonical(value: Any) -> Any:
    """``value`` as nested tuples of plain values: equal for equal states, whichever
    objects they share (pickle bytes differ when one state shares an equal tuple that the
    other holds twice, as memoised text facts do)."""
    if isinstance(value, array):
        value = (value.typecode, value.tobytes())
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return (type(value).__name__, repr(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(canonical(v) for v in value))
    if isinstance(value, dict):
        return (type(value).__name__, tuple((canonical(k), canonical(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, tuple(sorted(map(repr, map(canonical, value)))))
    if isinstance(value, type) or (callable(value) and not hasattr(value, "__dict__")):
        return ("named", value.__module__, value.__qualname__)
    reduced = value.__reduce_ex__(4)
    return (type(value).__qualname__, canonical(tuple(reduced[1:3])))


def drifting_stream() -> list[Call]:
    """Production-length calls; from the middle on, slower, more errors, longer inputs."""
    calls = native_parity.stream(2400)
    for i, call in enumerate(calls):
        if i >= 1200:
            call.duration_s = 2.0 + (i % 7) * 0.1
            call.is_error = i % 9 == 0
            call.input_text = call.input_text * 2
        if i % 11 == 0:
            call.contexts = [call.output_text[:300], "Unrelated passage about the weather."]
    return calls


def one_by_one(detector: Detector, calls: list[Call]) -> list[tuple[object, ...]]:
    seen: list[tuple[object, ...]] = []
    for i, call in enumerate(calls):
        detector.update(call)
        for name, value in detector.scores.items():
            seen.append((i, name, float(value)))
        if detector.drift_detected:
            seen.append((i, "alarm", detector.alarm_reason))
    return seen


def in_runs(detector: Detector, calls: list[Call], sizes: list[int]) -> list[tuple[object, ...]]:
    seen: list[tuple[object, ...]] = []
    start = runs = 0
    while start < len(calls):
        run = calls[start : start + sizes[runs % len(sizes)]]
        runs += 1
        found = detector.update_many(run)
        rows: list[tuple[object, ...]] = []
        for i in range(len(run)):
            for name, column in found.scores.items():
                if not math.isnan(column[i]):
                    rows.append((start + i, name, column[i]))
            rows.extend((start + i, "alarm", reason) for j, reason in found.alarms if j == i)
        seen.extend(rows)
        start += len(run)
    return seen


@pytest.mark.parametrize("index", range(len(default_detectors())))
def test_update_many_equals_update_call_by_call(index: int) -> None:
    calls = drifting_stream()
    single = default_detectors()[index]
    batched = default_detectors()[index]
    expected = one_by_one(single, calls)
    # Score names of one call may come in another order: sort within each call.
    assert sorted(in_runs(batched, calls, [256, 1, 7, 300, 64]), key=repr) == sorted(
        expected, key=repr
    )
    # Left in the same state: the same afterwards, and the same checkpoint.
    assert (single.scores, single.drift_detected) == (batched.scores, batched.drift_detected)
    assert canonical(single) == canonical(batched)
    assert one_by_one(single, calls[:300]) == one_by_one(batched, calls[:300])


def test_consistency_alarms_the_same_in_runs() -> None:
    """Consistency falls (repeated questions answered less alike), with errors mixed in."""
    calls = _support_stream(1, 2000, 0.97) + _support_stream(2, 800, 0.7)
    for call in calls[::37]:
        call.is_error = True
    single, batched = ConsistencyDrift(), ConsistencyDrift()
    expected = one_by_one(single, calls)
    assert any(row[1] == "alarm" for row in expected)
    assert sorted(in_runs(batched, calls, [256, 3, 100]), key=repr) == sorted(expected, key=repr)
    assert canonical(single) == canonical(batched)


def test_the_drifting_stream_raises_alarms() -> None:
    """The comparison above covers alarms: the stream makes several detectors fire."""
    fired = set()
    for detector in default_detectors():
        if any(row[1] == "alarm" for row in one_by_one(detector, drifting_stream())):
            fired.add(detector.name)
    assert len(fired) >= 3, fired


def test_cusum_update_many_skips_what_update_ignores() -> None:
    values = [1.0, None, math.nan, 2.0, math.inf, 3.0] * 50
    single, batched = SelfStartingCusum(seed=3), SelfStartingCusum(seed=3)
    expected = []
    for x in values:
        if x is None or not math.isfinite(x):
            expected.append(math.nan)
            continue
        single.update(x)
        expected.append(single.z_mid)
    z_mids, alarms = batched.update_many(values)
    assert [repr(z) for z in z_mids] == [repr(z) for z in expected]
    assert alarms == []
    assert canonical(single) == canonical(batched)


def test_a_subclass_that_overrides_update_keeps_its_update() -> None:
    """``update_many`` of the shared bases must not bypass a subclass's own ``update``."""
    from watchkeeper.detectors import InputLengthDrift

    class Halved(InputLengthDrift):
        def update(self, call: Call) -> None:
            super().update(call)
            self._scores = {name: value / 2 for name, value in self._scores.items()}

    calls = drifting_stream()[:300]
    expected = one_by_one(Halved(), calls)
    assert sorted(in_runs(Halved(), calls, [100]), key=repr) == sorted(expected, key=repr)


def test_topic_drift_in_runs_relearns_as_call_by_call() -> None:
    """A topic change alarms, the reference is relearned and alarms again, windows close
    inside runs and on their last call: runs give what calls one by one give."""
    billing = [Call(f"refund my invoice {i % 5}") for i in range(400)]
    outage = [Call(f"the app crashes on login {i % 3}") for i in range(400)]
    calls = billing + outage + billing
    params = {"learn_calls": 50, "reference_calls": 100, "window": 40}
    single, batched = TopicDrift(**params), TopicDrift(**params)  # type: ignore[arg-type]
    expected = one_by_one(single, calls)
    assert sum(row[1] == "alarm" for row in expected) >= 2
    assert sorted(in_runs(batched, calls, [256, 1, 39, 40, 7, 300]), key=repr) == sorted(
        expected, key=repr
    )
    assert (single.scores, single.drift_detected) == (batched.scores, batched.drift_detected)
    assert canonical(single) == canonical(batched)
