"""The review REST API: list queues, list pending items, label an item."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.review.rubric import DEFAULT_RUBRIC, VERDICTS, validate_scores
from watchkeeper.collector.store.store import Store

QueueName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
SpanId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]


class LabelIn(BaseModel):
    """A reviewer's judgement of one item."""

    reviewer: str = Field(min_length=1, max_length=128)
    verdict: str = Field(pattern="^(pass|fail)$", description="pass or fail overall")
    scores: dict[str, int] = Field(
        default_factory=dict, description="rubric dimension -> score (default rubric: 1-5)"
    )
    comment: str = Field("", max_length=10_000)
    corrected_answer: str = Field("", max_length=100_000)


class ReviewItemOut(BaseModel):
    """An item waiting in a queue."""

    queue: str
    trace_id: str
    span_id: str
    reason: str
    priority: int
    model: str
    input: str
    output: str
    timestamp_ns: int


def review_router(store: Store, metrics: PipelineMetrics, queues: list[str]) -> APIRouter:
    """Routes under ``/api``; the queue names are fixed by configuration."""
    router = APIRouter(prefix="/api", tags=["review"])

    def known_queue(queue: str) -> None:
        if queue not in queues:
            raise HTTPException(404, f"no queue {queue!r}; queues: {', '.join(queues)}")

    @router.get("/rubric")
    def rubric() -> dict[str, Any]:
        """The rubric labels are checked against."""
        return {
            "verdicts": list(VERDICTS),
            "dimensions": {k: {"min": lo, "max": hi} for k, (lo, hi) in DEFAULT_RUBRIC.items()},
        }

    @router.get("/queues")
    def list_queues() -> list[dict[str, Any]]:
        """Every queue with the number of items waiting."""
        depths = store.queue_depths()
        return [{"name": q, "depth": depths.get(q, 0)} for q in queues]

    @router.get("/queues/{queue}/items")
    def pending(
        queue: QueueName, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> list[ReviewItemOut]:
        """Items of ``queue`` not yet labelled, highest priority first."""
        known_queue(queue)
        return [_item(row) for row in store.pending_items(queue, limit)]

    @router.post("/queues/{queue}/items/{span_id}/label", status_code=201)
    def label(queue: QueueName, span_id: SpanId, body: LabelIn) -> dict[str, str]:
        """Label one item; it leaves the queue."""
        known_queue(queue)
        problems = validate_scores(body.scores, DEFAULT_RUBRIC)
        if problems:
            raise HTTPException(422, "; ".join(problems))
        item = store.review_item(queue, span_id)
        if item is None:
            raise HTTPException(404, f"no item {span_id} in queue {queue!r}")
        store.add_label(
            queue=queue,
            span_id=span_id,
            trace_id=item["TraceId"],
            reviewer=body.reviewer,
            verdict=body.verdict,
            scores=body.scores,
            comment=body.comment,
            corrected_answer=body.corrected_answer,
        )
        metrics.review_labels.labels(queue, body.verdict).inc()
        return {"status": "labelled", "queue": queue, "span_id": span_id}

    @router.get("/queues/{queue}/labels")
    def labels(queue: QueueName) -> list[dict[str, Any]]:
        """Labels given in ``queue``, oldest first."""
        known_queue(queue)
        return store.labels(queue)

    return router


def _item(row: dict[str, Any]) -> ReviewItemOut:
    return ReviewItemOut(
        queue=row["Queue"],
        trace_id=row["TraceId"],
        span_id=row["SpanId"],
        reason=row["Reason"],
        priority=int(row["Priority"]),
        model=row["Model"],
        input=row["InputText"],
        output=row["OutputText"],
        timestamp_ns=int(row["TimestampNs"]),
    )
