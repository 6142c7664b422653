"""The detectors' per-call scores of an experiment's answers, as ``watchkeeper replay``
gives them.

The answers go through fresh instances of the collector's default detectors, in case
order, so the same answers always get the same scores. Each score name appears once per
answer: when several detectors report one name (``safety``), the worst value counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from watchkeeper.collector.experiments.cases import Case
from watchkeeper.collector.processors.detect import DetectorStage
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.scores import merge_worst
from watchkeeper.detectors import default_detectors

#: Scores every answer gets on its own (the others describe the stream, not the answer).
PER_ANSWER = ("faithfulness", "refusal", "safety", "bad_output")


def detector_scores(answers: Sequence[tuple[Case, str]]) -> list[dict[str, float]]:
    """Scores of each ``(case, answer)``, in order, limited to :data:`PER_ANSWER`."""
    stage = DetectorStage(default_detectors(), prefetch=False)
    try:
        calls = [_call(index, case, answer) for index, (case, answer) in enumerate(answers)]
        merged: dict[str, dict[str, float]] = {call.span_id: {} for call in calls}
        for start in range(0, len(calls), 256):
            for call, wide in stage.run(calls[start : start + 256]).scores:
                merge_worst(merged[call.span_id], wide, keep=PER_ANSWER)
    finally:
        stage.close()
    return [
        {name: round(value, 6) for name, value in sorted(merged[call.span_id].items())}
        for call in calls
    ]


def _call(index: int, case: Case, answer: str) -> CallRecord:
    ids = hashlib.sha256(f"{index}:{case.id}".encode()).hexdigest()
    return CallRecord(
        trace_id=ids[:32],
        span_id=ids[32:48],
        timestamp_ns=1_000_000_000 * (index + 1),
        duration_ns=0,
        route="experiment",
        input_text=case.input,
        output_text=answer,
        contexts=list(case.contexts),
    )
