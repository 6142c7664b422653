"""Whole trajectories and conversations put where reviewers look: the queues with a
``feed = "trajectories"`` or ``feed = "conversations"`` rule (the built-in queues of those
names).

A trace goes to the trajectory queues when one of its trajectory or RAG signals fired (a
tool failed, a loop, arguments against the tool's schema, no answer, an empty retrieval)
or a watched signal alarmed on it; a session goes to the conversation queues when it
ended abandoned, or with a rephrased question, or alarmed. The item is the trace's top
span (the session's last turn's), with the question, the answer and the passages the
model was given; the review page shows the whole trajectory or conversation inline.
Each queue's ``cap_per_hour`` is applied here, by the item's start time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.settings.review_queues import ReviewQueue, RouteRule

#: The reason of a trajectory item starts with this, then the first signal that fired.
TRAJECTORY_REASON: Final = "trajectory:"
#: The reason of a conversation item starts with this, then what it shows.
CONVERSATION_REASON: Final = "conversation:"
#: Per-trace signals whose value 1 (or more) means something went wrong in the trace.
FIRING: Final = (
    "trajectory.tool_loop",
    "trajectory.answer_after_tool_error",
    "trajectory.ended_after_tool_error",
    "trajectory.no_answer",
    "trajectory.schema_violation",
    "rag.retrieval_empty",
    "trajectory.tool_error",
)
_HOUR_NS: Final = 3600 * 10**9
_CAP_HOURS_KEPT: Final = 3


@dataclass
class Feed:
    """Review items of one feed (``trajectories`` or ``conversations``)."""

    name: str
    queues: Mapping[str, ReviewQueue]
    _rules: list[tuple[str, ReviewQueue, RouteRule]] = field(default_factory=list)
    _admitted: dict[tuple[str, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rules = [
            (name, queue, rule)
            for name, queue in self.queues.items()
            for rule in queue.when
            if rule.feed == self.name
        ]

    @property
    def wanted(self) -> bool:
        """Whether some queue takes this feed."""
        return bool(self._rules)

    def items(
        self, on: CallRecord, reason: str, texts: tuple[str, str, list[str]]
    ) -> list[dict[str, Any]]:
        """Rows of ``review_items`` for the span ``on`` in every queue of the feed that
        takes it (route/service filters, hourly caps); ``texts`` are the question, the
        answer and the passages."""
        out = []
        for name, queue, rule in self._rules:
            if not rule.applies_to(on.route, on.request_model, on.service_name):
                continue
            if not self._admit(name, queue, on.timestamp_ns):
                continue
            out.append(_item(name, queue, rule, on, reason=reason, texts=texts))
        return out

    def _admit(self, name: str, queue: ReviewQueue, timestamp_ns: int) -> bool:
        if queue.cap_per_hour is None:
            return True
        hour = timestamp_ns // _HOUR_NS
        for key in [k for k in self._admitted if k[1] < hour - _CAP_HOURS_KEPT]:
            del self._admitted[key]
        count = self._admitted.get((name, hour), 0)
        if count >= queue.cap_per_hour:
            return False
        self._admitted[(name, hour)] = count + 1
        return True


def trajectory_reason(values: Mapping[str, float], alarmed: Iterable[str]) -> str:
    """Why a trace is worth a review (the first signal that fired, else the first that
    alarmed: ``trajectory:tool_loop``, ``trajectory:rag.retrieval_empty``), or "" when
    nothing went wrong."""
    fired = next((name for name in FIRING if values.get(name, 0.0) >= 1.0), None)
    fired = fired or next(iter(alarmed), None)
    return f"{TRAJECTORY_REASON}{fired.removeprefix('trajectory.')}" if fired else ""


def conversation_reason(
    signals: Mapping[str, float], rephrased: bool, alarmed: Iterable[str]
) -> str:
    """Why a session is worth a review (abandoned, rephrased, an alarm), or ""."""
    if signals.get("abandoned", 0.0) >= 1.0:
        return f"{CONVERSATION_REASON}abandoned"
    if rephrased:
        return f"{CONVERSATION_REASON}rephrase"
    first = next(iter(alarmed), None)
    return f"{CONVERSATION_REASON}{first}" if first else ""


def _item(
    name: str,
    queue: ReviewQueue,
    rule: RouteRule,
    on: CallRecord,
    *,
    reason: str,
    texts: tuple[str, str, list[str]],
) -> dict[str, Any]:
    question, answer, passages = texts
    return {
        "Timestamp": on.ch_timestamp,
        "Queue": name,
        "TraceId": on.trace_id,
        "SpanId": on.span_id,
        "ServiceName": on.service_name,
        "Route": on.route,
        "Reason": reason,
        "Priority": rule.priority if rule.priority is not None else queue.priority,
        "Model": on.model,
        "InputText": question,
        "OutputText": answer,
        "Contexts": passages,
        "RequiredLabels": queue.reviewers,
    }
