"""A detector's exception never stops a batch.

The detect stage contains it: that detector's scores for the run of calls it raised on
are absent (never guessed), the other detectors score every call, the batch is stored, the
key's instance restarts, and ``watchkeeper_detector_errors_total`` counts it. A failure of
the stage itself stores the calls without detection. Through the real Kafka receiver, a
detector that raises on every run no longer stalls consumption.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from tests.support.kafka_broker import create_topic
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.detect import Detection, DetectorStage
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.receivers.kafka import KafkaReceiver
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.store import Store
from watchkeeper.detectors import InputLengthDrift
from watchkeeper.detectors.base import CallView, Detector

#: No review queues: the default ones name detectors these tests do not run.
NO_QUEUES = ReviewRouter({})
#: The calls' start: now, so the store's retention keeps them.
NOW_NS = time.time_ns()


class RaisesOn(Detector):
    """Scores each call 1.0, and raises ZeroDivisionError on a call whose input holds
    ``trigger`` (an empty trigger: every call)."""

    name = "raises_on"
    score_name = "one"

    def __init__(self, trigger: str = "") -> None:
        self.trigger = trigger
        self.seen = 0
        self._scores: dict[str, float] = {}

    def update(self, call: CallView) -> None:
        if self.trigger in call.input_text:
            raise ZeroDivisionError("division by zero")
        self.seen += 1
        self._scores = {"one": 1.0}

    @property
    def scores(self) -> Mapping[str, float]:
        return self._scores

    def _params(self) -> dict[str, object]:
        return {"trigger": self.trigger}

    @property
    def drift_detected(self) -> bool:
        return False


def calls(texts: Sequence[str], route: str = "r") -> list[CallRecord]:
    return [
        CallRecord(
            trace_id=f"{i:032x}",
            span_id=f"{route}{i:015x}"[-16:],
            timestamp_ns=NOW_NS + i * 10_000_000,
            duration_ns=1_000_000,
            service_name="svc",
            route=route,
            request_model="m",
            input_text=text,
            output_text="an answer",
        )
        for i, text in enumerate(texts)
    ]


def column(detection: Detection, name: str) -> list[float]:
    """One score over the batch's calls, NaN where a call has none."""
    return [float(value) for value in detection.by_score.columns[name]]


def test_a_raising_detector_loses_its_scores_for_that_run_only() -> None:
    """Key ``a`` holds the trigger, key ``b`` does not: the raising detector scores every
    call of ``b`` and none of ``a``; the other detector scores every call; the error is
    counted once (one run) and ``a``'s instance is a fresh copy."""
    stage = DetectorStage([InputLengthDrift(), RaisesOn("boom")], prefetch=False)
    batch = calls(["fine"] * 5 + ["boom"] + ["fine"] * 4, route="a") + calls(["fine"] * 10, "b")
    before = stage.keyed[1].get("svc|a|m")
    detection = stage.run(batch)
    assert not np.isnan(column(detection, "input_length_drift.input_drift")).any()
    ones = column(detection, "raises_on.one")
    assert np.isnan(ones[:10]).all()
    assert ones[10:] == [1.0] * 10
    assert detection.errors == {"raises_on": 1}
    after = stage.keyed[1].get("svc|a|m")
    assert after is not before
    assert isinstance(after, RaisesOn)
    assert after.seen == 0


def test_the_log_says_what_raised_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    """Three batches that raise make one log line naming the detector and the exception."""
    stage = DetectorStage([RaisesOn()], prefetch=False)
    with caplog.at_level(logging.WARNING, logger="watchkeeper.collector"):
        for _ in range(3):
            assert stage.run(calls(["x"])).errors == {"raises_on": 1}
    lines = [r.getMessage() for r in caplog.records if "raises_on" in r.getMessage()]
    assert len(lines) == 1
    assert "ZeroDivisionError: division by zero" in lines[0]


def test_the_pipeline_stores_the_batch_and_counts_the_error(store: Store) -> None:
    """Every call is stored; the counter holds one error per run raised on."""
    pipeline = Pipeline(store, detectors=[InputLengthDrift(), RaisesOn("boom")], router=NO_QUEUES)
    result = pipeline.process_calls(calls(["fine", "boom", "fine"]) + calls(["ok"] * 3, "b"))
    assert result.calls == 6
    assert store.count_calls() == 6
    value = pipeline.metrics.registry.get_sample_value(
        "watchkeeper_detector_errors_total", {"detector": "raises_on"}
    )
    assert value == 1.0


class BrokenStage(DetectorStage):
    """A detect stage with a bug outside any detector."""

    def run(self, calls: Sequence[CallRecord]) -> Detection:
        raise KeyError("a bug in the stage")


def test_a_failing_stage_stores_the_calls_without_detection(store: Store) -> None:
    """The batch is stored unscored and counted under ``detect_stage``."""
    pipeline = Pipeline(store, detectors=[InputLengthDrift()], router=NO_QUEUES)
    pipeline.detect = BrokenStage([InputLengthDrift()], prefetch=False)
    result = pipeline.process_calls(calls(["a question"] * 4))
    assert store.count_calls() == 4
    assert not result.detection.by_score
    value = pipeline.metrics.registry.get_sample_value(
        "watchkeeper_detector_errors_total", {"detector": "detect_stage"}
    )
    assert value == 1.0


@pytest.mark.kafka
def test_a_raising_detector_does_not_stall_the_kafka_receiver(
    kafka_bootstrap: str, store: Store
) -> None:
    """A detector that raises on every call: the receiver still stores every message's
    calls (within a bounded time) and the other detector's scores are there."""
    from kafka import KafkaProducer

    topic = f"raise_{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    messages, spans = 6, 5
    for _ in range(messages):
        producer.send(topic, protobuf_payload(answer_spans(spans)))
    producer.flush(30)
    producer.close()

    pipeline = Pipeline(store, detectors=[InputLengthDrift(), RaisesOn()], router=NO_QUEUES)
    receiver = KafkaReceiver(
        pipeline, bootstrap=kafka_bootstrap, topic=topic, group=f"g-{topic}", max_batch=2
    )
    receiver.start()
    deadline = time.monotonic() + 60
    try:
        while store.count_calls() < messages * spans and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        receiver.stop()
    assert store.count_calls() == messages * spans
    names = {row["Detector"] for row in store.score_summary()}
    assert "input_length_drift" in names
    assert "raises_on" not in names
    errors = pipeline.metrics.registry.get_sample_value(
        "watchkeeper_detector_errors_total", {"detector": "raises_on"}
    )
    assert errors is not None
    assert errors >= 1
