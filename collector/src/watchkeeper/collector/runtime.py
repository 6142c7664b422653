"""Assemble a running watchkeeper from settings: store, pipeline, HTTP server, receivers."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.server import HttpServer, build_app
from watchkeeper.collector.settings import ConfigError, Settings
from watchkeeper.collector.store.store import Store, open_store


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

    def close(self) -> None:
        """Stop serving, then release the store."""
        self.server.stop()
        self.store.close()


def start_runtime(settings: Settings, *, with_otlp: bool = True) -> Runtime:
    """Open the store, build the pipeline and start the HTTP server."""
    if settings.store == "chdb":
        ensure_data_dir(Path(settings.data_dir))
    store = open_store(settings)
    try:
        pipeline = Pipeline(
            store,
            PipelineMetrics(),
            review_sample_rate=settings.review_sample_rate,
            max_detector_keys=settings.max_detector_keys,
        )
        server = HttpServer(
            build_app(pipeline, with_otlp=with_otlp), settings.http_host, settings.http_port
        )
        server.start()
    except BaseException:
        store.close()
        raise
    return Runtime(settings, store, pipeline, server)
