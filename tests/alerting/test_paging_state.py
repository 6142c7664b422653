"""A rate's paging test is part of what the collector keeps: a restart restores it with the
detectors' checkpoint (the change it was building up pages on time, a page is not sent
twice), accepting a key's new regime starts it afresh, and an incident stays open while
the paging test says the rate has not come back."""

from __future__ import annotations

import time

import numpy as np

from watchkeeper.collector.incidents.baseline import BaselineResets, still_away
from watchkeeper.collector.incidents.tracker import IncidentTracker
from watchkeeper.collector.processors.detect import DetectorStage
from watchkeeper.collector.processors.detector_state import restore_state, save_state
from watchkeeper.collector.store.incidents import IncidentStore
from watchkeeper.collector.store.store import Store
from watchkeeper.detectors import Call, ErrorRateDrift

KEY = "svc|/chat|m"
NAME = "error_rate_drift"
PER_MINUTE = 600
OK, FAILED = Call("q"), Call("q", is_error=True)


class Route:
    """One route at 10 calls/s into a detector stage, errors at a rate chosen per part."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.clock = 0.0

    def calls(self, minutes: float, rate: float) -> list[tuple[list[Call], list[float]]]:
        """Runs of 300 calls (30 s) with their timestamps."""
        runs = []
        for _ in range(round(minutes * PER_MINUTE) // 300):
            calls = [FAILED if x else OK for x in self.rng.random(300) < rate]
            times = [self.clock + (i + 1) / 10 for i in range(300)]
            self.clock = times[-1]
            runs.append((calls, times))
        return runs


def _pages(stage: DetectorStage, runs: list[tuple[list[Call], list[float]]]) -> list[float]:
    """Times of the pages the stage's detectors raise on ``runs``."""
    pages = []
    for calls, times in runs:
        for found in stage.watched.observe(KEY, calls, times):
            pages += [times[a.at] for a in found.alarms if a.severity == "page"]
    return pages


def _stage() -> DetectorStage:
    return DetectorStage([ErrorRateDrift()], prefetch=False)


def test_a_restart_resumes_the_paging_test(store: Store) -> None:
    """Errors 1% -> 2%: a checkpoint taken while the test builds up evidence, restored into
    a new stage, pages at the very call the running one does; a stage that relearned
    instead takes the doubled rate as its reference and stays silent. Restored after the
    page, it does not page on the same change again."""
    route = Route(seed=4)
    running = _stage()
    assert _pages(running, route.calls(60, 0.01)) == []
    building = route.calls(2, 0.02)
    assert _pages(running, building) == []
    assert save_state(running, store) == 1
    restored, relearned = _stage(), _stage()
    assert restore_state(restored, store) == 1
    doubled = route.calls(20, 0.02)
    page = _pages(running, doubled)
    assert len(page) == 1, page
    assert _pages(restored, doubled) == page
    assert _pages(relearned, building + doubled) == []

    save_state(running, store)
    again = _stage()
    restore_state(again, store)
    assert again.watched.away_of(NAME, KEY) == "page"
    assert _pages(again, route.calls(30, 0.02)) == []


def test_accepting_the_baseline_resets_the_paging_test() -> None:
    """After a page, accepting the key's regime replaces the detector and drops its paging
    test: neither is away, and the new test learns its reference from the next calls."""
    route = Route(seed=4)
    stage = _stage()
    _pages(stage, route.calls(60, 0.01))
    assert len(_pages(stage, route.calls(20, 0.02))) == 1
    before = stage.watched.instances(KEY)[0]
    resets = BaselineResets(lambda: stage)
    resets.request([(NAME, KEY), ("latency_drift", KEY), (NAME, "svc|/other|m")])
    assert resets.apply() == 1
    assert stage.watched.page_test(KEY, NAME) is None
    assert stage.watched.instances(KEY)[0] is not before
    assert not still_away(stage, NAME, KEY)
    assert _pages(stage, route.calls(30, 0.02)) == []
    assert stage.watched.page_test(KEY, NAME) is not None


def test_an_incident_resolves_when_the_paging_test_says_back(store: Store) -> None:
    """The incident of a rate's page stays open after 30 quiet minutes while the paging
    test sees the rate doubled, even when the detector itself has nothing to say (here a
    fresh instance, as after a restart from an older checkpoint), and resolves once the
    test has seen the rate back."""
    route = Route(seed=4)
    stage = _stage()
    _pages(stage, route.calls(60, 0.01))
    assert len(_pages(stage, route.calls(20, 0.02))) == 1
    keyed = stage.watched.keyed[0]
    keyed.put(KEY, keyed.prototype.clone())
    assert keyed.get(KEY).away == ""
    tracker = IncidentTracker(
        IncidentStore(store), BaselineResets(lambda: stage),
        away=lambda detector, key: still_away(stage, detector, key),
    )  # fmt: skip
    opened = time.time_ns() // 1_000_000 - 3_600_000
    tracker.observe([_alarm_row(opened)])
    (listed,) = tracker.listed(opened - 1)
    assert (listed["state"], listed["keys_away"]) == ("open", 1)
    _pages(stage, route.calls(60, 0.01))
    assert stage.watched.page_test(KEY, NAME).away == ""  # type: ignore[union-attr]
    (listed,) = tracker.listed(opened - 1)
    assert (listed["state"], listed["keys_away"]) == ("resolved", 0)


def _alarm_row(at_ms: int) -> dict[str, object]:
    return {"Timestamp": f"{at_ms // 1000}.{at_ms % 1000:03d}000000", "Detector": NAME,
            "DetectorKey": KEY, "SpanId": f"{at_ms:016x}", "Score": 1.0, "Message": "",
            "effect_sd": 2.0, "severity": "page"}  # fmt: skip
