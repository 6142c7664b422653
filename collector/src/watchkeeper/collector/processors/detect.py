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

    #: (call, its scores as ``{"<detector>.<score name>": value}``), in call order; calls
    #: no detector scored are left out.
    scores: list[tuple[CallRecord, dict[str, float]]] = field(default_factory=list)
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
        # (detector, score name) -> "<detector>.<score name>", made once
        self._score_names: dict[tuple[str, str], str] = {}

    @property
    def keyed(self) -> list[KeyedDetectors]:
        """The per-key instances of each detector (to save and restore learned state)."""
        return list(self._keyed)

    @property
    def detector_names(self) -> list[str]:
        """Names of the detectors this stage runs."""
        return [keyed.prototype.name for keyed in self._keyed]

    def run(self, calls: Sequence[CallRecord]) -> Detection:
        """Update detectors with ``calls``; return scores, alarms and flags, in call order.

        Each key's instances see that key's calls in order (keys are independent), so
        the calls are grouped by key first: one instance look-up per key and detector per
        batch, not per call. A detector may report several scores for a call (e.g.
        faithfulness beside its length-only control) or none.
        """
        by_key: dict[str, list[int]] = {}
        for i, call in enumerate(calls):
            by_key.setdefault(call.detector_key, []).append(i)
        scores: list[dict[str, float]] = [{} for _ in calls]
        alarms: list[tuple[int, int, dict[str, Any]]] = []
        names = self._score_names
        for key, indices in by_key.items():
            detectors = [keyed.get(key) for keyed in self._keyed]
            for i in indices:
                # Call by call, every detector in turn: they share the analysis of the
                # call's texts (memoised for the strings of the call in hand).
                call = calls[i]
                into = scores[i]
                for order, detector in enumerate(detectors):
                    detector.update(call)
                    for score_name, score in detector.scores.items():
                        name = names.get((detector.name, score_name))
                        if name is None:
                            name = names[(detector.name, score_name)] = (
                                f"{detector.name}.{score_name}"
                            )
                        into[name] = float(score)
                    if detector.drift_detected:
                        alarms.append((i, order, self._alarm(detector, key, call)))
        out = Detection(scores=[(c, s) for c, s in zip(calls, scores, strict=True) if s])
        alarms.sort(key=lambda entry: entry[:2])  # call order, then detector order
        for _, _, alarm in alarms:
            out.alarms.append(alarm)
            out.flagged.setdefault(alarm["SpanId"], []).append(alarm["Detector"])
        return out

    @staticmethod
    def _alarm(detector: Detector, key: str, call: CallRecord) -> dict[str, Any]:
        main = detector.score
        reason = detector.alarm_reason
        return {
            "Timestamp": call.ch_timestamp,
            "Detector": detector.name,
            "DetectorKey": key,
            "TraceId": call.trace_id,
            "SpanId": call.span_id,
            "Score": main if math.isfinite(main) else 0.0,
            "Message": f"{detector.name} detected a change for {key}"
            + (f": {reason}" if reason else ""),
        }
