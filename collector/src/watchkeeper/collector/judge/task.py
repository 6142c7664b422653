"""A call waiting for a judge: what identifies its stored rows, and its texts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from watchkeeper.collector.judge.prompt import JudgeInput
from watchkeeper.collector.record import CallRecord


@dataclass(frozen=True)
class JudgeTask:
    """One call for one judge, and why it was chosen (``review``, ``rule``, ``sample``)."""

    judge: str
    reason: str
    trace_id: str
    span_id: str
    timestamp_ns: int
    service_name: str
    route: str
    model: str
    detector_key: str
    text: JudgeInput
    #: The call's ``call_scores`` row as the pipeline stored it (empty: it has none), so
    #: the writer adds the judge's scores without reading the row; None: not known here.
    stored_scores: Mapping[str, float] | None = None

    @classmethod
    def of_call(
        cls,
        judge: str,
        reason: str,
        call: CallRecord,
        stored_scores: Mapping[str, float] | None = None,
    ) -> JudgeTask:
        """From a call record in the pipeline (with its stored scores when known)."""
        return cls(
            judge,
            reason,
            call.trace_id,
            call.span_id,
            call.timestamp_ns,
            call.service_name,
            call.route,
            call.model,
            call.detector_key,
            JudgeInput(call.input_text, call.output_text, tuple(call.contexts)),
            stored_scores,
        )

    @classmethod
    def of_row(cls, judge: str, reason: str, row: Mapping[str, Any]) -> JudgeTask:
        """From a stored call (``JudgeStore.stored_candidates``)."""
        service, route, model = str(row["ServiceName"]), str(row["Route"]), str(row["Model"])
        return cls(
            judge,
            reason,
            str(row["TraceId"]),
            str(row["SpanId"]),
            int(row["TimestampNs"]),
            service,
            route,
            model,
            f"{service}|{route}|{model}",
            JudgeInput(str(row["InputText"]), str(row["OutputText"]), tuple(row["Contexts"] or ())),
        )

    def span_row(self) -> dict[str, Any]:
        """The span columns ``JudgeStore.add_scores`` needs for a call with no scores row,
        and the scores it was stored with when known (``StoredScores``)."""
        return {
            "TraceId": self.trace_id,
            "SpanId": self.span_id,
            "TimestampNs": self.timestamp_ns,
            "ServiceName": self.service_name,
            "Route": self.route,
            "Model": self.model,
            "DetectorKey": self.detector_key,
            "StoredScores": self.stored_scores,
        }
