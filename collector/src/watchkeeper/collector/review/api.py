"""The review REST API under ``/api`` (OpenAPI at ``/docs`` and ``/openapi.json``).

Every route needs a bearer token; reads need the viewer role, claiming and labelling the
reviewer role, token management the admin role. The reviewer's name on claims and labels
is the token's name, never a field of the request. Handlers are module-level functions
declared in the ``api`` route table with the role they need; ``review_router`` binds the
table to one app.
"""

import io
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from watchkeeper.collector.evalset import build_evalset, parse_time, write_evalset
from watchkeeper.collector.evalset.formats import media_type
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.queues import QUEUE_NAME_PATTERN
from watchkeeper.collector.review.routes import (
    ReviewContext,
    RouteTable,
    api_endpoints,
    http_errors,
)
from watchkeeper.collector.review.tokens import NAME_PATTERN, Principal, Role, TokenRegistry
from watchkeeper.collector.review.workflow import Claim, ReviewWorkflow

QueueName = Annotated[str, Path(pattern=QUEUE_NAME_PATTERN, description="queue name")]
SpanId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="the call's span id")]
TimeQuery = Annotated[
    str | None,
    Query(max_length=40, description="7d, 24h, 2025-01-31 or 2025-01-31T12:00:00Z"),
]


class LabelIn(BaseModel):
    """A reviewer's judgement of one item (the reviewer is the token's name)."""

    model_config = ConfigDict(extra="forbid")

    verdict: Literal["pass", "fail"] = Field(description="pass or fail overall")
    scores: dict[Annotated[str, Field(max_length=40)], StrictInt | Literal["pass", "fail"]] = Field(
        default_factory=dict,
        description="rubric dimension -> score (see GET /api/rubric): an integer on the "
        "dimension's scale, or 'pass'/'fail' for pass/fail dimensions",
        max_length=50,
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
    labels: int
    required_labels: int
    claimed_by: list[str]


class ClaimOut(BaseModel):
    """A lease on an item: it is reserved for ``reviewer`` until ``until_ms``."""

    queue: str
    span_id: str
    reviewer: str
    since_ms: int
    until_ms: int


class TokenIn(BaseModel):
    """A token to create."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="who uses it; the reviewer name")
    role: Role


api = RouteTable()


def review_router(workflow: ReviewWorkflow, auth: Auth, registry: TokenRegistry) -> APIRouter:
    """Routes under ``/api`` for one app's workflow, authentication and tokens."""
    review = ReviewContext(workflow, auth, registry)

    return api.router(api_endpoints(review, auth, "review"), prefix="/api", tags=["review"])


@api.get("/whoami", Role.VIEWER)
def whoami(review: ReviewContext, me: Principal) -> dict[str, str]:
    """The token's name, role and id."""
    return {"name": me.name, "role": me.role.value, "token_id": me.token_id}


@api.get("/rubric", Role.VIEWER)
def rubric(review: ReviewContext, me: Principal) -> dict[str, Any]:
    """The rubric labels are checked against."""
    return review.workflow.config.rubric.describe()


@api.get("/queues", Role.VIEWER)
def list_queues(review: ReviewContext, me: Principal) -> list[dict[str, Any]]:
    """Every queue with its settings, items waiting (``depth``), claimed and done."""
    return review.workflow.summaries()


@api.get("/queues/{queue}/items", Role.VIEWER)
def pending(
    review: ReviewContext,
    queue: QueueName,
    me: Principal,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ReviewItemOut]:
    """Items of ``queue`` still needing labels, highest priority first."""
    with http_errors():
        return [_item(row) for row in review.workflow.pending(queue, limit)]


@api.get("/queues/{queue}/items/{span_id}", Role.VIEWER)
def item(review: ReviewContext, queue: QueueName, span_id: SpanId, me: Principal) -> dict[str, Any]:
    """One item with its contexts, labels and live claims."""
    with http_errors():
        return review.workflow.item(queue, span_id, me.name)


@api.post(
    "/queues/{queue}/claim",
    Role.REVIEWER,
    responses={204: {"description": "nothing left for this reviewer"}},
)
def claim_next(review: ReviewContext, queue: QueueName, me: Principal) -> Any:
    """Claim the next item for the calling reviewer (renews one already held)."""
    with http_errors():
        claim = review.workflow.claim_next(queue, me.name)
    if claim is None:
        return Response(status_code=204)
    return _claim(claim)


@api.post("/queues/{queue}/items/{span_id}/claim", Role.REVIEWER)
def claim(review: ReviewContext, queue: QueueName, span_id: SpanId, me: Principal) -> ClaimOut:
    """Claim or renew one item; 409 when others hold all its slots."""
    with http_errors():
        return _claim(review.workflow.claim(queue, span_id, me.name))


@api.post("/queues/{queue}/items/{span_id}/release", Role.REVIEWER)
def release(
    review: ReviewContext, queue: QueueName, span_id: SpanId, me: Principal
) -> dict[str, bool]:
    """Give the item back (``released`` is false when no live claim was held)."""
    with http_errors():
        return {"released": review.workflow.release(queue, span_id, me.name)}


@api.post("/queues/{queue}/items/{span_id}/skip", Role.REVIEWER)
def skip(review: ReviewContext, queue: QueueName, span_id: SpanId, me: Principal) -> dict[str, str]:
    """Give the item back and do not offer it to this reviewer again."""
    with http_errors():
        review.workflow.skip(queue, span_id, me.name)
    return {"status": "skipped", "queue": queue, "span_id": span_id}


@api.post("/queues/{queue}/items/{span_id}/label", Role.REVIEWER, status_code=201)
def label(
    review: ReviewContext, queue: QueueName, span_id: SpanId, body: LabelIn, me: Principal
) -> dict[str, Any]:
    """Label one item (claiming it if needed); it leaves the queue once it has the
    labels its queue asks for. 409 when other reviewers hold or filled its slots."""
    with http_errors():
        scores = review.workflow.label(
            queue,
            span_id,
            me.name,
            verdict=body.verdict,
            scores=body.scores,
            comment=body.comment,
            corrected_answer=body.corrected_answer,
        )
    return {"status": "labelled", "queue": queue, "span_id": span_id, "scores": scores}


@api.get("/queues/{queue}/labels", Role.VIEWER)
def labels(
    review: ReviewContext, queue: QueueName, me: Principal, since: TimeQuery = None
) -> list[dict[str, Any]]:
    """Labels given in ``queue``, oldest first."""
    workflow = review.workflow
    with http_errors():
        workflow.queue(queue)
        since_ms = _time(since, "since") or 0
        return workflow.store.labels_since([queue], since_ms, workflow.now_ms() + 1)


@api.get("/queues/{queue}/agreement", Role.VIEWER)
def agreement(
    review: ReviewContext, queue: QueueName, me: Principal, since: TimeQuery = None
) -> dict[str, Any]:
    """Inter-annotator agreement per rubric dimension (Krippendorff's alpha, Fleiss'
    kappa) over items with two or more labels."""
    with http_errors():
        rows = review.workflow.agreement(queue, _time(since, "since") or 0)
    return {"queue": queue, "dimensions": rows}


@api.get("/calibration", Role.VIEWER)
def calibration(
    review: ReviewContext,
    me: Principal,
    score: Annotated[
        str,
        Query(pattern=r"^[a-z0-9_]{1,64}\.[a-z0-9_]{1,64}$", description="<detector>.<score>"),
    ],
    dimension: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,39}$")] = "verdict",
    since: TimeQuery = None,
) -> dict[str, Any]:
    """How well ``score`` past a threshold flags what reviewers failed on ``dimension``:
    precision and recall per threshold, and the best threshold (F1)."""
    with http_errors():
        result = review.workflow.calibration(score, dimension, _time(since, "since") or 0)
    return {"score": score, "dimension": dimension, **result.to_dict()}


@api.get(
    "/evalset",
    Role.VIEWER,
    response_class=Response,
    responses={200: {"description": "the evalset file", "content": {"application/jsonl": {}}}},
)
def evalset(
    review: ReviewContext,
    me: Principal,
    *,
    queue: Annotated[list[str] | None, Query(max_length=50)] = None,
    since: TimeQuery = None,
    until: TimeQuery = None,
    format: Literal["jsonl", "csv", "parquet"] = "jsonl",
    shape: Literal["watchkeeper", "ragas", "openai"] = "watchkeeper",
) -> Response:
    """Reviewed items as an evalset file (see README "Review and evalsets")."""
    return export_response(
        review.workflow, queue or [], since=since, until=until, fmt=format, shape=shape
    )


@api.get("/tokens", Role.ADMIN)
def tokens(review: ReviewContext, me: Principal) -> list[dict[str, Any]]:
    """Every token (never the secret)."""
    return review.registry.list()


@api.post("/tokens", Role.ADMIN, status_code=201)
def create_token(review: ReviewContext, body: TokenIn, me: Principal) -> dict[str, Any]:
    """Create a token; the secret is in this response only."""
    secret, principal = review.registry.create(body.name, body.role)
    return {
        "token": secret,
        "token_id": principal.token_id,
        "name": principal.name,
        "role": principal.role.value,
    }


@api.delete("/tokens/{token_id}", Role.ADMIN)
def revoke_token(
    review: ReviewContext, token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")], me: Principal
) -> dict[str, str]:
    """Revoke a token; it stops working at once here, within seconds elsewhere."""
    if not review.registry.revoke(token_id):
        raise HTTPException(404, f"no active token {token_id}")
    return {"status": "revoked", "token_id": token_id}


def export_response(
    workflow: ReviewWorkflow,
    queues: list[str],
    *,
    since: str | None,
    until: str | None,
    fmt: str,
    shape: str,
) -> Response:
    """An evalset file as a download (shared by the API and the UI)."""
    with http_errors():
        for name in queues:
            workflow.queue(name)
    since_ms = _time(since, "since") or 0
    until_ms = _time(until, "until")
    records = build_evalset(
        workflow.store,
        workflow.config.rubric,
        queues=queues,
        since_ms=since_ms,
        until_ms=until_ms,
    )
    buffer = io.BytesIO()
    count = write_evalset(records, buffer, fmt, shape)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"evalset-{'-'.join(queues) or 'all'}-{stamp}.{fmt}"
    return Response(
        buffer.getvalue(),
        media_type=media_type(fmt),
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Evalset-Records": str(count),
        },
    )


def _time(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise HTTPException(422, f"{name}: {exc}") from None


def _claim(claim: Claim) -> ClaimOut:
    return ClaimOut(
        queue=claim.queue,
        span_id=claim.span_id,
        reviewer=claim.reviewer,
        since_ms=claim.since_ms,
        until_ms=claim.until_ms,
    )


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
        labels=int(row["Labels"]),
        required_labels=int(row["RequiredLabels"]),
        claimed_by=list(row["ClaimedBy"]),
    )
