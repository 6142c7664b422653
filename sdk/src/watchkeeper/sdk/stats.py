"""``stats()``: the SDK's counters, as a snapshot.

This is how an operator learns that spans are being lost (queue full, exporter down)
or that the SDK itself misbehaves, without reading logs.
"""

from __future__ import annotations

from watchkeeper.sdk.configuration import queued_span_count
from watchkeeper.sdk.counters import COUNTERS, SdkCounters


def stats() -> dict[str, int]:
    """Return a snapshot of the SDK's counters.

    Keys: ``spans_started``, ``spans_ended``, ``spans_exported``, ``spans_dropped``
    (queue full or after shutdown), ``spans_sampled_out`` (not kept by head
    sampling), ``spans_export_failed`` (spans in failed batches),
    ``export_failures`` (failed batches), ``internal_errors`` (SDK bugs swallowed to
    protect the app), ``spans_queued`` (waiting for export).

    >>> from watchkeeper.sdk import stats
    >>> sorted(stats())[:3]
    ['export_failures', 'internal_errors', 'spans_dropped']
    """
    snapshot = {name: getattr(COUNTERS, name).value for name in SdkCounters.__slots__}
    snapshot["spans_queued"] = queued_span_count()
    return snapshot
