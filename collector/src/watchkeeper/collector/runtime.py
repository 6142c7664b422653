"""Assemble a running watchkeeper from settings: store, pipeline, HTTP server, receivers."""

from __future__ import annotations

import errno
import gc
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from watchkeeper.collector.alerting.install import install_alerting
from watchkeeper.collector.coverage.install import install_coverage
from watchkeeper.collector.detector_setup import configured_detectors
from watchkeeper.collector.incidents.install import install_incidents
from watchkeeper.collector.judge.app_confidence_api import serve_app_confidence
from watchkeeper.collector.judge.start import attach_judges, serve_judges
from watchkeeper.collector.judge.worker import JudgeWorkers
from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.detect import detector_budget, severity_policy
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.processors.sample_bodies import BodySampling
from watchkeeper.collector.receivers.otlp_grpc import otlp_grpc_server
from watchkeeper.collector.review.tokens import AdminBootstrap, ensure_admin_token
from watchkeeper.collector.server import build_app
from watchkeeper.collector.settings import ConfigError, Settings
from watchkeeper.collector.store.store import Store, open_store
from watchkeeper.collector.traces.keep import TraceKeeper
from watchkeeper.collector.traces.signals.configured import signal_stage
from watchkeeper.collector.versions.install import install_versions
from watchkeeper.ingest.grpc.server import GrpcServer
from watchkeeper.ingest.http.protocol import ConnectionLimits
from watchkeeper.ingest.http.server import HttpServer

log = logging.getLogger("watchkeeper.collector")


#: How long a thread runs Python while another waits for the GIL (CPython's default: 5 ms).
SWITCH_INTERVAL_S = 0.001

#: Tracked objects made, net of those freed, between two gen-0 collections: well above
#: what the batches in flight hold (see ``tune_for_throughput``).
YOUNG_THRESHOLD = 1_000_000


def tune_for_throughput() -> None:
    """Garbage collection and thread switching set for a long-running collector process.

    Garbage collection: a batch allocates tens of thousands of short-lived objects;
    CPython's default gen-0 threshold (700) then runs full generational scans hundreds of
    times per batch over everything alive. Each gen-0 scan walks the batches in flight
    (records, spans, summaries, payloads: all alive), so its cost barely depends on the
    threshold and the number of scans is what counts. The count that triggers a scan is
    tracked objects made minus those freed since the last one: with five-span traces in
    batches of 10,000 calls it reaches ~300,000 once the first batches are in flight (they
    hold that many), then grows by about one per call (tuples kept). At 500,000 a batch's
    peak crossed it within the first 50,000 calls of every run: one scan of ~420,000 live
    objects holding the GIL for 150-790 ms and freeing 0-109 of them, 1.6-1.8 µs of the
    receiver thread's CPU per call over 90,000 calls (``bench.collector.gc_cost``). At
    1,000,000 the batches in flight leave room for ~600,000 calls of that growth.
    Batches free their objects by reference counting; cycles are rare and wait a little
    longer. Objects alive at start (modules, config) are frozen out of the scans.

    Imports the first batch would make (pyarrow's of pandas) are made here, at start.

    Thread switching: the thread that analyses texts ahead of the detectors works without
    the GIL and needs it back only to hand its results over. With the default 5 ms before
    the thread feeding the detectors lets go, that thread often waited for results that
    were ready but not handed over: 10 µs per call of waiting at 5 ms, 0.5-1.1 at 1 ms, in
    an in-process run of the benchmark pipeline (60,000 calls).
    """
    from watchkeeper.collector.store import columns

    columns.warm_up()  # its imports' objects are frozen below with the rest
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def ensure_data_dir(path: Path) -> Path:
    """Create ``path`` if needed and prove it writable, or say what to do instead."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        raise ConfigError(
            f"data directory {path} is not writable ({reason}); "
            "choose another with --data-dir or WATCHKEEPER_DATA_DIR"
        ) from None
    return path


@dataclass
class Runtime:
    """A started store + pipeline + HTTP server. ``close`` stops them in order."""

    settings: Settings
    store: Store
    pipeline: Pipeline
    server: HttpServer
    #: What start did about the first admin token (review API/UI login).
    admin: AdminBootstrap | None = None
    #: The OTLP/gRPC receiver, when the runtime receives OTLP and ``grpc_port`` is not off.
    grpc: GrpcServer | None = None
    #: The LLM judges beside the pipeline, when some are configured.
    judges: JudgeWorkers | None = None

    def close(self) -> None:
        """Stop serving, store what the pipeline still holds, then release the store."""
        if self.grpc is not None:
            self.grpc.stop()
        self.server.stop()
        if self.judges is not None:
            self.judges.close()
        self.pipeline.close()
        self.store.close()


def build_pipeline(settings: Settings, store: Store, *, resume: bool = True) -> Pipeline:
    """The pipeline the settings describe, over ``store``, resumed from its checkpoint
    (``resume=False``: with fresh detectors)."""
    pipeline = Pipeline(
        store,
        PipelineMetrics(),
        configured_detectors(settings.pipeline),
        body_sampling=BodySampling(settings.body_sample_rate, settings.body_sample_rules),
        reservoir=ReviewReservoir(
            settings.review_sample_size,
            settings.review_window_s,
            # Late calls are rare after a few seconds; don't hold short windows for long.
            grace_s=min(30.0, settings.review_window_s / 2),
            max_per_window=settings.review_sample_max_per_window,
        ),
        max_detector_keys=settings.max_detector_keys,
        router=review_router(settings, store),
        traces=TraceKeeper(
            settings.trace_sample_rate,
            settings.max_spans_per_trace,
            settings.max_open_traces,
            settings.body_sample_rate,
        ),
        trace_signals=signal_stage(settings),
        detector_budget=detector_budget(settings),
        severity=severity_policy(settings),
    )
    restored = pipeline.restore_state() if resume else 0
    if restored:
        log.info("resumed %d detector states from the last checkpoint", restored)
    return pipeline


def review_router(settings: Settings, store: Store) -> ReviewRouter:
    """The review router of ``settings``, its hourly caps restored from recent items."""
    router = ReviewRouter(settings.review_queues)
    router.seed(store.routed_since(time.time_ns() - 2 * 3600 * 10**9))
    return router


def start_runtime(settings: Settings, *, with_otlp: bool = True) -> Runtime:
    """Open the store, build the pipeline and start the HTTP server (and, with OTLP, the
    OTLP/gRPC receiver)."""
    if settings.store == "chdb":
        ensure_data_dir(Path(settings.data_dir))
    store = open_store(settings)
    judges = None
    try:
        pipeline = build_pipeline(settings, store)
        judges = attach_judges(settings, store, pipeline)
        app = build_app(
            pipeline,
            with_otlp=with_otlp,
            max_inflight_bytes=settings.max_inflight_bytes,
            settings=settings,
        )
        if judges is not None:
            serve_judges(app, judges, settings, pipeline)
        serve_app_confidence(app, store, pipeline)
        fixed = settings.pipeline.detector_calibration == "fixed"
        install_alerting(settings.alerting, store, pipeline, fixed_calibration=fixed)
        install_incidents(app, pipeline)
        install_versions(app, pipeline)
        install_coverage(settings.coverage, pipeline)
        server = HttpServer(
            app,
            settings.http_host,
            settings.http_port,
            ConnectionLimits(
                settings.http.header_timeout_s,
                settings.http.body_timeout_s,
                settings.http.max_connections,
            ),
        )
        grpc = otlp_grpc_server(pipeline, settings.http) if with_otlp else None
        admin = ensure_admin_token(store, settings)
        server.start()
        if grpc is not None:
            grpc.start()
    except BaseException:
        if judges is not None:
            judges.close()
        store.close()
        raise
    return Runtime(settings, store, pipeline, server, admin, grpc, judges)
