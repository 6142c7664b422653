"""The collector's detector stage reports what the detectors report call by call.

The stage groups a batch's calls by key and feeds each detector runs of a key's calls at
once (``update_many``); whatever the grouping, each call must get the scores, and the batch
the alarms (in call order, then detector order), that one instance per key fed call by call
gives.
"""

from __future__ import annotations

import math

import pytest

from tests.detectors.test_update_many import drifting_stream
from watchkeeper.collector.processors.detect import DetectorStage
from watchkeeper.collector.record import CallRecord
from watchkeeper.detectors import default_detectors


def records() -> list[CallRecord]:
    out = []
    for i, call in enumerate(drifting_stream()):
        out.append(
            CallRecord(
                trace_id=f"{i:032x}",
                span_id=f"{i:016x}",
                timestamp_ns=1_790_000_000_000_000_000 + i * 1_000_000,
                duration_ns=int(call.duration_s * 1e9),
                service_name="svc",
                route=f"route-{i % 3}" if i % 7 else "route-0",
                request_model="m",
                input_text=call.input_text,
                output_text=call.output_text,
                contexts=list(call.contexts),
                status_code="ERROR" if call.is_error else "UNSET",
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                finish_reasons=list(call.finish_reasons),
            )
        )
    return out


def reference(calls: list[CallRecord]) -> tuple[dict[str, dict[str, float]], list[tuple[str, str]]]:
    """Scores by span and alarms (span, detector), one detector instance per key, call by call."""
    per_key: dict[str, list] = {}
    scores: dict[str, dict[str, float]] = {}
    alarms = []
    for call in calls:
        detectors = per_key.setdefault(call.detector_key, default_detectors())
        wide = {}
        for detector in detectors:
            detector.update(call)
            for name, value in detector.scores.items():
                if not math.isnan(value):
                    wide[f"{detector.name}.{name}"] = float(value)
            if detector.drift_detected:
                alarms.append((call.span_id, detector.name))
        if wide:
            scores[call.span_id] = wide
    return scores, alarms


@pytest.mark.parametrize("prefetch", [True, False], ids=["texts-ahead", "texts-when-read"])
def test_the_stage_reports_what_the_detectors_report_call_by_call(prefetch: bool) -> None:
    """With or without the texts analysed ahead on another thread (``TextPrefetch``)."""
    calls = records()
    expected_scores, expected_alarms = reference(calls)
    assert len({c.detector_key for c in calls}) == 3
    assert len(expected_alarms) >= 3
    stage = DetectorStage(default_detectors(), prefetch=prefetch)
    scores: dict[str, dict[str, float]] = {}
    alarms = []
    order: list[str] = []
    for start in range(0, len(calls), 700):  # batches that cut runs and keys anywhere
        detection = stage.run(calls[start : start + 700])
        for call, wide in detection.scores:
            scores[call.span_id] = wide
            order.append(call.span_id)
        alarms += [(a["SpanId"], a["Detector"]) for a in detection.alarms]
        for alarm in detection.alarms:
            assert alarm["Detector"] in detection.flagged[alarm["SpanId"]]
    assert scores == expected_scores
    assert order == sorted(order)  # call order (span ids count up)
    assert alarms == expected_alarms
