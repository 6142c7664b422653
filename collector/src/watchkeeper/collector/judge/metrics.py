"""The judges' Prometheus metrics (``watchkeeper_judge_*``), on the pipeline's registry.

Labels are bounded: judge names and dimensions come from configuration, failure and
skip reasons from code.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from watchkeeper.collector.cached_gauge import CachedGauge

#: The report gauges (agreement, calibration, biases) are read from the store at most
#: once a minute.
REPORT_TTL_S = 60.0

#: A report gauge: label values -> value.
Report = CachedGauge[tuple[str, ...]]


def report_gauge(
    registry: CollectorRegistry, name: str, documentation: str, labels: list[str]
) -> Report:
    """A report gauge on ``registry``, its ``read`` set once judges are configured."""
    return CachedGauge(registry, name, documentation, labels, REPORT_TTL_S)


class JudgeMetrics:
    """Counters and histograms of the judge workers, and the gauges of their agreement
    with reviewers (empty until judges are configured: ``judge/start.py`` sets them)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.registry = r
        self.judged = Counter(
            "watchkeeper_judge_calls_judged_total",
            "Calls a judge scored, by judge and how (request, cache).",
            ["judge", "source"],
            registry=r,
        )
        self.failures = Counter(
            "watchkeeper_judge_failures_total",
            "Judge requests that gave no verdict, by judge and reason (timeout, rate_limited, "
            "server_error, malformed, non_json, unreachable, ...); each is retried with backoff.",
            ["judge", "reason"],
            registry=r,
        )
        self.given_up = Counter(
            "watchkeeper_judge_given_up_total",
            "Calls a judge could not score after its retries, by judge.",
            ["judge"],
            registry=r,
        )
        self.skipped = Counter(
            "watchkeeper_judge_skipped_total",
            "Calls due a judge and not judged, by judge and reason (budget, queue_full).",
            ["judge", "reason"],
            registry=r,
        )
        self.latency = Histogram(
            "watchkeeper_judge_request_duration_seconds",
            "Time of one judge request (one dimension of one call), by judge.",
            ["judge"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=r,
        )
        self.tokens = Counter(
            "watchkeeper_judge_tokens_total",
            "Tokens judges spent, by judge and kind (input, output).",
            ["judge", "kind"],
            registry=r,
        )
        self.cost = Counter(
            "watchkeeper_judge_cost_usd_total",
            "Estimated cost of judge requests in US dollars (model_prices of the judge model).",
            ["judge"],
            registry=r,
        )
        self.queued = Gauge(
            "watchkeeper_judge_queue_depth",
            "Calls waiting for a judge, by judge.",
            ["judge"],
            registry=r,
        )
        self.agreement: Report = report_gauge(
            r,
            "watchkeeper_judge_agreement_kappa",
            "Cohen's kappa of a judge against reviewers over the last 30 days' labels, by "
            "judge and rubric dimension (1 = full agreement, 0 = chance).",
            ["judge", "dimension"],
        )
        self.calibration: Report = report_gauge(
            r,
            "watchkeeper_judge_calibration_error",
            "Expected calibration error of a judge's scores against reviewers' verdicts over "
            "the last 30 days, by judge and dimension (0 = calibrated).",
            ["judge", "dimension"],
        )
        self.length_bias: Report = report_gauge(
            r,
            "watchkeeper_judge_length_bias",
            "Spearman's rho of a judge's score and the answer's length among calls reviewers "
            "scored the same, last 30 days, by judge and dimension (0 = no length bias).",
            ["judge", "dimension"],
        )
        self.order_flips: Report = report_gauge(
            r,
            "watchkeeper_judge_order_flip_rate",
            "Share of a judge's stored pairwise comparisons (asked in both orders) whose "
            "winner changed with the order, last 30 days, by judge and dimension (0 = the "
            "order never sways it).",
            ["judge", "dimension"],
        )
        self.floor: Report = report_gauge(
            r,
            "watchkeeper_judge_agreement_floor",
            "The configured agreement floor of each judge (the alert fires below it).",
            ["judge"],
        )
        self.app_calibration: Report = report_gauge(
            r,
            "watchkeeper_app_confidence_calibration_error",
            "Expected calibration error of the app's own confidence (token log-probabilities "
            "or confidence phrases) against reviewers' verdicts, last 30 days, by app model.",
            ["model"],
        )
