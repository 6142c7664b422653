"""The signal stage the settings describe (``trace_signals``, ``trace_grace_s``,
``session_idle_s``), or none when it is switched off."""

from __future__ import annotations

from watchkeeper.collector.settings import Settings
from watchkeeper.collector.traces.signals.open_traces import OpenTraces
from watchkeeper.collector.traces.signals.session_tracker import SessionTracker
from watchkeeper.collector.traces.signals.stage import TraceSignalStage
from watchkeeper.collector.traces.signals.watch import SignalWatch


def signal_stage(settings: Settings) -> TraceSignalStage | None:
    """A fresh stage for a pipeline built from ``settings``; None when ``trace_signals``
    is off. It watches as many keys per signal as the detectors do, and feeds the review
    queues that take whole trajectories and conversations."""
    traces = settings.traces
    if not traces.trace_signals:
        return None
    return TraceSignalStage(
        watch=SignalWatch(max_keys=settings.pipeline.max_detector_keys),
        traces=OpenTraces(grace_s=traces.trace_grace_s),
        sessions=SessionTracker(timeout_s=traces.session_idle_s),
        queues=settings.review.queues,
    )
