"""Every alarm says how large the change is, how sure, and whether it pages; a key stays
away after an alarm until its signal is back near the reference."""

from __future__ import annotations

import math
import random

from watchkeeper.detectors import Call, ErrorRateDrift, LatencyDrift, SeverityPolicy
from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.budget.budgeted_detectors import BudgetedDetectors
from watchkeeper.detectors.descriptor_drift import DescriptorDrift
from watchkeeper.detectors.effect.severity import FoundAlarm


class _Level(DescriptorDrift):
    """A mean-kind detector on a plain number (carried in ``duration_s``)."""

    name = "level_drift"
    score_name = "level"
    describes = "level"

    def descriptor(self, call: CallView) -> float | None:
        return call.duration_s


def _feed(
    watched: BudgetedDetectors, values: list[float], run: int = 256
) -> list[tuple[int, FoundAlarm]]:
    """Feed ``values`` one call per second in runs; alarms with their position."""
    found = []
    for start in range(0, len(values), run):
        calls = [Call("q", duration_s=v) for v in values[start : start + run]]
        times = [float(start + i) for i in range(len(calls))]
        for observed in watched.observe("svc|/r|m", calls, times):
            found += [(start + alarm.at, alarm) for alarm in observed.alarms]
    return found


def _stream(shift_sd: float, seed: int = 3, n: int = 4000, at: int = 2000) -> list[float]:
    rng = random.Random(seed)
    return [10.0 + rng.gauss(0.0, 1.0) + (shift_sd if i >= at else 0.0) for i in range(n)]


def test_a_large_shift_is_sized_near_its_true_size_and_pages() -> None:
    """A 2 SD rise: the alarm measures about 2 SD (interval in the signal's units around
    +2), on the calls since the change point, and pages."""
    watched = BudgetedDetectors([_Level()], budget=None)
    found = _feed(watched, _stream(2.0))
    assert len(found) == 1
    at, alarm = found[0]
    effect = alarm.effect
    assert effect is not None
    assert 2000 <= at < 2040
    assert 1.5 <= effect.sd <= 3.0
    assert effect.lo < 2.0 < effect.hi or abs(effect.shift - 2.0) < 0.5
    assert 0 < effect.calls <= at - 2000 + 15  # the change point is near the real one
    assert abs(effect.reference - 10.0) < 0.2
    assert abs(effect.reference_sd - 1.0) < 0.1
    assert alarm.severity == "page"


def test_a_small_significant_shift_is_a_ticket() -> None:
    """A 0.4 SD rise alarms (it is real) but is smaller than a page's 1 SD: a ticket."""
    watched = BudgetedDetectors([_Level()], budget=None)
    found = _feed(watched, _stream(0.4))
    assert found, "the shift was not detected"
    effect = found[0][1].effect
    assert effect is not None
    assert effect.lo > 0.0
    assert effect.sd < 1.0
    assert found[0][1].severity == "ticket"


def test_the_key_stays_away_while_shifted_and_comes_back_after_return() -> None:
    """After the alarm the key is away for as long as the signal stays shifted (2,000
    calls here), and back within a few hundred calls of its return."""
    values = _stream(2.0, n=6000)
    rng = random.Random(9)
    values[4000:] = [10.0 + rng.gauss(0.0, 1.0) for _ in range(2000)]
    watched = BudgetedDetectors([_Level()], budget=None)
    _feed(watched, values[:4000])
    (detector,) = watched.instances("svc|/r|m")
    assert detector.away == "page"
    assert watched.away() == {("level_drift", "page"): 1}
    _feed(watched, values[4000:4300])
    assert detector.away == ""
    assert watched.away() == {}


def test_a_short_drift_comes_back_once() -> None:
    """Inputs 4 SD longer for 60 calls, then as before: the alarm sends the key away, the
    level is seen back within a few dozen calls, and the detector's own alarm on the
    return (after relearning the drifted level) does not send it away again."""
    rng = random.Random(4)
    values = [10.0 + rng.gauss(0.0, 1.0) + (4.0 if 2000 <= i < 2060 else 0.0) for i in range(3000)]
    watched = BudgetedDetectors([_Level()], budget=None)
    found = _feed(watched, values[:2030])
    assert [alarm.severity for _, alarm in found] == ["page"]
    (detector,) = watched.instances("svc|/r|m")
    assert detector.away == "page"
    found = _feed(watched, values[2030:])
    assert found, "the return was not detected"
    assert detector.away == ""


def test_a_slightly_slower_host_is_a_ticket_and_a_doubling_pages() -> None:
    """Latency 10% slower (a loaded host) alarms as a ticket; 3x slower pages."""
    rng = random.Random(5)
    base = [rng.lognormvariate(0.0, 0.3) for _ in range(3000)]
    for factor, severity in ((1.1, "ticket"), (3.0, "page")):
        values = [x * (factor if i >= 1500 else 1.0) for i, x in enumerate(base)]
        watched = BudgetedDetectors([LatencyDrift()], budget=None)
        found = _feed(watched, values)
        assert found, f"x{factor} was not detected"
        assert found[0][1].severity == severity, (factor, found[0][1])
        effect = found[0][1].effect
        assert effect is not None
        assert effect.lo > 0.0


def test_an_error_rate_five_times_higher_pages_with_the_rates_in_its_effect() -> None:
    """Errors at 2%, then 10%: the alarm measures the rate before (about 0.02) and the
    rise in errors per call, and pages (at least twice the reference rate); a rise to 3%
    would be a ticket by the same policy."""
    rng = random.Random(8)
    calls = [
        Call("q", duration_s=1.0, is_error=rng.random() < (0.10 if i >= 5000 else 0.02))
        for i in range(8000)
    ]
    watched = BudgetedDetectors([ErrorRateDrift()], budget=None)
    found = []
    for start in range(0, len(calls), 256):
        run = calls[start : start + 256]
        for observed in watched.observe(
            "svc|/r|m", run, [float(start + i) for i in range(len(run))]
        ):
            found += [(start + alarm.at, alarm) for alarm in observed.alarms]
    assert found, "the rise was not detected"
    at, alarm = found[0]
    effect = alarm.effect
    assert effect is not None
    assert at >= 5000
    assert 0.01 < effect.reference < 0.03
    assert effect.lo > 0.0
    assert alarm.severity == "page"
    assert 3.0 <= (effect.reference + effect.shift) / effect.reference <= 8.0
    assert effect.calls >= 20  # the change point is not the alarmed event alone
    small = effect._replace(shift=0.01, lo=0.005, hi=0.015, reference=0.02)
    assert SeverityPolicy().severity("rate", small) == "ticket"
    doubled = effect._replace(shift=0.018, lo=0.012, hi=0.024, reference=0.02)
    assert SeverityPolicy().severity("rate", doubled) == "page"


def test_a_doubled_error_rate_is_sized_as_a_doubling_and_pages() -> None:
    """Errors at 0.9%, then 1.8% at a false-alarm target of one in 8e8 calls (a budget's):
    each of 4 seeds alarms, places the change point within a few hundred calls of the
    real one, measures about twice the rate (once the alarmed event alone, about 100x)
    and pages."""
    for seed in range(4):
        rng = random.Random(seed)
        calls = [Call("q", is_error=rng.random() < (0.018 if i >= 36_000 else 0.009))
                 for i in range(60_000)]  # fmt: skip
        watched = BudgetedDetectors([ErrorRateDrift(target_arl=8e8, seed=seed)], budget=None)
        found = []
        for start in range(0, len(calls), 256):
            run = calls[start : start + 256]
            times = [float(start + i) for i in range(len(run))]
            for observed in watched.observe("svc|/r|m", run, times):
                found += [(start + alarm.at, alarm) for alarm in observed.alarms]
        assert found, f"seed {seed}: the doubling was not detected"
        at, alarm = found[0]
        assert alarm.effect is not None
        assert at >= 36_000
        assert abs(at - alarm.effect.calls + 1 - 36_000) < 1_000
        assert 1.5 <= (alarm.effect.reference + alarm.effect.shift) / alarm.effect.reference <= 3.5
        assert alarm.severity == "page"


def test_a_drop_from_a_constant_reference_is_sized_in_the_spread_since() -> None:
    """A score of 1 on every call, then about 0.7 (SD 0.1): the reference has no spread,
    so the size is the shift in SDs of the calls since (about -3), never a capped stand-in,
    and it pages."""
    rng = random.Random(5)
    values = [1.0] * 2000 + [0.7 + rng.gauss(0.0, 0.1) for _ in range(2000)]
    found = _feed(BudgetedDetectors([_Level()], budget=None), values)
    assert found
    effect = found[0][1].effect
    assert effect is not None
    assert effect.reference_sd == 0.0
    assert -6.0 <= effect.sd <= -1.5
    assert "constant before" in effect.describe()
    assert found[0][1].severity == "page"


def test_a_step_between_two_constants_has_no_size_in_sd() -> None:
    """1 on every call, then 0.5 on every call: no spread to measure in, so the size in SD
    is NaN ("unknown" in the message), and a step between constants pages."""
    found = _feed(BudgetedDetectors([_Level()], budget=None), [1.0] * 2000 + [0.5] * 2000)
    assert found
    effect = found[0][1].effect
    assert effect is not None
    assert math.isnan(effect.sd)
    assert abs(effect.shift + 0.5) < 1e-9
    assert "size in SD unknown" in effect.describe()
    assert found[0][1].severity == "page"
