"""Alarms reach the store, the API rows and the metrics with their size and severity, and
the keys still away after a paging alarm are exposed as a gauge."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

from fastapi.testclient import TestClient

from tests.collector.test_detect_stage import records
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store
from watchkeeper.detectors import InputLengthDrift, LatencyDrift
from watchkeeper.detectors.base import CallView, Detector

#: No review queues: the default ones name detectors these tests do not run.
_NO_QUEUES = ReviewRouter({})


def test_alarms_are_stored_sized_and_counted_by_severity(store: Store) -> None:
    """The drifting stream (inputs twice as long, calls about 2 s instead of well under a
    second) alarms on each of its 3 keys: every alarm row holds the shift, its interval
    (around it, away from 0), the shift in SDs, the calls since the change and its
    severity, which the message repeats; the alarm counter and the away gauge carry the
    severity."""
    now = time.time_ns() - 3_600 * 10**9
    calls = [
        dataclasses.replace(call, timestamp_ns=now + i * 10**8) for i, call in enumerate(records())
    ]
    pipeline = Pipeline(store, detectors=[InputLengthDrift(), LatencyDrift()], router=_NO_QUEUES)
    pipeline.process_calls(calls, "test")
    rows = store.backend.select(
        f"SELECT Detector, Message, effect_shift, effect_sd, effect_lo, effect_hi, "
        f"calls_since_change, severity FROM {store.database}.alarms FINAL"
    )
    assert (
        sorted(row["Detector"] for row in rows)
        == ["input_length_drift"] * 3 + ["latency_drift"] * 3
    )
    for row in rows:
        assert 0.0 < row["effect_lo"] < row["effect_shift"] < row["effect_hi"], row
        assert row["effect_sd"] > 1.0
        assert 0 < row["calls_since_change"] < 300
        assert row["severity"] == "page"
        assert "SD, 95%" in row["Message"]
        assert row["Message"].endswith("(page)")
    api = pipeline.store.alarms()
    assert {row["Severity"] for row in api} == {"page"}
    assert all(row["CallsSinceChange"] > 0 for row in api)
    text = pipeline.metrics.exposition().decode()
    assert 'watchkeeper_detector_alarms_total{detector="latency_drift",severity="page"} 3.0' in text
    assert 'watchkeeper_detector_keys_away{detector="latency_drift",severity="page"} 3.0' in text
    assert 'watchkeeper_detector_keys_away{detector="latency_drift",severity="ticket"} 0.0' in text


def test_fixed_targets_are_kept_without_a_budget(store: Store) -> None:
    """``detector_budget=None``: every detector keeps the target it was built with."""
    pipeline = Pipeline(
        store,
        detectors=[LatencyDrift(target_arl=12_345.0)],
        router=_NO_QUEUES,
        detector_budget=None,
    )
    pipeline.process_calls(records()[:300], "test")
    (keyed,) = pipeline.detect.keyed
    assert {detector.target_arl for _, detector in keyed.items()} == {12_345.0}


class _Step(Detector):
    """Scores 1 on its first 200 calls and 0 after, and alarms on the 230th: a step
    between two constants, whose size in SDs has no scale."""

    name = "step_drift"
    score_name = "level"

    def __init__(self) -> None:
        self.calls = 0

    def update(self, call: CallView) -> None:
        self.calls += 1

    @property
    def scores(self) -> Mapping[str, float]:
        return {"level": 1.0 if self.calls <= 200 else 0.0}

    @property
    def drift_detected(self) -> bool:
        return self.calls == 230


def test_an_unknown_size_is_stored_and_served_as_null(store: Store) -> None:
    """The step's alarm is stored with effect_sd NULL (it was 0, which reads as no
    change), the store's alarm rows and the alarms API give None, and its message says
    the size in SD is unknown."""
    now = time.time_ns() - 3_600 * 10**9
    calls = [
        dataclasses.replace(c, route="route-0", response_model="m", timestamp_ns=now + i * 10**8)
        for i, c in enumerate(records()[:300])
    ]
    pipeline = Pipeline(store, detectors=[_Step()], router=_NO_QUEUES)
    pipeline.process_calls(calls, "test")
    (row,) = store.backend.select(
        f"SELECT SpanId, effect_sd, effect_shift, Message FROM {store.database}.alarms FINAL"
    )
    assert (row["effect_sd"], row["effect_shift"]) == (None, -1.0)
    assert "size in SD unknown" in row["Message"]
    assert [r["EffectSd"] for r in store.alarms()] == [None]
    token = TokenRegistry(store).create("vic", "viewer")[0]
    with TestClient(build_app(pipeline)) as client:
        got = client.get(
            f"/api/alarms/step_drift/{row['SpanId']}", headers={"authorization": f"Bearer {token}"}
        )
    assert got.status_code == 200, got.text
    assert got.json()["effect"]["sd"] is None
