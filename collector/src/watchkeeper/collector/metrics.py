"""Prometheus metrics of the pipeline, on a registry of its own (no global state)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np
import numpy.typing as npt
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from watchkeeper.collector.cached_gauge import CachedGauge
from watchkeeper.collector.coverage.metrics import CoverageMetrics
from watchkeeper.collector.judge.metrics import JudgeMetrics
from watchkeeper.collector.versions.metrics import VersionMetrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class PipelineMetrics:
    """Every ``watchkeeper_*`` metric the collector exposes.

    Labels are bounded: sources, reasons, detector and queue names come from code or
    configuration, never from traffic.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.calls_ingested = Counter(
            "watchkeeper_calls_ingested_total",
            "LLM calls stored, by receiver.",
            ["source"],
            registry=r,
        )
        self.spans_skipped = Counter(
            "watchkeeper_spans_skipped_total",
            "Spans received that are not LLM calls (tools, other instrumentation); they are "
            "kept as trace spans.",
            ["source"],
            registry=r,
        )
        self._add_trace_metrics()
        self.dead_letters = Counter(
            "watchkeeper_dead_letters_total",
            "Payloads or spans rejected into the dead-letter table, by reason.",
            ["reason"],
            registry=r,
        )
        self.detector_alarms = Counter(
            "watchkeeper_detector_alarms_total",
            "Changes detected, by detector and severity (page: large enough to page; ticket).",
            ["detector", "severity"],
            registry=r,
        )
        self.detector_errors = Counter(
            "watchkeeper_detector_errors_total",
            "Runs of calls on which a detector raised (its scores for them are absent), by "
            "detector; detect_stage: batches stored without detection after the stage failed.",
            ["detector"],
            registry=r,
        )
        self.detector_score = ScoreHistogram(
            "watchkeeper_detector_score",
            "Per-call detector scores, by score (<detector>.<score name>).",
            buckets=(0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
        )
        r.register(self.detector_score)
        self.bodies_kept = Counter(
            "watchkeeper_call_bodies_kept_total",
            "Call bodies (texts) stored, by why they were kept: sampled, error, flagged, review.",
            ["reason"],
            registry=r,
        )
        self.feedback = Counter(
            "watchkeeper_feedback_total",
            "Feedback records received (from feedback() spans or evaluation events).",
            registry=r,
        )
        self.review_enqueued = Counter(
            "watchkeeper_review_items_enqueued_total",
            "Items routed to human review, by queue.",
            ["queue"],
            registry=r,
        )
        self.review_labels = Counter(
            "watchkeeper_review_labels_total",
            "Labels submitted by reviewers, by queue and verdict.",
            ["queue", "verdict"],
            registry=r,
        )
        self.batch_duration = Histogram(
            "watchkeeper_pipeline_batch_duration_seconds",
            "Time to decode, detect and store one batch.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        self.throttled = Counter(
            "watchkeeper_otlp_http_throttled_total",
            "OTLP/HTTP requests answered 429 because too many bytes were in flight.",
            registry=r,
        )
        self.grpc_throttled = Counter(
            "watchkeeper_otlp_grpc_throttled_total",
            "OTLP/gRPC requests answered RESOURCE_EXHAUSTED because too many bytes were in flight.",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "watchkeeper_kafka_consumer_lag_messages",
            "Messages in assigned partitions not yet consumed (sum over partitions).",
            ["topic"],
            registry=r,
        )
        self.store_errors = Counter(
            "watchkeeper_store_errors_total",
            "Store writes that failed (the batch is retried, not acknowledged).",
            registry=r,
        )
        self._add_review_metrics()
        #: The LLM judges' metrics (``watchkeeper_judge_*``; judge/metrics.py).
        self.judge = JudgeMetrics(r)
        #: Gauges computed at scrape: live version comparison, evalset coverage.
        self.versions, self.coverage = VersionMetrics(r), CoverageMetrics(r)

    def _add_trace_metrics(self) -> None:
        """Whole traces: spans stored, over the bound, and the trace signal stage."""
        r = self.registry
        self.trace_spans = Counter(
            "watchkeeper_trace_spans_stored_total",
            "Spans stored in the spans table (whole traces, LLM calls included), by kind.",
            ["kind"],
            registry=r,
        )
        self.trace_spans_over_limit = Counter(
            "watchkeeper_trace_spans_over_limit_total",
            "Spans of sampled traces not stored because their trace had max_spans_per_trace.",
            registry=r,
        )
        self.trace_signal_errors = Counter(
            "watchkeeper_trace_signal_errors_total",
            "Traces whose trajectory/RAG/conversation signals raised (they have none; the "
            "batch is stored); batches whose signal stage failed as a whole count once.",
            registry=r,
        )

    def _add_review_metrics(self) -> None:
        """The review workflow's metrics. Queue and dimension names come from configuration."""
        r = self.registry
        self.review_not_enqueued = Counter(
            "watchkeeper_review_items_not_enqueued_total",
            "Calls routing did not queue, by queue and reason: cap (hourly cap reached), "
            "no_call or no_body (a thumbs-down on a call not stored, or stored without texts).",
            ["queue", "reason"],
            registry=r,
        )
        self.review_actions = Counter(
            "watchkeeper_review_actions_total",
            "Reviewer actions other than labels, by queue and action: claim, release, skip.",
            ["queue", "action"],
            registry=r,
        )
        self.review_outcomes = Counter(
            "watchkeeper_review_dimension_outcomes_total",
            "Outcomes in submitted labels, by queue, rubric dimension (verdict = the overall "
            "verdict) and outcome (pass, fail): rate(pass) / rate(all) is the pass rate.",
            ["queue", "dimension", "outcome"],
            registry=r,
        )
        self.auth_denied = Counter(
            "watchkeeper_review_auth_denied_total",
            "Review API and UI requests refused, by reason: missing or invalid token (401), "
            "forbidden (403, role too low), csrf (form without a valid CSRF token).",
            ["reason"],
            registry=r,
        )

    def watch_queue_depth(self, depths: Callable[[], dict[str, int]]) -> None:
        """Expose ``watchkeeper_review_queue_depth`` by asking ``depths`` at scrape time."""
        self.registry.register(_QueueDepthCollector(depths))

    def watch_gauge(
        self,
        name: str,
        documentation: str,
        labels: list[str],
        read: Callable[[], dict[tuple[str, ...], float]],
        ttl_s: float = 15.0,
    ) -> None:
        """Expose a gauge whose values ``read`` computes at scrape time (label values ->
        value), cached for ``ttl_s`` so frequent scrapes do not load the store."""
        gauge: CachedGauge[tuple[str, ...]] = CachedGauge(
            self.registry, name, documentation, labels, ttl_s
        )
        gauge.read = read

    def exposition(self) -> bytes:
        """The text exposition format for ``/metrics``."""
        return generate_latest(self.registry)


class ScoreHistogram(Collector):
    """A histogram labelled by score, filled a batch at a time.

    Every call brings a dozen scores; ``Histogram.labels(...).observe(...)`` takes a lock
    and looks the label up for each (about 2 µs apiece, a tenth of the collector's
    per-call budget). This keeps plain counts per score and bucket, updated a score column
    at a time under one lock per batch (numpy finds the buckets), and renders the same
    exposition (``_bucket``, ``_sum``, ``_count``).
    """

    def __init__(self, name: str, documentation: str, buckets: Iterable[float]) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = sorted(buckets)
        self._edges = np.array(self.bounds, dtype=np.float64)
        # score -> [count per bucket (+Inf last)..., sum]
        self._series: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def observe_columns(self, columns: Mapping[str, npt.NDArray[np.float64]]) -> None:
        """Add each column's values under its name (NaN: no value)."""
        size = len(self.bounds) + 1
        with self._lock:
            for key, column in columns.items():
                values = column[~np.isnan(column)]
                if not len(values):
                    continue
                counts = self._series.get(key)
                if counts is None:
                    counts = self._series[key] = [0.0] * (size + 1)
                # le semantics: a value equal to a bound counts in that bound's bucket
                found = np.bincount(
                    np.searchsorted(self._edges, values, side="left"), minlength=size
                )
                for bucket, n in enumerate(found.tolist()):
                    counts[bucket] += n
                # Added one by one, in order, as prometheus_client's histogram sums.
                counts[size] = float(np.cumsum(np.concatenate(([counts[size]], values)))[-1])

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=["score"])
        with self._lock:
            snapshot = {key: list(counts) for key, counts in self._series.items()}
        edges = [*(_float_label(b) for b in self.bounds), "+Inf"]
        for key, counts in sorted(snapshot.items()):
            cumulative, running = [], 0.0
            for edge, count in zip(edges, counts, strict=False):
                running += count
                cumulative.append((edge, running))
            family.add_metric([key], cumulative, sum_value=counts[-1])
        yield family

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=["score"])


def _float_label(bound: float) -> str:
    """A bucket bound as prometheus_client writes it (``1.0``, ``0.25``)."""
    return str(floatToGoString(bound))


class _QueueDepthCollector(Collector):
    """Reads queue depths from the store when scraped, cached for a second."""

    def __init__(self, depths: Callable[[], dict[str, int]]) -> None:
        self._depths = depths
        self._cached: dict[str, int] = {}
        self._at = 0.0

    def collect(self) -> Iterator[Metric]:
        now = time.monotonic()
        if now - self._at > 1.0:
            with contextlib.suppress(Exception):
                self._cached = self._depths()
            self._at = now
        family = GaugeMetricFamily(
            "watchkeeper_review_queue_depth",
            "Items waiting for review, by queue.",
            labels=["queue"],
        )
        for queue, depth in sorted(self._cached.items()):
            family.add_metric([queue], depth)
        yield family

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "watchkeeper_review_queue_depth",
            "Items waiting for review, by queue.",
            labels=["queue"],
        )
