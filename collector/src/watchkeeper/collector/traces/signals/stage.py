"""The pipeline stage that runs the signals on whole traces and watches them.

After the batch's spans are kept, its spans (LLM calls and every other kind) go to
:class:`.open_traces.OpenTraces`; each trace they complete is scored
(:func:`~watchkeeper.collector.traces.signals.trace_signals`, and ``conversation.rephrase``
for a turn of a session), the values go to :class:`.watch.SignalWatch` under the trace's
``service|route|agent`` key, and the batch's rows get them like detector scores: one
``call_scores`` row for the trace's top span (merged into its call's row when it is an
LLM call of this batch), and an alarm on that span for each change found. Sessions that
are over give their per-session signals; their alarms go on the last turn's top span.

A trace completed after its top span's batch (a partial one, or one held by a grace
period) has its scores stored unless that span was an LLM call of an earlier batch,
whose stored row of detector scores would be replaced; its alarms are raised always.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import Counter
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from typing import Any, Final, NamedTuple, Protocol

import numpy as np

from watchkeeper.collector.record import CallRecord, ns_to_clickhouse
from watchkeeper.collector.scores import BatchScores
from watchkeeper.collector.scores import Column as ScoreColumn
from watchkeeper.collector.settings.review_queues import ReviewQueue
from watchkeeper.collector.store.span_columns import SpanColumns
from watchkeeper.collector.store.store import WriteBatch
from watchkeeper.collector.traces.assemble import Trace, TraceSpan, assemble
from watchkeeper.collector.traces.signals import rag, steps, trace_signals
from watchkeeper.collector.traces.signals.open_traces import OpenTraces, trimmed_span
from watchkeeper.collector.traces.signals.recent_keys import RecentKeys
from watchkeeper.collector.traces.signals.review_feed import (
    FIRING,
    Feed,
    conversation_reason,
    trajectory_reason,
)
from watchkeeper.collector.traces.signals.session_tracker import (
    EndedSession,
    SessionTracker,
)
from watchkeeper.collector.traces.signals.summarised import (
    Part,
    Parts,
    summary_record,
    take_summarised,
)
from watchkeeper.collector.traces.signals.value_columns import Column, value_columns
from watchkeeper.collector.traces.signals.watch import SignalAlarm, SignalWatch
from watchkeeper.collector.traces.span_record import span_from_call
from watchkeeper.collector.traces.trace_summary import TraceSummary, top_record

log = logging.getLogger("watchkeeper.collector.traces")

#: A span's trace and span ids (span ids alone are unique only with good randomness).
Ids = tuple[str, str]
#: LLM call span ids remembered (a trace's calls come within its timeout; up to a quarter
#: more, see ``RecentKeys``).
_CALLS_REMEMBERED = 200_000


class BatchInFlight(Protocol):
    """What the stage reads and fills of the pipeline's batch in flight."""

    calls: list[CallRecord]
    spans: list[TraceSpan]
    #: more of them, as the core's Arrow columns (the spans of the traces it summarised)
    span_columns: list[SpanColumns]
    #: traces the compiled core scored as it read them (``traces.trace_summary``)
    trace_summaries: list[TraceSummary]
    batch: WriteBatch


@dataclass
class _Scored:
    """What the batch's traces and sessions gave: per item, the values watched and the
    row they are stored on; the alarms found."""

    #: the summarised traces' spans (read for a review item only)
    parts: Parts = field(default_factory=Parts.empty)
    #: what goes to the watch, ``(key, values)``
    watched: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    #: per item: the span its values are stored on (None: not stored), the span its
    #: alarms go on, and what its review item would show
    stored: list[CallRecord | None] = field(default_factory=list)
    on: list[CallRecord] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    alarms: list[dict[str, Any]] = field(default_factory=list)


class SessionShown(NamedTuple):
    """What a session's review item shows, and whether it had a rephrased turn."""

    texts: tuple[str, str, list[str]]
    rephrased: bool


#: What a review item of a watched item shows: a session's texts, or a trace, whose texts
#: are read from it when needed (a trace the core scored, by its id, assembled then).
Shown = SessionShown | Trace | str


@dataclass
class TraceSignalStage:
    """Signals on whole traces and sessions, watched per key (not thread-safe: the
    pipeline runs its call stages one batch at a time)."""

    watch: SignalWatch = field(default_factory=SignalWatch)
    traces: OpenTraces = field(default_factory=OpenTraces)
    sessions: SessionTracker = field(default_factory=SessionTracker)
    #: review queues fed whole trajectories and conversations (none: no review items)
    queues: Mapping[str, ReviewQueue] = field(default_factory=dict)
    #: traces scored so far
    scored: int = 0
    #: traces whose signals raised (they get none), and batches the stage failed on
    errors: int = 0
    #: told how many errors each batch had (the pipeline counts them in its metrics)
    on_errors: Callable[[int], object] | None = None
    #: span ids of recent LLM calls: their call_scores rows are not rewritten later
    _calls_seen: RecentKeys[Ids] = field(default_factory=lambda: RecentKeys(_CALLS_REMEMBERED))
    _feeds: tuple[Feed, Feed] = field(init=False)

    def __post_init__(self) -> None:
        self._feeds = (
            Feed("trajectories", self.queues),
            Feed("conversations", self.queues),
        )

    def __call__(self, prepared: BatchInFlight) -> None:
        """Score the traces this batch completes; add their rows to the batch's.

        Never raises: a trace whose signals raise gets none, and should the stage fail
        as a whole the batch goes on without trace signals (a receiver retries a failed
        batch for ever). Either is counted (:attr:`errors`) and logged once per batch.
        """
        errors = self.errors
        try:
            self._run(prepared)
        except Exception as error:
            self.errors += 1
            log.warning(
                "the trace signal stage failed on a batch, which is stored without trace "
                "signals: %s: %s",
                type(error).__name__,
                error,
            )
        if self.errors > errors and self.on_errors is not None:
            self.on_errors(self.errors - errors)

    def _run(self, prepared: BatchInFlight) -> None:
        calls = {(call.trace_id, call.span_id): call for call in prepared.calls}
        self._calls_seen.update(calls)
        taken = take_summarised(
            prepared.trace_summaries,
            prepared.calls,
            prepared.spans,
            self.traces,
            prepared.span_columns,
        )
        alone, joined = self._alone(taken.calls, taken.spans)
        completed = self.traces.add(_batch_spans(joined, taken.spans))
        # A trace of one LLM call gives no trajectory or RAG signal; only a turn of a
        # session has something to score (whether it repeats an earlier question).
        completed.extend(assemble([_call_span(call)]) for call in alone if call.conversation_id)
        summaries = [summary for summary in taken.summaries if summary.values]
        out = _Scored(taken.parts)
        self._score_all(completed, summaries, calls, out)
        for ended in self.sessions.ended():
            self._session(ended, out)
        columns = value_columns([values for _, values in out.watched])
        found = self.watch.update_columns([key for key, _ in out.watched], columns)
        out.alarms.extend(_alarm(alarm, out.on[at]) for at, alarm in found)
        reviews = _reviews(self._feeds, out, found, columns, self.traces.max_text_chars)
        if any(record is not None for record in out.stored):
            prepared.batch.scores = _merged(prepared.batch.scores, out.stored, columns)
        prepared.batch.review_items.extend(reviews)
        prepared.batch.alarms.extend(out.alarms)

    def _score_all(
        self,
        traces: list[Trace],
        summaries: list[TraceSummary],
        calls: dict[Ids, CallRecord],
        out: _Scored,
    ) -> None:
        """:meth:`_score` each trace in start order (a session's turns exported by two
        processes, or read from two partitions, may complete in one batch in any order,
        and a rephrase is a later turn); a trace whose signals raise gets none. Traces the
        core scored go a run of them at a time (their signals are computed already)."""
        failed: list[tuple[str, Exception]] = []
        starts = [_started(trace) for trace in traces]
        starts.extend(map(_START_NS, summaries))
        n = len(traces)
        # Places in start order (a stable sort: ties keep the traces first), in runs of
        # traces (places below n) and of summaries.
        order = sorted(range(len(starts)), key=starts.__getitem__)
        for summarised, run in groupby(order, key=n.__le__):
            if summarised:
                self._score_summaries([summaries[at - n] for at in run], calls, out)
                continue
            for at in run:
                trace = traces[at]
                try:
                    self._score(trace, calls, out)
                except Exception as raised:
                    failed.append((trace.trace_id, raised))
        if failed:
            self.errors += len(failed)
            trace_id, error = failed[0]
            log.warning(
                "trace signals raised on %d trace(s) of a batch, which get none; the first, "
                "trace %s: %s: %s",
                len(failed),
                trace_id,
                type(error).__name__,
                error,
            )

    def _alone(
        self, calls: Sequence[CallRecord], others: Sequence[TraceSpan]
    ) -> tuple[list[CallRecord], list[CallRecord]]:
        """The batch's calls that are whole traces by themselves (a root, the only span of
        its trace in the batch, none held, no grace period to wait), and the others."""
        if self.traces.grace_s > 0:
            return [], list(calls)
        per_trace = Counter(call.trace_id for call in calls)
        per_trace.update(span.trace_id for span in others)
        alone, joined = [], []
        traces = self.traces
        for call in calls:
            trace_id = call.trace_id
            if call.parent_span_id or per_trace[trace_id] > 1 or traces.is_open(trace_id):
                joined.append(call)
            elif traces.take_alone(trace_id):
                alone.append(call)
        return alone, joined

    def _score(self, trace: Trace, calls: dict[Ids, CallRecord], out: _Scored) -> None:
        """The trace's values: to the rows (see the module's doc) and to be watched."""
        top = steps.top(trace)
        if top is None:
            return
        values = trace_signals(trace)
        values.update((f"conversation.{name}", v) for name, v in self.sessions.turn(trace).items())
        if not values:
            return
        self.scored += 1
        key = steps.key(trace)
        ids = (top.trace_id, top.span_id)
        record = calls.get(ids) or _record(top, key)
        # Stored unless the top span is an LLM call of an earlier batch (only LLM calls
        # are remembered, this batch's among them).
        stored = ids in calls or ids not in self._calls_seen
        out.watched.append((key, values))
        out.stored.append(record if stored else None)
        out.on.append(record)
        out.shown.append(trace)

    def _score_summaries(
        self, summaries: list[TraceSummary], calls: dict[Ids, CallRecord], out: _Scored
    ) -> None:
        """:meth:`_score` of traces the core scored: the same rows, without their spans."""
        self.scored += len(summaries)
        ids = [(summary.trace_id, summary.top_span_id) for summary in summaries]
        found = list(map(calls.get, ids))
        records = [
            record if record is not None else summary_record(summary)
            for record, summary in zip(found, summaries, strict=True)
        ]
        new = self._calls_seen.absent(ids)
        out.watched.extend([(summary.key, summary.values) for summary in summaries])
        out.stored.extend(
            [
                record if call is not None or unseen else None
                for record, call, unseen in zip(records, found, new, strict=True)
            ]
        )
        out.on.extend(records)
        out.shown.extend([summary.trace_id for summary in summaries])

    def _session(self, ended: EndedSession, out: _Scored) -> None:
        """A session that is over: its values watched, and stored on its last turn's top
        span, or when that is an LLM call whose row of detector scores would be replaced,
        on another span of that turn that is no LLM call (none: not stored)."""
        values = {f"conversation.{name}": v for name, v in ended.signals.items()}
        service, route, agent = ended.key.split("|", 2)
        record = CallRecord(
            ended.trace_id,
            ended.span_id,
            ended.start_ns,
            0,
            service_name=service,
            route=route,
            request_model=agent,
        )
        stored_on = _free_span(ended, self._calls_seen)
        out.watched.append((ended.key, values))
        if stored_on is None:
            out.stored.append(None)
        else:
            span_id, start_ns = stored_on
            out.stored.append(dataclasses.replace(record, span_id=span_id, timestamp_ns=start_ns))
        out.on.append(record)
        rephrased = ended.signals.get("rephrase_rate", 0.0) > 0.0
        out.shown.append(SessionShown((ended.question, ended.answer, []), rephrased))


def _free_span(ended: EndedSession, calls: Container[Ids]) -> tuple[str, int] | None:
    """Where a session's values can be stored without replacing a call's scores."""
    for span_id, start_ns in ((ended.span_id, ended.start_ns), *ended.others):
        if (ended.trace_id, span_id) not in calls:
            return span_id, start_ns
    return None


_START_NS: Final = attrgetter("start_ns")


def _started(trace: Trace) -> int:
    return min((span.start_ns for span in trace.spans), default=0)


def _assembled(part: Part, limit: int) -> Trace:
    """The trace of a summary, as the stage would have held and assembled it."""
    spans = _batch_spans(part.calls, part.all_spans())
    return assemble(trimmed_span(span, limit) for span in spans)


def _texts(trace: Trace) -> tuple[str, str, list[str]]:
    """The question, the answer and the passages the model was given."""
    return steps.question(trace), steps.answer(trace), rag.given_passages(trace)


def _reviews(
    feeds: tuple[Feed, Feed],
    out: _Scored,
    found: Sequence[tuple[int, SignalAlarm]],
    columns: Mapping[str, Column],
    limit: int,
) -> list[dict[str, Any]]:
    """Review items of the traces and sessions that fired or alarmed (``columns``: the
    watched values as columns; ``limit``: the texts' cut, as the stage holds spans)."""
    trajectories, conversations = feeds
    if not (trajectories.wanted or conversations.wanted):
        return []
    alarmed: dict[int, list[str]] = {}
    for at, alarm in found:
        alarmed.setdefault(at, []).append(alarm.signal)
    sessions = [at for at, shown in enumerate(out.shown) if type(shown) is SessionShown]
    reasons: list[tuple[int, str]] = []
    for at in sorted({*_fired(columns), *alarmed, *sessions}):
        shown, signals, values = out.shown[at], alarmed.get(at, []), out.watched[at][1]
        if isinstance(shown, SessionShown):
            short = {name.removeprefix("conversation."): v for name, v in values.items()}
            reason = conversation_reason(short, shown.rephrased, signals)
        else:
            reason = trajectory_reason(values, signals)
        if reason:
            reasons.append((at, reason))
    # The summarised traces' spans, found in the batch at once for every item.
    out.parts.gather(
        shown for shown in [out.shown[at] for at, _ in reasons] if isinstance(shown, str)
    )
    items = []
    for at, reason in reasons:
        shown = out.shown[at]
        if isinstance(shown, SessionShown):
            items.extend(conversations.items(out.on[at], reason, shown.texts))
            continue
        trace = shown if isinstance(shown, Trace) else _assembled(out.parts[shown], limit)
        items.extend(trajectories.items(out.on[at], reason, _texts(trace)))
    return items


def _fired(columns: Mapping[str, Column]) -> set[int]:
    """The items where a signal that fires (``review_feed.FIRING``) did."""
    fired: set[int] = set()
    for name in FIRING:
        column = columns.get(name)
        if column is not None:
            members, values = column
            fired.update(at for at, v in zip(members, values, strict=True) if v >= 1.0)
    return fired


def _batch_spans(calls: Sequence[CallRecord], others: Sequence[TraceSpan]) -> list[TraceSpan]:
    """Every span of the batch with what the signals read: an LLM call's row with its
    texts, route and tokens, and the other spans as they are."""
    return [*(_call_span(call) for call in calls), *others]


def _call_span(call: CallRecord) -> TraceSpan:
    extra = {"watchkeeper.route": call.route}
    if call.input_tokens or call.output_tokens:
        extra["gen_ai.usage.input_tokens"] = str(call.input_tokens)
        extra["gen_ai.usage.output_tokens"] = str(call.output_tokens)
    return span_from_call(call, with_body=True, attributes={**call.attributes, **extra})


def _record(top: TraceSpan, key: str) -> CallRecord:
    """The row a trace's scores go on when its top span is not an LLM call."""
    return top_record(
        key,
        trace_id=top.trace_id,
        span_id=top.span_id,
        start_ns=top.start_ns,
        duration_ns=top.duration_ns,
        name=top.name,
        status=top.status,
        parent_span_id=top.parent_span_id,
    )


def _alarm(found: SignalAlarm, record: CallRecord) -> dict[str, Any]:
    return {
        "Timestamp": ns_to_clickhouse(record.timestamp_ns),
        "Detector": found.signal,
        "DetectorKey": found.key,
        "TraceId": record.trace_id,
        "SpanId": record.span_id,
        "Score": found.value if math.isfinite(found.value) else 0.0,
        "Message": f"{found.signal} detected a change for {found.key}: {found.reason}",
    }


def _merged(
    scores: BatchScores, stored: Sequence[CallRecord | None], columns: Mapping[str, Column]
) -> BatchScores:
    """The batch's scores with the values of the items ``stored`` on a row added
    (``columns``: the items' values as columns); a row per span: a call's values join its
    detector scores, and a later value for a row replaces an earlier one."""
    calls, places = _placed(scores.calls, stored)
    before, grow = len(scores.calls), len(calls) - len(scores.calls)
    merged: dict[str, ScoreColumn] = {
        name: np.concatenate([column, np.full(grow, np.nan)]) if grow else column.copy()
        for name, column in scores.columns.items()
    }
    rows = np.array(places, np.int64)
    once = len(set(places)) - (-1 in places) == int(np.count_nonzero(rows >= 0))
    # Usual case: every item stored on a row of its own added here, in item order.
    appended = places == list(range(before, len(calls)))
    for name, (members, values) in columns.items():
        if appended and len(members) == len(places):
            _column(merged, name, len(calls))[before:] = values
            continue
        picked = rows[np.fromiter(members, np.int64, len(members))]
        got = np.fromiter(values, np.float64, len(values))
        held = picked >= 0
        if not held.any():
            continue
        if not held.all():
            picked, got = picked[held], got[held]
        column = _column(merged, name, len(calls))
        if once:  # one numpy assignment a name, not one a value
            column[picked] = got
        else:
            for place, value in zip(picked.tolist(), got.tolist(), strict=True):
                column[place] = value
    out = BatchScores(calls, merged)
    out.drop_non_finite()
    return out


def _column(columns: dict[str, ScoreColumn], name: str, rows: int) -> ScoreColumn:
    """The score column ``name`` (NaN throughout when new)."""
    column = columns.get(name)
    if column is None:
        column = columns[name] = np.full(rows, np.nan)
    return column


def _placed(
    calls: Sequence[CallRecord], stored: Sequence[CallRecord | None]
) -> tuple[list[CallRecord], list[int]]:
    """The rows: ``calls`` and the records of ``stored`` not among them; per item, its
    row (-1: not stored)."""
    rows = list(calls)
    at = {(call.trace_id, call.span_id): i for i, call in enumerate(rows)}
    places = []
    for record in stored:
        if record is None:
            places.append(-1)
            continue
        ids = (record.trace_id, record.span_id)
        place = at.get(ids)
        if place is None:
            place = at[ids] = len(rows)
            rows.append(record)
        places.append(place)
    return rows, places
