"""Run the detectors over each call, keyed per service/route/model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.collector.record import CallRecord
from watchkeeper.detectors import Detector, KeyedDetectors


@dataclass
class Detection:
    """What the detectors produced for a batch of calls."""

    scores: list[dict[str, Any]] = field(default_factory=list)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    #: span id -> names of detectors that flagged that call
    flagged: dict[str, list[str]] = field(default_factory=dict)


class DetectorStage:
    """Feeds every call to one instance per key of each configured detector.

    Not thread-safe: the pipeline calls it under its own lock, because detector state is
    order-dependent and must see calls one at a time.
    """

    def __init__(self, detectors: Sequence[Detector], max_keys: int = 1000) -> None:
        self._keyed = [KeyedDetectors(d, max_keys=max_keys) for d in detectors]

    @property
    def keyed(self) -> list[KeyedDetectors]:
        """The per-key instances of each detector (to save and restore learned state)."""
        return list(self._keyed)

    @property
    def detector_names(self) -> list[str]:
        """Names of the detectors this stage runs."""
        return [keyed.prototype.name for keyed in self._keyed]

    def run(self, calls: Sequence[CallRecord]) -> Detection:
        """Update detectors with ``calls`` in order; return scores, alarms and flags.

        One score row per (call, detector, score name) the detector reported for the call
        (a detector may report several, e.g. faithfulness beside its length-only control,
        or none when it has nothing to say about a call).
        """
        out = Detection()
        for call in calls:
            key = call.detector_key
            timestamp = call.ch_timestamp
            for keyed in self._keyed:
                detector = keyed.get(key)
                detector.update(call)
                for score_name, score in detector.scores.items():
                    out.scores.append(
                        {
                            "Timestamp": timestamp,
                            "TraceId": call.trace_id,
                            "SpanId": call.span_id,
                            "ServiceName": call.service_name,
                            "Detector": detector.name,
                            "ScoreName": score_name,
                            "DetectorKey": key,
                            "Score": float(score),
                        }
                    )
                if detector.drift_detected:
                    main = detector.score
                    reason = detector.alarm_reason
                    out.alarms.append(
                        {
                            "Timestamp": timestamp,
                            "Detector": detector.name,
                            "DetectorKey": key,
                            "TraceId": call.trace_id,
                            "SpanId": call.span_id,
                            "Score": main if math.isfinite(main) else 0.0,
                            "Message": f"{detector.name} detected a change for {key}"
                            + (f": {reason}" if reason else ""),
                        }
                    )
                    out.flagged.setdefault(call.span_id, []).append(detector.name)
        return out
