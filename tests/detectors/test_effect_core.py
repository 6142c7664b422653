"""``EffectTracker`` and ``RatePageTest`` with the compiled core give exactly what the Python
does.

The core (``native/src/effect.rs``) takes a run of the signal and the tracker's sums and
returns them updated, and runs a rate paging test's CUSUM over a run. Each check feeds the
same seeded streams twice, with the core and with it switched off in-process, and compares
the sized alarms (``repr``: the same doubles, NaNs and signs) and the checkpoints
(``pickle.dumps``) after every run: normal values with shifts up and down, 0/1 event rates
that rise, whole numbers, constant signals, None/NaN/infinite values mixed in, runs with
several alarms, keys away after an alarm until they come back, and rates that rise enough
to page. A detector end to end gets the same alarms both ways too. With
``WATCHKEEPER_NATIVE=0`` these checks are skipped.
"""

from __future__ import annotations

import math
import os
import pickle
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from watchkeeper.detectors import Call, LatencyDrift, native_core
from watchkeeper.detectors.effect import rate_page_test as page_module
from watchkeeper.detectors.effect import tracker as tracker_module
from watchkeeper.detectors.effect.rate_page_test import RatePageTest
from watchkeeper.detectors.effect.severity import SeverityPolicy
from watchkeeper.detectors.effect.tracker import EffectTracker

SWITCHED_OFF = os.environ.get(native_core.SWITCH, "1").strip() == "0"
pytestmark = pytest.mark.skipif(
    SWITCHED_OFF or native_core.effect_core() is None, reason="Python alone"
)

Stream = Callable[[random.Random, int], list[Any]]


@contextmanager
def core_set_to(core: Any) -> Iterator[None]:
    saved = tracker_module._CORE, page_module._CORE
    tracker_module._CORE = page_module._CORE = core
    try:
        yield
    finally:
        tracker_module._CORE, page_module._CORE = saved


def normal_shifts(rng: random.Random, n: int) -> list[Any]:
    return [rng.gauss(10.0 + (3.0 if (i // 700) % 2 else 0.0), 2.0) for i in range(n)]


def rising_rate(rng: random.Random, n: int) -> list[Any]:
    return [1.0 if rng.random() < (0.02 if i < n // 3 else 0.2) else 0.0 for i in range(n)]


def whole_numbers(rng: random.Random, n: int) -> list[Any]:
    return [rng.randint(0, 5) + (4 if i > n // 2 else 0) for i in range(n)]


def constant_then_step(rng: random.Random, n: int) -> list[Any]:
    return [2.0 if i < n // 2 else 5.0 for i in range(n)]


def holes(rng: random.Random, n: int) -> list[Any]:
    """Values with None, NaN and infinities mixed in, and a rate that turns into a level."""
    out: list[Any] = []
    for i in range(n):
        r = rng.random()
        if r < 0.05:
            out.append(None)
        elif r < 0.08:
            out.append(math.nan)
        elif r < 0.1:
            out.append(math.inf if r < 0.09 else -math.inf)
        elif i < n // 4:
            out.append(float(rng.random() < 0.1))
        else:
            out.append(rng.expovariate(1.0 / (1.0 + i / n)))
    return out


STREAMS: list[Stream] = [normal_shifts, rising_rate, whole_numbers, constant_then_step, holes]


def grade(effect: Any) -> str:
    return "page" if effect is not None and abs(effect.shift) > 1.0 else "ticket"


def feed(stream: list[Any], seed: int, core: Any) -> list[str]:
    """Runs of the stream through a tracker, alarms at random calls: what each run found,
    and the checkpoint after it, as text and bytes."""
    rng = random.Random(seed)
    tracker = EffectTracker()
    seen = []
    start = 0
    with core_set_to(core):
        while start < len(stream):
            run = stream[start : start + rng.choice([1, 7, 64, 256])]
            alarms = sorted({rng.randrange(len(run)) for _ in range(3) if rng.random() < 0.15})
            found = tracker.measure(run, [(i, f"reason {i}") for i in alarms], grade)
            seen.append(repr(found) + repr(tracker.away) + tracker.away_severity)
            seen.append(pickle.dumps(tracker).hex())
            start += len(run)
    return seen


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_core_sizes_alarms_and_keeps_state_as_python_does(stream: Stream, seed: int) -> None:
    """Every run's sized alarms, away state and checkpoint are the same both ways."""
    values = stream(random.Random(seed), 3000)
    core = native_core.effect_core()
    assert feed(values, seed, core) == feed(values, seed, None)


def test_the_core_is_used_and_declines_what_it_cannot_read() -> None:
    """The core extends a list of numbers; a value it cannot read as numpy would (a string
    numpy parses) goes to Python, with the same result."""
    core = native_core.effect_core()
    assert core is not None
    state = (math.nan, 0, 0.0, 0.0)
    sides = [(1.0, 0.5, (0.0, 0, 0.0, 0.0))]
    assert (
        core.effect_extend([1.0, None, 2], 0, 3, tracker=state, sides=sides, rates=None, away=None)
        is not None
    )
    assert (
        core.effect_extend([1.0, "2.5"], 0, 2, tracker=state, sides=sides, rates=None, away=None)
        is None
    )
    both = [feed([1.0, "2.5", 3.0] * 50, 0, c) for c in (core, None)]
    assert both[0] == both[1]


def test_a_detector_gets_the_same_alarms_and_sizes_both_ways() -> None:
    """Latency that doubles: the detector's sized alarms and checkpoint match."""

    def run(core: Any) -> tuple[str, bytes]:
        rng = random.Random(5)
        detector = LatencyDrift()
        policy = SeverityPolicy()
        found = []
        with core_set_to(core):
            for start in range(0, 6000, 256):
                calls = [
                    Call("q", duration_s=rng.lognormvariate(0.0 if i < 3000 else 0.7, 0.3))
                    for i in range(start, start + 256)
                ]
                found.extend(detector.measure(detector.update_many(calls), policy))
        return repr(found), pickle.dumps(detector)

    with_core, alone = run(native_core.effect_core()), run(None)
    assert "FoundAlarm" in with_core[0]
    assert with_core == alone


def paging_stream(rng: random.Random, n: int) -> list[Any]:
    """Events at 1 %, then 3 % and 10 %, back to 1 %; None and NaN for calls skipped."""
    out: list[Any] = []
    for i in range(n):
        rate = (0.01, 0.03, 0.1, 0.01)[min(3, i * 4 // n)]
        r = rng.random()
        out.append(None if r < 0.03 else math.nan if r < 0.04 else float(rng.random() < rate))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_core_pages_as_python_does(seed: int) -> None:
    """A rate paging test over rising rates: the same pages, sizes and checkpoints after
    every run, with runs of 1 to 700 calls (longer than one chunk)."""

    def run(core: Any) -> list[str]:
        rng = random.Random(seed)
        stream = paging_stream(random.Random(seed), 40_000)
        test = RatePageTest(ratio=2.0)
        seen = []
        start = 0
        with core_set_to(core):
            while start < len(stream):
                run = stream[start : start + rng.choice([1, 50, 256, 700])]
                seen.append(repr(test.measure(run, target_arl=rng.choice([2e4, 1e6]))))
                seen.append(pickle.dumps(test).hex())
                start += len(run)
        return seen

    with_core, alone = run(native_core.effect_core()), run(None)
    assert sum("FoundAlarm(" in found for found in with_core) >= 1
    assert with_core == alone
