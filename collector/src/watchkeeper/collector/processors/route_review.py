"""Choose which calls go to human review, and into which queue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watchkeeper.collector.record import CallRecord

#: Queue names are fixed here (bounded metric labels); routing rules come in config later.
RANDOM_QUEUE = "random"
ALARM_QUEUE = "alarms"
ERROR_QUEUE = "errors"


def sampled(trace_id: str, rate: float) -> bool:
    """Deterministic sampling by trace id: replays and other replicas decide the same way.

    >>> sampled("00000000000000000000000000000000", 0.01), sampled("f" * 32, 0.99)
    (True, False)
    """
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    try:
        bucket = int(trace_id[:16], 16) / float(1 << 64)
    except ValueError:
        return False
    return bucket < rate


def review_items(
    calls: Sequence[CallRecord], flagged: Mapping[str, list[str]], sample_rate: float
) -> list[dict[str, Any]]:
    """Review rows: every flagged call and every error, plus a deterministic random sample."""
    items = []
    for call in calls:
        detectors = flagged.get(call.span_id)
        if detectors:
            queue, reason, priority = ALARM_QUEUE, "alarm:" + detectors[0], 10
        elif call.is_error:
            queue, reason, priority = ERROR_QUEUE, "error", 5
        elif sampled(call.trace_id, sample_rate):
            queue, reason, priority = RANDOM_QUEUE, "random_sample", 0
        else:
            continue
        items.append(
            {
                "Timestamp": call.ch_timestamp,
                "Queue": queue,
                "TraceId": call.trace_id,
                "SpanId": call.span_id,
                "Reason": reason,
                "Priority": priority,
                "Model": call.model,
                "InputText": call.input_text,
                "OutputText": call.output_text,
            }
        )
    return items
