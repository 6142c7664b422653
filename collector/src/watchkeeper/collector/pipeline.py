"""The one pipeline every receiver feeds: decode -> normalize -> detect -> route -> store.

Embedded (``watchkeeper up``/``demo``) or in a cluster (``watchkeeper collect``), the same
object does the work; only the receiver in front of it differs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.processors.decode import Encoding, RejectedPayload, decode_request
from watchkeeper.collector.processors.detect import Detection, DetectorStage
from watchkeeper.collector.processors.normalize import iter_calls
from watchkeeper.collector.processors.route_review import review_items
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.store import Store, WriteBatch
from watchkeeper.detectors import Detector, default_detectors

log = logging.getLogger("watchkeeper.collector")


@dataclass(frozen=True)
class Payload:
    """One message as a receiver got it: OTLP bytes plus where they came from."""

    data: bytes
    source: str
    encoding: Encoding | None = None


@dataclass
class BatchResult:
    """What one ``process`` call did."""

    calls: int = 0
    skipped: int = 0
    dead_letters: int = 0
    alarms: int = 0
    review_items: int = 0
    #: Per-call scores and alarms, for callers that report them (``watchkeeper replay``).
    detection: Detection = field(default_factory=Detection)


class Pipeline:
    """Turns OTLP payloads into stored calls, scores, alarms and review items.

    ``process`` returns only after the store confirmed the batch, so a receiver may
    acknowledge its input (commit Kafka offsets, answer HTTP 200) exactly then. Rejected
    payloads are written to the dead-letter table and counted; they never stop a batch.
    """

    def __init__(
        self,
        store: Store,
        metrics: PipelineMetrics | None = None,
        detectors: Sequence[Detector] | None = None,
        review_sample_rate: float = 0.05,
        max_detector_keys: int = 1000,
    ) -> None:
        self.store = store
        self.metrics = metrics or PipelineMetrics()
        self.detect = DetectorStage(
            list(detectors) if detectors is not None else default_detectors(),
            max_keys=max_detector_keys,
        )
        self.review_sample_rate = review_sample_rate
        # Detector state is order-dependent and chDB is single-session: one batch at a time.
        self._lock = threading.Lock()

    def process(self, payloads: Sequence[Payload]) -> BatchResult:
        """Process a batch; raises ``StoreError`` when the store did not confirm it."""
        started = time.perf_counter()
        result = BatchResult()
        calls: list[CallRecord] = []
        sources: list[str] = []
        for payload in payloads:
            try:
                request = decode_request(payload.data, payload.encoding)
                found = list(iter_calls(request, payload.source))
            except RejectedPayload as exc:
                self._dead_letter(payload, exc.reason, exc.detail)
                result.dead_letters += 1
                continue
            except ValueError as exc:
                self._dead_letter(payload, "bad_span", str(exc))
                result.dead_letters += 1
                continue
            for call in found:
                if call is None:
                    result.skipped += 1
                    self.metrics.spans_skipped.labels(payload.source).inc()
                else:
                    calls.append(call)
                    sources.append(payload.source)
        self._store_calls(calls, sources, result)
        self.metrics.batch_duration.observe(time.perf_counter() - started)
        return result

    def process_calls(self, calls: Sequence[CallRecord], source: str) -> BatchResult:
        """Detect, route and store calls that are already normalised (replays, backfills)."""
        started = time.perf_counter()
        result = BatchResult()
        self._store_calls(list(calls), [source] * len(calls), result)
        self.metrics.batch_duration.observe(time.perf_counter() - started)
        return result

    def _store_calls(
        self, calls: list[CallRecord], sources: list[str], result: BatchResult
    ) -> None:
        with self._lock:
            detection = self.detect.run(calls)
            items = review_items(calls, detection.flagged, self.review_sample_rate)
            try:
                self.store.write(
                    WriteBatch(
                        calls=calls,
                        scores=detection.scores,
                        alarms=detection.alarms,
                        review_items=items,
                    )
                )
            except Exception:
                self.metrics.store_errors.inc()
                raise
        for source in sources:
            self.metrics.calls_ingested.labels(source).inc()
        for score in detection.scores:
            self.metrics.detector_score.labels(score["Detector"]).observe(score["Score"])
        for alarm in detection.alarms:
            self.metrics.detector_alarms.labels(alarm["Detector"]).inc()
        for item in items:
            self.metrics.review_enqueued.labels(item["Queue"]).inc()
        result.calls = len(calls)
        result.alarms = len(detection.alarms)
        result.review_items = len(items)
        result.detection = detection

    def _dead_letter(self, payload: Payload, reason: str, detail: str) -> None:
        self.metrics.dead_letters.labels(reason).inc()
        log.debug("dead letter from %s: %s: %s", payload.source, reason, detail)
        with self._lock:
            self.store.dead_letter(payload.source, reason, detail, payload.data)
