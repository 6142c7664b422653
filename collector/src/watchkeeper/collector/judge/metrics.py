"""The judges' Prometheus metrics (``watchkeeper_judge_*``), on the pipeline's registry.

Labels are bounded: judge names and dimensions come from configuration, failure and
skip reasons from code.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class JudgeMetrics:
    """Counters and histograms of the judge workers."""

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
