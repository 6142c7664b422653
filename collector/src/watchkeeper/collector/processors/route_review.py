"""Choose which calls go to human review, and into which queue, from ``review_queues``.

Per call, detector alarms, per-call scores and errors pick *one* queue: the highest-priority
queue with a matching rule and room under its hourly cap (a capped queue passes the call
on to the next matching one). A user's thumbs-down and the random sample are separate
events: they put the call in their own queue even when it already sits in another.
Feedback usually arrives after its call, in a later batch: those targets are resolved
from the store after the batch is written (:meth:`ReviewRouter.resolve_feedback`).

Caps count items per queue and hour of *call* time, remembering which calls they
admitted, so a replayed batch is admitted again rather than counted twice.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.review.feed_items import stored_call_item
from watchkeeper.collector.review.queues import ReviewQueue, RouteRule, default_queues, ordered
from watchkeeper.collector.scores import BatchScores

_HOUR_NS = 3600 * 10**9
#: Hours of cap bookkeeping kept behind the newest call seen.
_CAP_HOURS_KEPT = 48
#: How far before a feedback record its call is looked for in the store.
FEEDBACK_LOOKBACK_NS = 7 * 24 * _HOUR_NS
#: The first part of a judge's score names (``judge.<judge>.<dimension>``).
JUDGE_PREFIX = "judge"
#: Calls of one trace routed for one feedback record that names no call.
_MAX_CALLS_PER_TRACE = 10


@dataclass(frozen=True)
class FeedbackTarget:
    """A thumbs-down whose call was not in the batch: looked up after the batch is stored."""

    queue: str
    trace_id: str
    span_id: str  # empty when the feedback names only the trace
    reason: str
    priority: int
    timestamp_ns: int


@dataclass
class Routing:
    """What routing decided for one batch."""

    items: list[dict[str, Any]] = field(default_factory=list)
    #: span ids of calls in the batch that were routed (their bodies must be kept)
    routed: set[str] = field(default_factory=set)
    late_feedback: list[FeedbackTarget] = field(default_factory=list)
    #: (queue, reason) -> items not enqueued: ``cap``, ``no_call``, ``no_body``
    not_enqueued: Counter[tuple[str, str]] = field(default_factory=Counter)


class ReviewRouter:
    """Routes calls, feedback and random picks to the configured queues."""

    def __init__(self, queues: Mapping[str, ReviewQueue] | None = None) -> None:
        self.queues: dict[str, ReviewQueue] = dict(
            queues if queues is not None else default_queues()
        )
        self._ordered = ordered(self.queues)
        self._by_signal: dict[str, list[tuple[str, ReviewQueue, RouteRule]]] = {}
        for name, queue in self._ordered:
            for rule in queue.when:
                self._by_signal.setdefault(rule.signal, []).append((name, queue, rule))
        self._lock = threading.Lock()
        # (queue, hour) -> span ids admitted, for capped queues only
        self._admitted: dict[tuple[str, int], set[str]] = {}
        self._newest_hour = 0

    @property
    def queue_names(self) -> list[str]:
        """Queue names, highest priority first."""
        return [name for name, _ in self._ordered]

    def check_detectors(self, names: Collection[str]) -> None:
        """Fail at start on a rule naming a detector that does not run."""
        from watchkeeper.collector.settings import ConfigError

        for queue_name, queue in self._ordered:
            for index, rule in enumerate(queue.when):
                detector = rule.alarm if rule.alarm not in (None, "*") else None
                if rule.score is not None:
                    detector = rule.score.split(".", 1)[0]
                if detector == JUDGE_PREFIX:
                    continue  # the judges check their own scores at start
                if detector is not None and detector not in names:
                    raise ConfigError(
                        f"invalid setting 'review_queues.{queue_name}.when.{index}': no "
                        f"detector named {detector!r}; detectors: {', '.join(sorted(names))}"
                    )

    def seed(self, routed: Iterable[Mapping[str, Any]]) -> None:
        """Restore cap bookkeeping from stored items (rows of ``Store.routed_since``)."""
        with self._lock:
            for row in routed:
                queue = self.queues.get(str(row["Queue"]))
                if queue is not None and queue.cap_per_hour is not None:
                    self._admit(
                        str(row["Queue"]), queue, str(row["SpanId"]), int(row["TimestampNs"])
                    )

    def route(
        self,
        calls: Sequence[CallRecord],
        flagged: Mapping[str, Sequence[str]],
        scores: BatchScores | Mapping[str, Mapping[str, float]],
        feedback: Sequence[Mapping[str, Any]] = (),
    ) -> Routing:
        """Route a batch: ``flagged`` span id -> detectors, ``scores`` the calls' scores (or
        span id -> ``{"<detector>.<score>": value}``), ``feedback`` rows of the
        ``feedback`` table."""
        if not isinstance(scores, BatchScores):
            scores = BatchScores.of(calls, scores)
        out = Routing()
        with self._lock:
            by_score = self._score_candidates(scores)
            for call in calls:
                # Only the signals this call carries are looked at: most carry none.
                detectors = flagged.get(call.span_id, ())
                scored = by_score.get(call.span_id, ())
                if detectors or scored or call.is_error:
                    self._route_call(call, detectors, scored, out)
            if feedback:
                self._route_feedback(calls, feedback, out)
        return out

    def judge_rules(self) -> list[RouteRule]:
        """The score rules on judge scores (``judge.<judge>.<dimension>``)."""
        return [c[2] for c in self._by_signal.get("score", ()) if _on_judge(c[2])]

    def route_judged(
        self, item: Mapping[str, Any], timestamp_ns: int, scores: Mapping[str, float]
    ) -> Routing:
        """Items for a stored call whose judge verdict arrived: its judge scores against
        the judge score rules, one queue per call (as :meth:`route`). ``item`` is the
        call's ``review_items`` row without Queue, Reason, Priority, RequiredLabels."""
        out = Routing()
        span_id, route = str(item["SpanId"]), str(item["Route"])
        model, service = str(item["Model"]), str(item["ServiceName"])
        candidates = [
            c
            for c in self._by_signal.get("score", ())
            if _on_judge(c[2])
            and c[2].applies_to(route, model, service)
            and bool(c[2].score_mask(np.array([scores.get(str(c[2].score), np.nan)]))[0])
        ]
        candidates.sort(key=lambda c: (-c[1].priority, c[0]))
        with self._lock:
            for name, queue, rule in candidates:
                if self._admit(name, queue, span_id, timestamp_ns):
                    out.items.append(
                        {
                            **item,
                            "Queue": name,
                            "Reason": rule.reason,
                            "Priority": _priority(queue, rule),
                            "RequiredLabels": queue.reviewers,
                        }
                    )
                    out.routed.add(span_id)
                    break
                out.not_enqueued[(name, "cap")] += 1
        return out

    def sampled(self, picks: Sequence[CallRecord]) -> Routing:
        """Items for the random sample's picks (queues with a ``sample`` rule)."""
        out = Routing()
        with self._lock:
            for call in picks:
                self._first_match(call, "sample", out)
        return out

    def resolve_feedback(
        self, targets: Sequence[FeedbackTarget], rows: Sequence[Mapping[str, Any]]
    ) -> Routing:
        """Items for feedback targets from stored calls (rows of ``Store.calls_for_review``).

        A target whose call is not stored (yet) counts as ``no_call``; a call stored
        without its texts (body sampling dropped them) counts as ``no_body`` and is not
        queued: there would be nothing for a reviewer to judge.
        """
        out = Routing()
        by_trace: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            by_trace.setdefault(str(row["TraceId"]), []).append(row)
        with self._lock:
            for target in targets:
                found = [
                    row
                    for row in by_trace.get(target.trace_id, [])
                    if not target.span_id or row["SpanId"] == target.span_id
                ][:_MAX_CALLS_PER_TRACE]
                if not found:
                    out.not_enqueued[(target.queue, "no_call")] += 1
                for row in found:
                    if not row.get("BodySpanId"):
                        out.not_enqueued[(target.queue, "no_body")] += 1
                        continue
                    queue = self.queues[target.queue]
                    if not self._admit(
                        target.queue, queue, str(row["SpanId"]), int(row["TimestampNs"])
                    ):
                        out.not_enqueued[(target.queue, "cap")] += 1
                        continue
                    item = stored_call_item(
                        row,
                        queue=target.queue,
                        reason=target.reason,
                        priority=target.priority,
                        reviewers=queue.reviewers,
                    )
                    out.items.append(item | {"Contexts": list(row["Contexts"])})
        return out

    # --- internals (under self._lock) --------------------------------------------------
    def _score_candidates(
        self, scores: BatchScores
    ) -> dict[str, list[tuple[str, ReviewQueue, RouteRule]]]:
        """Span id -> the score rules its scores meet, in rule order. Rule by rule, a
        column at a time: every call carries scores, and most meet no rule."""
        found: dict[str, list[tuple[str, ReviewQueue, RouteRule]]] = {}
        calls = scores.calls
        for candidate in self._by_signal.get("score", ()):
            rule = candidate[2]
            column = scores.columns.get(str(rule.score))
            if column is None:
                continue
            for i in np.flatnonzero(rule.score_mask(column)).tolist():
                found.setdefault(calls[i].span_id, []).append(candidate)
        return found

    def _route_call(
        self,
        call: CallRecord,
        detectors: Sequence[str],
        scored: Sequence[tuple[str, ReviewQueue, RouteRule]],
        out: Routing,
    ) -> None:
        candidates = []
        if detectors:
            candidates += [
                c
                for c in self._by_signal.get("alarm", ())
                if c[2].alarm == "*" or c[2].alarm in detectors
            ]
        candidates += scored
        if call.is_error:
            candidates += self._by_signal.get("error", [])
        candidates = [
            c for c in candidates if c[2].applies_to(call.route, call.model, call.service_name)
        ]
        if not candidates:
            return
        # One queue per call: the best-priority match with room under its cap.
        candidates.sort(key=lambda c: (-c[1].priority, c[0]))
        for name, queue, rule in candidates:
            if self._admit(name, queue, call.span_id, call.timestamp_ns):
                out.items.append(_call_item(call, name, queue, rule))
                out.routed.add(call.span_id)
                return
            out.not_enqueued[(name, "cap")] += 1

    def _first_match(self, call: CallRecord, signal: str, out: Routing) -> None:
        for name, queue, rule in self._by_signal.get(signal, []):
            if not rule.applies_to(call.route, call.model, call.service_name):
                continue
            if self._admit(name, queue, call.span_id, call.timestamp_ns):
                out.items.append(_call_item(call, name, queue, rule))
                out.routed.add(call.span_id)
                return
            out.not_enqueued[(name, "cap")] += 1

    def _route_feedback(
        self, calls: Sequence[CallRecord], feedback: Sequence[Mapping[str, Any]], out: Routing
    ) -> None:
        rules = self._by_signal.get("feedback", [])
        if not rules:
            return
        in_batch: dict[str, list[CallRecord]] = {}
        for call in calls:
            in_batch.setdefault(call.trace_id, []).append(call)
        for row in feedback:
            label = str(row.get("Label") or "").strip().lower()
            raw_score = row.get("Score")
            score = float(raw_score) if isinstance(raw_score, (int, float)) else None
            # The SDK sends an all-zero parent when feedback names only the trace.
            target_span = str(row.get("TargetSpanId") or "")
            if not target_span.strip("0"):
                target_span = ""
            trace_id = str(row["TraceId"])
            for name, queue, rule in rules:
                if not rule.is_negative_feedback(label, score):
                    continue
                # Only configured labels become reasons: reasons stay a bounded set.
                reason = f"feedback:{label}" if label in rule.labels else "feedback:low_score"
                matches = [
                    call
                    for call in in_batch.get(trace_id, [])
                    if not target_span or call.span_id == target_span
                ][:_MAX_CALLS_PER_TRACE]
                if not matches:
                    out.late_feedback.append(
                        FeedbackTarget(
                            name,
                            trace_id,
                            target_span,
                            reason,
                            _priority(queue, rule),
                            _timestamp_ns(row),
                        )
                    )
                for call in matches:
                    if self._admit(name, queue, call.span_id, call.timestamp_ns):
                        item = _call_item(call, name, queue, rule)
                        item["Reason"] = reason
                        out.items.append(item)
                        out.routed.add(call.span_id)
                    else:
                        out.not_enqueued[(name, "cap")] += 1
                break  # the first (highest-priority) feedback queue takes it

    def _admit(self, name: str, queue: ReviewQueue, span_id: str, timestamp_ns: int) -> bool:
        if queue.cap_per_hour is None:
            return True
        hour = timestamp_ns // _HOUR_NS
        if hour > self._newest_hour:
            self._newest_hour = hour
            horizon = hour - _CAP_HOURS_KEPT
            for key in [k for k in self._admitted if k[1] < horizon]:
                del self._admitted[key]
        admitted = self._admitted.setdefault((name, hour), set())
        if span_id in admitted:
            return True  # the same call again (a replay): already counted
        if len(admitted) >= queue.cap_per_hour:
            return False
        admitted.add(span_id)
        return True


def _on_judge(rule: RouteRule) -> bool:
    return rule.score is not None and rule.score.startswith(JUDGE_PREFIX + ".")


def _priority(queue: ReviewQueue, rule: RouteRule) -> int:
    return rule.priority if rule.priority is not None else queue.priority


def _call_item(
    call: CallRecord, queue_name: str, queue: ReviewQueue, rule: RouteRule
) -> dict[str, Any]:
    """A ``review_items`` row for a call in the batch."""
    reason = rule.reason
    if rule.alarm == "*":
        reason = "alarm"  # which detector is in the alarms table; keep reasons bounded
    return {
        "Timestamp": call.ch_timestamp,
        "Queue": queue_name,
        "TraceId": call.trace_id,
        "SpanId": call.span_id,
        "ServiceName": call.service_name,
        "Route": call.route,
        "Reason": reason,
        "Priority": _priority(queue, rule),
        "Model": call.model,
        "InputText": call.input_text,
        "OutputText": call.output_text,
        "Contexts": list(call.contexts),
        "RequiredLabels": queue.reviewers,
    }


def _timestamp_ns(row: Mapping[str, Any]) -> int:
    """A feedback row's time (``seconds.nanos`` text) as integer nanoseconds."""
    text = str(row.get("Timestamp") or "0")
    seconds, _, frac = text.partition(".")
    try:
        return int(seconds) * 1_000_000_000 + int((frac + "000000000")[:9])
    except ValueError:
        return 0
