"""A :class:`Pipeline`: one configured path from ``@observe`` to an exporter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from watchkeeper.sdk.export_worker import ExportWorker
    from watchkeeper.sdk.exporters.memory import MemorySink
    from watchkeeper.sdk.settings import Settings

_SAMPLE_SPACE: Final = 1 << 64


class Pipeline:
    """The settings spans are built with and the export thread they go to.

    ``worker`` is None when nothing is exported (``configure("none")``); ``memory`` is
    the in-memory sink when ``configure("memory")`` is active.
    """

    def __init__(
        self,
        settings: Settings,
        worker: ExportWorker | None,
        memory: MemorySink | None,
        shutdown_timeout_s: float,
    ) -> None:
        self.settings = settings
        self.worker = worker
        self.memory = memory
        self.shutdown_timeout_s = shutdown_timeout_s
        self.closed = False
        # Calls whose trace id's low 64 bits fall below this are sampled; the same rule
        # as OpenTelemetry's TraceIdRatioBased, so every service agrees on a trace.
        self.sample_bound = round(settings.sample_rate * _SAMPLE_SPACE)

    def submit(self, record: object) -> None:
        """Hand a finished call (or a ready span) to the export thread, if there is one."""
        worker = self.worker
        if worker is not None:
            worker.submit(record)

    def close(self, timeout_s: float) -> bool:
        """Export what is queued and stop; True if that finished within ``timeout_s``."""
        self.closed = True
        return True if self.worker is None else self.worker.shutdown(timeout_s)
