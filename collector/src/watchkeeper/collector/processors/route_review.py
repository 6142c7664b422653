"""Choose which calls go to human review, and into which queue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watchkeeper.collector.record import CallRecord

#: Queue names are fixed here (bounded metric labels); routing rules come in config later.
RANDOM_QUEUE = "random"
ALARM_QUEUE = "alarms"
ERROR_QUEUE = "errors"


def review_items(
    calls: Sequence[CallRecord],
    flagged: Mapping[str, list[str]],
    random_picks: Sequence[CallRecord] = (),
) -> list[dict[str, Any]]:
    """Review rows: every flagged call, every error, and the reservoir's random picks."""
    items = []
    for call in calls:
        detectors = flagged.get(call.span_id)
        if detectors:
            items.append(_item(call, ALARM_QUEUE, "alarm:" + detectors[0], 10))
        elif call.is_error:
            items.append(_item(call, ERROR_QUEUE, "error", 5))
    items.extend(_item(call, RANDOM_QUEUE, "random_sample", 0) for call in random_picks)
    return items


def _item(call: CallRecord, queue: str, reason: str, priority: int) -> dict[str, Any]:
    return {
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
