"""Judges from settings: their endpoints, checked at start, and their workers.

At start, a judge whose ``api_key_env`` names an unset variable stops the command with one
line naming it (exit 2): the key is what the user meant to give. An endpoint that does
not answer yet is reported in one warning line and judging goes on trying: ingestion
never depends on a judge.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from fastapi import FastAPI

from watchkeeper.collector.judge.api import judge_router
from watchkeeper.collector.judge.endpoint import open_endpoint
from watchkeeper.collector.judge.handoff import HandToJudges
from watchkeeper.collector.judge.metrics import JudgeMetrics
from watchkeeper.collector.judge.panel import judges_panel
from watchkeeper.collector.judge.prompt import FAITHFULNESS, default_dimensions
from watchkeeper.collector.judge.report import flip_rates, gauge_values, judge_report
from watchkeeper.collector.judge.reuse import ReuseVerdicts
from watchkeeper.collector.judge.scorer import Judge
from watchkeeper.collector.judge.worker import REVIEW_QUEUE, JudgeWorkers
from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.route_review import JUDGE_PREFIX, ReviewRouter
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.settings import ConfigError, Settings
from watchkeeper.collector.settings.judge import JudgeConfig
from watchkeeper.collector.store.judges import JudgeStore
from watchkeeper.collector.store.store import Store

log = logging.getLogger("watchkeeper.judge")


def check_keys(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`ConfigError` for a judge whose key variable is not set."""
    env = os.environ if environ is None else environ
    for name, config in settings.judge.configured().items():
        if config.api_key_env and not env.get(config.api_key_env):
            key = "judge_api_key_env" if name == "default" else f"judges.{name}.api_key_env"
            raise ConfigError(
                f"judge {name!r}: environment variable {config.api_key_env} (named by "
                f"{key}) is not set; export the judge's API key in it"
            )


def check_dimensions(name: str, config: JudgeConfig, rubric: Mapping[str, object]) -> None:
    """Raise :class:`ConfigError` for a dimension neither in the rubric nor faithfulness."""
    unknown = [d for d in config.dimensions if d not in rubric and d != FAITHFULNESS]
    if unknown:
        key = "judge_dimensions" if name == "default" else f"judges.{name}.dimensions"
        raise ConfigError(
            f"judge {name!r}: {key} names {', '.join(unknown)}, not in the review rubric; "
            f"choose from {', '.join([*rubric, FAITHFULNESS])}"
        )


def check_review_rules(settings: Settings) -> None:
    """Raise :class:`ConfigError` for a review rule on a judge score no judge gives."""
    configured = settings.judge.configured()
    for queue_name, queue in settings.review_queues.items():
        for index, rule in enumerate(queue.when):
            if rule.score is None or not rule.score.startswith(JUDGE_PREFIX + "."):
                continue
            _, name, dimension = rule.score.split(".")
            config = configured.get(name)
            if config is None:
                raise ConfigError(
                    f"invalid setting 'review_queues.{queue_name}.when.{index}': no judge "
                    f"named {name!r}; judges: {', '.join(sorted(configured)) or 'none'}"
                )
            scored = config.dimensions or default_dimensions(settings.review_rubric)
            if dimension not in scored:
                raise ConfigError(
                    f"invalid setting 'review_queues.{queue_name}.when.{index}': judge "
                    f"{name!r} does not score {dimension!r}; it scores {', '.join(scored)}"
                )


def build_judges(
    settings: Settings,
    store: Store,
    metrics: JudgeMetrics,
    environ: Mapping[str, str] | None = None,
    *,
    observe: Callable[[Mapping[str, npt.NDArray[np.float64]]], None] | None = None,
    router: ReviewRouter | None = None,
) -> JudgeWorkers | None:
    """The configured judges' workers (not started); None when no judge is configured.
    With ``router``, review rules on judge scores route calls as their verdicts arrive."""
    check_review_rules(settings)
    configured = settings.judge.configured()
    if not configured:
        return None
    check_keys(settings, environ)
    env = dict(os.environ if environ is None else environ)
    prices = settings.pipeline.model_prices
    judges = []
    for name, config in configured.items():
        check_dimensions(name, config, settings.review_rubric)
        try:
            endpoint = open_endpoint(config, env)
        except (ImportError, TypeError) as exc:
            raise ConfigError(f"judge {name!r}: callable {config.callable}: {exc}") from None
        judges.append(Judge(name, config, endpoint, metrics, price=prices.get(config.model)))
    queues = settings.review_queues
    return JudgeWorkers(
        judges,
        metrics,
        JudgeStore(store),
        settings.review_rubric,
        queue_size=settings.judge.queue_size,
        review_queue=REVIEW_QUEUE if REVIEW_QUEUE in queues else None,
        observe=observe,
        router=router,
        cache_calls=settings.judge.cache_calls,
    )


def probe_endpoints(workers: JudgeWorkers) -> threading.Thread:
    """Warn, in one line per judge, about endpoints that do not answer (in a thread)."""

    def probe() -> None:
        for name, judge in workers.judges.items():
            problem = unreachable(judge.config)
            if problem:
                log.warning(
                    "judge %r: endpoint %s does not answer (%s); judging goes on, each "
                    "request retried with backoff and its failures counted",
                    name,
                    judge.config.base_url,
                    problem,
                )

    thread = threading.Thread(target=probe, name="judge-probe", daemon=True)
    thread.start()
    return thread


def unreachable(config: JudgeConfig) -> str | None:
    """Why the judge's endpoint cannot be reached, None when it answers (any status)."""
    if config.provider == "callable" or not config.base_url:
        return None
    try:
        httpx.get(config.base_url, timeout=min(config.timeout_s, 5.0))
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return None


def attach_judges(settings: Settings, store: Store, pipeline: Pipeline) -> JudgeWorkers | None:
    """Build the configured judges, hand them the pipeline's stored calls, start them
    (their backlog first) and probe their endpoints; None when no judge is configured."""
    metrics = pipeline.metrics
    workers = build_judges(
        settings,
        store,
        metrics.judge,
        observe=metrics.detector_score.observe_columns,
        router=pipeline.router,
    )
    if workers is None:
        return None
    hand_over(pipeline, workers)
    workers.start(settings.judge.backlog_lookback_s)
    probe_endpoints(workers)
    return workers


def hand_over(pipeline: Pipeline, workers: JudgeWorkers) -> None:
    """Hand the pipeline's stored calls to the judges: what their caches answer goes in the
    batch's own scores rows (reuse.py), the rest to their queues after the batch is stored;
    the judges' scores ride in its later batches' inserts (carry.py)."""
    reuse = ReuseVerdicts(workers)
    stages = pipeline.store_stages
    pipeline.store_stages = (workers.carry(), reuse, *stages, HandToJudges(workers, reuse))
    workers.count_reviews = functools.partial(count_reviews, pipeline.metrics)


def count_reviews(metrics: PipelineMetrics, items: Sequence[Mapping[str, Any]]) -> None:
    """Count review items the judges wrote themselves, as the pipeline counts its own."""
    for queue, n in Counter(str(item["Queue"]) for item in items).items():
        metrics.review_enqueued.labels(queue).inc(n)


def serve_judges(
    app: FastAPI, workers: JudgeWorkers, settings: Settings, pipeline: Pipeline
) -> None:
    """The judges' API, their panel on the queue pages, their agreement floors and the
    report gauges, on ``app``."""
    configs = {name: judge.config for name, judge in workers.judges.items()}
    rubric = settings.review_rubric
    store = workers.store
    app.include_router(
        judge_router(configs, store, rubric, Auth(app.state.tokens, pipeline.metrics))
    )
    gauges = workers.metrics
    for gauge, field in (
        (gauges.agreement, "kappa"),
        (gauges.calibration, "ece"),
        (gauges.length_bias, "length_bias"),
    ):
        gauge.read = functools.partial(gauge_values, store, configs, rubric, field)
    gauges.order_flips.read = functools.partial(flip_rates, store, configs)
    gauges.floor.read = lambda: {(name,): c.agreement_floor for name, c in configs.items()}
    app.state.queue_panels = [
        lambda: judges_panel([judge_report(store, n, c, rubric) for n, c in configs.items()])
    ]
