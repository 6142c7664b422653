"""The one pipeline every receiver feeds, as a list of stages over whole batches.

    decode -> normalize -> detect -> route -> sample -> keep traces -> write
    -> route late feedback

Embedded (``watchkeeper up``/``demo``) or in a cluster (``watchkeeper collect``), the same
object does the work; only the receiver in front of it differs. A stage (:data:`Stage`)
is a callable that takes the batch in flight, reads what the stages before it left there
and adds its own part; the pipeline runs them in a plain loop. Bad input never raises out
of a stage: it becomes a dead letter with its reason.

A stage works on a whole batch at once, which is what keeps the fast paths fast: the
compiled core decodes runs of payloads with the GIL released, the detectors go through
runs of a key's calls while a thread analyses the next runs' texts, scores stay numpy
columns, and the store makes its rows on the thread that writes them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.processors.decode import RejectedPayload
from watchkeeper.collector.processors.decode_payloads import (
    DecodedPayload,
    DecodedRun,
    Payload,
    decode_payloads,
)
from watchkeeper.collector.processors.detect import Detection, DetectorStage
from watchkeeper.collector.processors.detector_errors import DetectorErrors
from watchkeeper.collector.processors.normalize import normalize_payload
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.processors.route_review import (
    FEEDBACK_LOOKBACK_NS,
    FeedbackTarget,
    ReviewRouter,
)
from watchkeeper.collector.processors.sample_bodies import KEEP_REVIEW, BodySampling
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.span_columns import SpanColumns, span_kinds
from watchkeeper.collector.store.store import DeadLetter, Store, WriteBatch
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.keep import TraceKeeper
from watchkeeper.collector.traces.signals.stage import TraceSignalStage
from watchkeeper.collector.traces.signals.summarised import takes_summaries
from watchkeeper.collector.traces.trace_summary import TraceSummary
from watchkeeper.detectors import Detector, default_detectors
from watchkeeper.detectors.budget.false_alarm_budget import FalseAlarmBudget
from watchkeeper.detectors.effect.severity import SeverityPolicy

__all__ = ["BatchResult", "DeadLetterSink", "Payload", "Pipeline", "PreparedBatch", "Stage"]

log = logging.getLogger("watchkeeper.collector")

#: Called with each dead letter after its batch is stored (e.g. a Kafka dead-letter topic).
DeadLetterSink = Callable[[DeadLetter], None]


@dataclass
class BatchResult:
    """What one ``process`` call did."""

    calls: int = 0
    skipped: int = 0
    dead_letters: int = 0
    rejected_payloads: int = 0
    alarms: int = 0
    review_items: int = 0
    bodies: int = 0
    #: Per-call scores and alarms, for callers that report them (``watchkeeper replay``).
    detection: Detection = field(default_factory=Detection)


@dataclass
class PreparedBatch:
    """One batch as the stages make it: payloads in, rows for the store (``batch``) out."""

    started: float
    payloads: Sequence[Payload] = ()
    #: decode -> normalize: each payload decoded as normalize reads it
    decoded: Iterable[DecodedRun | DecodedPayload] = ()
    #: the batch's own calls, in order (normalize, or given to ``process_calls``)
    calls: list[CallRecord] = field(default_factory=list)
    #: normalize -> keep traces: the batch's spans that are not LLM calls
    spans: list[TraceSpan] = field(default_factory=list)
    #: normalize -> keep traces: more of them, as the core's Arrow columns (the spans of
    #: traces it summarised)
    span_columns: list[SpanColumns] = field(default_factory=list)
    #: normalize -> trace signals: traces the compiled core scored as it read them
    trace_summaries: list[TraceSummary] = field(default_factory=list)
    #: detect: scores, alarms, flagged calls
    detection: Detection = field(default_factory=Detection)
    #: route: span ids of calls a rule sent to review (their bodies are kept)
    routed: set[str] = field(default_factory=set)
    #: route: thumbs-downs on calls of earlier batches, queued once this batch is stored
    late_feedback: list[FeedbackTarget] = field(default_factory=list)
    #: sample: review windows whose picks this batch stores, released once it is stored
    due_keys: list[tuple[str, int]] = field(default_factory=list)
    #: the rows for the store, filled by every stage
    batch: WriteBatch = field(default_factory=WriteBatch)
    #: (queue, reason) -> calls routing did not enqueue (cap, no_call, no_body)
    not_enqueued: Counter[tuple[str, str]] = field(default_factory=Counter)
    result: BatchResult = field(default_factory=BatchResult)


#: A pipeline stage: does its part of the work on the batch in flight, in place.
Stage = Callable[[PreparedBatch], None]


class Pipeline:
    """Turns OTLP payloads into stored calls, bodies, scores, alarms and review items.

    ``process`` returns only after the store confirmed the whole batch — dead letters
    included — so a receiver may acknowledge its input (commit Kafka offsets, answer HTTP
    200) exactly then. A bad payload or span never stops a batch: it becomes a dead letter
    with its reason, counted in ``watchkeeper_dead_letters_total``.
    """

    def __init__(
        self,
        store: Store,
        metrics: PipelineMetrics | None = None,
        detectors: Sequence[Detector] | None = None,
        *,
        body_sampling: BodySampling | None = None,
        reservoir: ReviewReservoir | None = None,
        max_detector_keys: int = 1000,
        dead_letter_sink: DeadLetterSink | None = None,
        router: ReviewRouter | None = None,
        traces: TraceKeeper | None = None,
        trace_signals: TraceSignalStage | None = None,
        detector_budget: FalseAlarmBudget | None = FalseAlarmBudget(),  # noqa: B008 - frozen
        severity: SeverityPolicy = SeverityPolicy(),  # noqa: B008 - frozen
    ) -> None:
        self.store = store
        self.metrics = metrics or PipelineMetrics()
        self._detect = Detect(
            DetectorStage(
                list(detectors) if detectors is not None else default_detectors(),
                max_keys=max_detector_keys,
                budget=detector_budget,
                policy=severity,
            ),
            self.metrics,
        )
        self.metrics.watch_gauge(
            "watchkeeper_detector_keys_away",
            "Keys whose signal has not come back to the reference of their last alarm, by "
            "detector and that alarm's severity (page, ticket).",
            ["detector", "severity"],
            lambda: {labels: float(n) for labels, n in self.detect.keys_away().items()},
            ttl_s=1.0,
        )
        self.body_sampling = body_sampling or BodySampling()
        self.reservoir = reservoir or ReviewReservoir()
        self.dead_letter_sink = dead_letter_sink
        self.router = router or ReviewRouter()
        self.traces = traces or TraceKeeper()
        #: the trajectory/RAG/conversation signal stage, when the pipeline has one
        self.trace_signals = trace_signals
        if trace_signals is not None:  # it contains its failures; they are counted
            trace_signals.on_errors = self.metrics.trace_signal_errors.inc
        self.router.check_detectors(self.detect.detector_names)
        # Detector state, review caps and the review sample follow the order of calls, and
        # chDB is single-session: the call stages take one batch at a time.
        self._lock = threading.Lock()
        #: payloads -> call records (receivers' threads may decode batches side by side)
        columns = trace_signals is None or takes_summaries(trace_signals.traces)
        self.decode_stages: tuple[Stage, ...] = (Decode(columns), Normalize(self.metrics))
        #: calls -> rows for the store, one batch at a time
        self.call_stages: tuple[Stage, ...] = (
            self._detect,
            Route(self.router),
            Sample(self.reservoir, self.body_sampling, self.router),
            KeepTraces(self.traces, self.metrics),
            # Trajectory, RAG and conversation signals on the traces a batch completes.
            *((trace_signals,) if trace_signals is not None else ()),
        )
        #: the store and what needs the batch stored; the batch is acknowledged after them
        self.store_stages: tuple[Stage, ...] = (
            Write(store, self.metrics),
            RouteLateFeedback(store, self.router, self.metrics),
        )

    @property
    def detect(self) -> DetectorStage:
        """The detectors the detect stage feeds (assign to run others, e.g. none)."""
        return self._detect.detectors

    @detect.setter
    def detect(self, detectors: DetectorStage) -> None:
        self._detect.detectors = detectors

    def process(self, payloads: Sequence[Payload]) -> BatchResult:
        """Process a batch; raises ``StoreError`` when the store did not confirm it."""
        return self.write(self.prepare(payloads))

    def process_calls(self, calls: Sequence[CallRecord], source: str = "") -> BatchResult:
        """Detect, sample and store calls that are already normalised (replays, backfills).

        ``source``, when given, labels calls that carry none.
        """
        prepared = PreparedBatch(time.perf_counter(), calls=list(calls))
        if source:
            for call in prepared.calls:
                call.source = call.source or source
        return self.write(self._run_call_stages(prepared))

    def prepare(self, payloads: Sequence[Payload]) -> PreparedBatch:
        """Every stage up to the store: decode, normalize, detect, route, sample.

        Batches must be written (:meth:`write`) in the order they were prepared; a receiver
        may prepare the next batch while the previous one is being written — chDB releases
        the GIL, so the two overlap on two cores.
        """
        prepared = PreparedBatch(time.perf_counter(), payloads)
        for stage in self.decode_stages:
            stage(prepared)
        return self._run_call_stages(prepared)

    def write(self, prepared: PreparedBatch) -> BatchResult:
        """Store a prepared batch; returns once the store confirmed it (else raises)."""
        try:
            for stage in self.store_stages:
                stage(prepared)
        except Exception:
            with self._lock:
                self.reservoir.unmark(prepared.due_keys)
            raise
        with self._lock:
            self.reservoir.release(prepared.due_keys)
        self._count(prepared.batch, prepared.calls, prepared.not_enqueued)
        if self.dead_letter_sink is not None:
            for letter in prepared.batch.dead_letters:
                try:
                    self.dead_letter_sink(letter)
                except Exception:  # the table has it; the topic is a convenience
                    log.exception("dead-letter sink failed")
        self.metrics.batch_duration.observe(time.perf_counter() - prepared.started)
        return prepared.result

    def save_state(self) -> int:
        """Checkpoint what the detectors learned; returns (detector, key) pairs saved."""
        from watchkeeper.collector.processors.detector_state import detector_states
        from watchkeeper.collector.traces.signals.checkpoint import signal_states

        with self._lock:
            states = detector_states(self.detect)
            if self.trace_signals is not None:
                states += signal_states(self.trace_signals.watch)
        self.store.save_detector_states(states)
        return len(states)

    def restore_state(self) -> int:
        """Resume from the last checkpoint; returns (detector, key) pairs restored."""
        from watchkeeper.collector.processors.detector_state import restore_state
        from watchkeeper.collector.traces.signals.checkpoint import restore_signal_states

        with self._lock:
            restored = restore_state(self.detect, self.store)
            if self.trace_signals is not None:
                saved = self.store.detector_states()
                restored += restore_signal_states(self.trace_signals.watch, saved)
            return restored

    def abandon(self, prepared: PreparedBatch) -> None:
        """A prepared batch will not be written (an earlier write failed; both are re-read)."""
        with self._lock:
            self.reservoir.unmark(prepared.due_keys)

    def flush_review(self) -> int:
        """Close every open review window now and store its sample; returns items written."""
        with self._lock:
            keys = self.reservoir.open_keys()
            rows = WriteBatch()
            not_enqueued = queue_review_picks(
                self.router, rows, self.reservoir.samples(keys), in_batch=set()
            )
            write_rows(self.store, self.metrics, rows)
            self.reservoir.release(keys)
        self._count(rows, [], not_enqueued)
        return len(rows.review_items)

    def close(self) -> None:
        """Store what is still held in memory: open review windows, detector state."""
        try:
            self.flush_review()
        except Exception:
            log.exception("could not store the open review windows at close")
        try:
            self.save_state()
        except Exception:
            log.exception("could not checkpoint detector state at close")
        self.detect.close()

    def _run_call_stages(self, prepared: PreparedBatch) -> PreparedBatch:
        with self._lock:
            for stage in self.call_stages:
                stage(prepared)
        rows, result = prepared.batch, prepared.result
        result.calls = len(prepared.calls)
        result.dead_letters = len(rows.dead_letters)
        result.alarms = len(rows.alarms)
        result.review_items = len(rows.review_items)
        result.bodies = len(rows.bodies)
        result.detection = prepared.detection
        return prepared

    def _count(
        self, batch: WriteBatch, calls: list[CallRecord], not_enqueued: Counter[tuple[str, str]]
    ) -> None:
        m = self.metrics
        sources: Counter[str] = Counter(call.source for call in calls)
        for source, n in sources.items():
            m.calls_ingested.labels(source).inc(n)
        m.detector_score.observe_columns(batch.scores.columns)
        for alarm in batch.alarms:
            m.detector_alarms.labels(alarm["Detector"], alarm.get("severity", "page")).inc()
        if batch.feedback:
            m.feedback.inc(len(batch.feedback))
        kinds: Counter[str] = Counter(span.kind for span in batch.spans)
        for table in batch.span_tables:
            kinds.update(span_kinds(table))
        for kind, n in kinds.items():
            m.trace_spans.labels(kind).inc(n)
        queues: Counter[str] = Counter(str(item["Queue"]) for item in batch.review_items)
        for queue, n in queues.items():
            m.review_enqueued.labels(queue).inc(n)
        reasons: Counter[str] = Counter(letter.reason for letter in batch.dead_letters)
        for reason, n in reasons.items():
            m.dead_letters.labels(reason).inc(n)
        kept: Counter[str] = Counter(reason for _, _, reason in batch.bodies)
        for reason, n in kept.items():
            m.bodies_kept.labels(reason).inc(n)
        for (queue, reason), n in not_enqueued.items():
            m.review_not_enqueued.labels(queue, reason).inc(n)


# --- the stages, in pipeline order -------------------------------------------------------


class Decode:
    """Payloads -> decoded requests: the compiled core's fast paths where they apply,
    protobuf otherwise (``processors/decode_payloads.py``).

    ``span_columns``: whether the core may give the spans of the traces it summarised as
    Arrow columns; not when the signal stage would turn every one of them back into
    ``TraceSpan`` values (it takes no summary), which costs more than making them.
    """

    def __init__(self, span_columns: bool = True) -> None:
        self.span_columns = span_columns

    def __call__(self, prepared: PreparedBatch) -> None:
        prepared.decoded = decode_payloads(prepared.payloads, self.span_columns)


class Normalize:
    """Decoded requests -> call records and feedback rows; unusable payloads and spans
    become dead letters, spans that are not LLM calls are counted as skipped."""

    def __init__(self, metrics: PipelineMetrics) -> None:
        self.metrics = metrics

    def __call__(self, prepared: PreparedBatch) -> None:
        calls, rows, result = prepared.calls, prepared.batch, prepared.result
        dead = rows.dead_letters
        skipped: Counter[str] = Counter()
        for decoded in prepared.decoded:
            if isinstance(decoded, DecodedRun):  # the core made the records already
                calls.extend(decoded.calls)
                prepared.spans.extend(decoded.spans)
                prepared.trace_summaries.extend(decoded.summaries)
                if decoded.columns is not None:
                    decoded.columns.offset = len(prepared.spans) - len(decoded.spans)
                    prepared.span_columns.append(decoded.columns)
                skipped[decoded.source] += decoded.skipped
                continue
            payload, request = decoded
            if isinstance(request, RejectedPayload):
                dead.append(
                    DeadLetter(
                        payload.source, request.reason, request.detail, payload.data, payload.origin
                    )
                )
                result.rejected_payloads += 1
                continue
            normalized = normalize_payload(request, payload.source)
            if normalized is None:
                # Valid OTLP may be empty, but a non-empty payload that decodes to nothing
                # is almost always garbage that happened to parse (protobuf is lenient).
                if payload.data:
                    dead.append(
                        DeadLetter(payload.source, "no_spans", "", payload.data, payload.origin)
                    )
                    result.rejected_payloads += 1
                continue
            calls.extend(normalized.calls)
            prepared.spans.extend(normalized.spans)
            rows.feedback.extend(normalized.feedback)
            skipped[payload.source] += normalized.skipped
            dead.extend(
                DeadLetter(payload.source, reason, detail, span, payload.origin)
                for reason, detail, span in normalized.rejected
            )
        result.skipped = sum(skipped.values())
        for source, n in skipped.items():
            if n:
                self.metrics.spans_skipped.labels(source).inc(n)


class Detect:
    """Calls -> scores (a numpy column per score), alarms and the calls each flagged, by
    one detector instance per key (service|route|model) of every configured detector.

    A detector's exception is contained by the stage (``DetectorStage``); should the stage
    itself fail, the batch's calls are stored without scores or alarms rather than the
    batch failed (a receiver would retry it for ever). Both are counted in
    ``watchkeeper_detector_errors_total``.
    """

    def __init__(self, detectors: DetectorStage, metrics: PipelineMetrics) -> None:
        self.detectors = detectors
        self.metrics = metrics
        self._error_log = DetectorErrors()

    def __call__(self, prepared: PreparedBatch) -> None:
        try:
            detection = self.detectors.run(prepared.calls)
        except Exception as error:
            what = "the batch's calls are stored without scores or alarms"
            self._error_log.record("the detect stage", error, what, traceback=True)
            detection = Detection(errors=Counter({"detect_stage": 1}))
        for name, n in detection.errors.items():
            self.metrics.detector_errors.labels(name).inc(n)
        prepared.detection = detection
        prepared.batch.scores = detection.by_score
        prepared.batch.scorer_versions = detection.scorer_versions
        prepared.batch.alarms = detection.alarms


class Route:
    """Calls to review queues by the queues' rules: alarms, scores, errors, users'
    thumbs-downs. Feedback on calls of earlier batches waits for the batch to be stored."""

    def __init__(self, router: ReviewRouter) -> None:
        self.router = router

    def __call__(self, prepared: PreparedBatch) -> None:
        detection = prepared.detection
        routing = self.router.route(
            prepared.calls, detection.flagged, detection.by_score, prepared.batch.feedback
        )
        prepared.routed = routing.routed
        prepared.late_feedback = routing.late_feedback
        prepared.batch.review_items = routing.items
        prepared.not_enqueued.update(routing.not_enqueued)


class Sample:
    """The random review sample (ordinary calls in, closed windows' picks queued) and the
    bodies to keep: a configured sample, plus every error, flagged and routed call."""

    def __init__(
        self, reservoir: ReviewReservoir, body_sampling: BodySampling, router: ReviewRouter
    ) -> None:
        self.reservoir = reservoir
        self.body_sampling = body_sampling
        self.router = router

    def __call__(self, prepared: PreparedBatch) -> None:
        calls, flagged, routed = prepared.calls, prepared.detection.flagged, prepared.routed
        # The random sample draws from ordinary calls: none a rule already took.
        self.reservoir.offer_many(
            [
                call
                for call in calls
                if not (call.is_error or call.span_id in routed or call.span_id in flagged)
            ]
        )
        prepared.due_keys, picks = self.reservoir.due()
        # The rows themselves are made where the batch is written (Store.write), off this
        # thread, which is the one that feeds the detectors.
        rows = prepared.batch
        rows.calls = list(calls)
        decide = self.body_sampling.decide
        bodies = rows.bodies
        for call in calls:
            span_id = call.span_id
            decision = decide(call, span_id in flagged)
            if decision is not None:
                bodies.append((call, *decision))
            elif span_id in routed:
                # Routed to review: a reviewer needs its texts whatever the sample rate.
                bodies.append((call, call.sample_rate, KEEP_REVIEW))
        prepared.not_enqueued.update(
            queue_review_picks(self.router, rows, picks, in_batch={c.span_id for c in calls})
        )


class KeepTraces:
    """Calls and other spans -> the ``spans`` rows: one sampling decision per trace, a
    bound on spans per trace, texts where the body-sampling rules keep them."""

    def __init__(self, keeper: TraceKeeper, metrics: PipelineMetrics) -> None:
        self.keeper = keeper
        self.metrics = metrics

    def __call__(self, prepared: PreparedBatch) -> None:
        rows = prepared.batch
        with_body = {body[0].span_id for body in rows.bodies}
        over = self.keeper.over_limit
        rows.spans, rows.span_tables = self.keeper.keep_with_columns(
            prepared.calls, prepared.spans, with_body, prepared.span_columns
        )
        if self.keeper.over_limit > over:
            self.metrics.trace_spans_over_limit.inc(self.keeper.over_limit - over)


class Write:
    """The batch's rows into the store; returns once every table confirmed them."""

    def __init__(self, store: Store, metrics: PipelineMetrics) -> None:
        self.store = store
        self.metrics = metrics

    def __call__(self, prepared: PreparedBatch) -> None:
        write_rows(self.store, self.metrics, prepared.batch)


class RouteLateFeedback:
    """Thumbs-downs on calls of earlier batches, queued from their calls as stored.

    Runs after the batch is stored, so a call and its feedback in consecutive batches are
    found; runs before the batch is acknowledged, so a failure replays both.
    """

    def __init__(self, store: Store, router: ReviewRouter, metrics: PipelineMetrics) -> None:
        self.store = store
        self.router = router
        self.metrics = metrics

    def __call__(self, prepared: PreparedBatch) -> None:
        targets = prepared.late_feedback
        if not targets:
            return
        times = [t.timestamp_ns for t in targets]
        rows = self.store.calls_for_review(
            sorted({t.trace_id for t in targets}),
            min(times) - FEEDBACK_LOOKBACK_NS,
            max(times) + 3600 * 10**9,  # feedback clocks may run a little behind
        )
        routing = self.router.resolve_feedback(targets, rows)
        prepared.not_enqueued.update(routing.not_enqueued)
        if routing.items:
            write_rows(self.store, self.metrics, WriteBatch(review_items=routing.items))
            prepared.batch.review_items.extend(routing.items)


def queue_review_picks(
    router: ReviewRouter, rows: WriteBatch, picks: list[CallRecord], in_batch: set[str]
) -> Counter[tuple[str, str]]:
    """Queue the review sample's picks and make sure their bodies are stored; returns the
    picks not enqueued by (queue, reason)."""
    kept = {body[0].span_id for body in rows.bodies}
    routing = router.sampled(picks)
    rows.review_items.extend(routing.items)
    for call in picks:
        if call.span_id in kept or call.span_id not in routing.routed:
            continue
        rows.bodies.append((call, call.sample_rate, KEEP_REVIEW))
        if call.span_id not in in_batch:
            # Its calls row was stored in an earlier batch without a body: write it
            # again, now with one (ReplacingMergeTree keeps the newest row of a span).
            rows.calls.append(call)
    return routing.not_enqueued


def write_rows(store: Store, metrics: PipelineMetrics, rows: WriteBatch) -> None:
    """``store.write``, counting failures in ``watchkeeper_store_errors_total``."""
    try:
        store.write(rows)
    except Exception:
        metrics.store_errors.inc()
        raise
