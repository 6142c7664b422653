"""River change tests named in the settings, end to end through a pipeline built from
them: a drop in consistency, a rise in latency and a rise in the error rate each alarm
from ADWIN or PageHinkley once the stream changes, none before; bad settings stop start
with the key's path."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from watchkeeper.collector.detector_setup import configured_detectors
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.runtime import build_pipeline
from watchkeeper.collector.settings import ConfigError, load_settings
from watchkeeper.collector.store.store import Store
from watchkeeper.detectors import RiverChangeTest

QUESTIONS = [f"What is the delivery time for order type {name}?" for name in "ABCDEFGHIJ"]
STABLE, CHANGED = 1200, 600

CONFIG = """
[watchkeeper.detectors.consistency_drift]
change_test = "river:ADWIN"

[watchkeeper.detectors.latency_drift]
change_test = "river:PageHinkley"
change_test_params = { alpha = 1.0, threshold = 20.0 }

[watchkeeper.detectors.error_rate_drift]
change_test = "river:ADWIN"
change_test_params = { delta = 0.001 }
"""


def _calls(seed: int) -> list[CallRecord]:
    """One route: repeated questions answered the same way, about 0.5 s, 1% errors; then
    other answers to the same questions, about 1.5 s, 15% errors."""
    rng = random.Random(seed)
    start = time.time_ns() - 3_600 * 10**9
    out = []
    for i in range(STABLE + CHANGED):
        changed = i >= STABLE
        q = rng.randrange(len(QUESTIONS))
        answer = f"Orders of this type arrive within {q + 2} working days by standard post."
        if changed and rng.random() < 0.7:
            answer = rng.choice(["Sorry, I cannot say.", "It depends on the courier today."])
        error = rng.random() < (0.15 if changed else 0.01)
        out.append(
            CallRecord(
                trace_id=f"{i:032x}",
                span_id=f"{i:016x}",
                timestamp_ns=start + i * 10**8,
                duration_ns=int(rng.uniform(*((1.0, 2.0) if changed else (0.3, 0.7))) * 1e9),
                service_name="svc",
                route="orders",
                request_model="m",
                input_text=QUESTIONS[q],
                output_text="" if error else answer,
                status_code="ERROR" if error else "UNSET",
            )
        )
    return out


def test_river_change_tests_from_the_settings_alarm_through_the_pipeline(
    store: Store, tmp_path: Path
) -> None:
    """Each detector named in the settings holds a river test per key and alarms on its
    change within the changed part of the stream, never before it."""
    config = tmp_path / "watchkeeper.toml"
    config.write_text(CONFIG)
    pipeline = build_pipeline(load_settings(config, environ={}), store, resume=False)
    calls = _calls(1)
    pipeline.process_calls(calls, "test")
    index = {call.span_id: i for i, call in enumerate(calls)}
    first: dict[str, int] = {}
    for row in store.alarms():
        at = index[row["SpanId"]]
        first[row["Detector"]] = min(at, first.get(row["Detector"], at))
    for name in ("consistency_drift", "latency_drift", "error_rate_drift"):
        assert STABLE <= first.get(name, -1) < STABLE + CHANGED, (name, first)
    plugged = {
        keyed.prototype.name: [type(d._change) for _, d in keyed.items()]
        for keyed in pipeline.detect.keyed
    }
    assert plugged["latency_drift"] == [RiverChangeTest]
    assert plugged["input_length_drift"] == [type(None)]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ('{"latency": {"change_test": "river:ADWIN"}}', "'detectors.latency': no default"),
        (
            '{"latency_drift": {"change_test": "river:Nope"}}',
            "'detectors.latency_drift.change_test': river has no drift detector 'Nope'",
        ),
        (
            '{"latency_drift": {"change_test": "river:ADWIN", "change_test_params": {"x": 1}}}',
            "'detectors.latency_drift.change_test_params': river ADWIN",
        ),
        (
            '{"input_topic_drift": {"change_test": "river:ADWIN"}}',
            "'detectors.input_topic_drift': input_topic_drift: its change test cannot be",
        ),
        ('{"latency_drift": {"change_test": "adwin"}}', "must be cusum or river:"),
    ],
)
def test_bad_change_test_settings_name_their_key(given: str, message: str) -> None:
    """One line naming the key and what is wrong, before anything runs."""
    with pytest.raises(ConfigError, match=message):
        configured_detectors(load_settings(environ={"WATCHKEEPER_DETECTORS": given}).pipeline)
