"""``/api/overview``, ``/api/alarms`` and ``/api/calls``: what the pages show, as JSON.

Same authentication and roles as the review API: a bearer token; reads need the viewer
role, acting on an alarm or sending a call to review the reviewer role. The actor
recorded is the token's name. Handlers are module-level functions in the ``api`` route
table; :func:`monitor_router` binds it to one app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.collector.overview.monitor import ALARM_ACTIONS, Monitor
from watchkeeper.collector.overview.ranges import PRESETS, RangeError, TimeRange
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.queues import QUEUE_NAME_PATTERN
from watchkeeper.collector.review.routes import (
    RouteTable,
    api_endpoints,
)
from watchkeeper.collector.review.tokens import Principal, Role
from watchkeeper.collector.store.monitoring import REVIEW_STATES, CallSearch, KeyFilter

#: Detector names as the detectors declare them.
DETECTOR_PATTERN = r"^[a-z][a-z0-9_.]{0,63}$"
SPAN_PATTERN = r"^[0-9a-f]{16}$"

Detector = Annotated[str, Path(pattern=DETECTOR_PATTERN, description="the detector's name")]
SpanId = Annotated[str, Path(pattern=SPAN_PATTERN, description="the call's span id")]
Preset = Annotated[
    str | None,
    Query(
        alias="range",
        pattern=rf"^({'|'.join(PRESETS)})$",
        description="a preset range ending now; default 1h unless from is given",
    ),
]
_TIME_HELP = "2025-01-31T12:00:00Z, 2h (ago) or epoch seconds"
FromTime = Annotated[str | None, Query(alias="from", max_length=40, description=_TIME_HELP)]
ToTime = Annotated[str | None, Query(alias="to", max_length=40, description=_TIME_HELP)]
KeyText = Annotated[str, Query(max_length=200)]


@dataclass(frozen=True)
class MonitorContext:
    """What one app's overview, alarms and calls routes work on."""

    monitor: Monitor
    auth: Auth


class AlarmActionIn(BaseModel):
    """Acknowledge, resolve or reopen an alarm (the actor is the token's name)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["acknowledge", "resolve", "reopen"]
    comment: str = Field("", max_length=2000)


class SendToReviewIn(BaseModel):
    """Send a call to a review queue by hand."""

    model_config = ConfigDict(extra="forbid")

    queue: str = Field(pattern=QUEUE_NAME_PATTERN)


api = RouteTable()


def monitor_router(monitor: Monitor, auth: Auth) -> APIRouter:
    """The overview, alarms and calls API of one app."""
    ctx = MonitorContext(monitor, auth)

    return api.router(api_endpoints(ctx, auth, "ctx"), prefix="/api", tags=["monitoring"])


@api.get("/overview", Role.VIEWER)
def overview(
    ctx: MonitorContext,
    me: Principal,
    *,
    preset: Preset = None,
    start: FromTime = None,
    end: ToTime = None,
    service: KeyText = "",
    route: KeyText = "",
    model: KeyText = "",
) -> dict[str, Any]:
    """Per service/route/model key: traffic, error rate, latency and tokens; every score
    over time (``times`` are the buckets' starts, epoch seconds; values are null where a
    bucket had none); alarms and deploys in the range; the filters' choices."""
    return ctx.monitor.overview(_range(preset, start, end), KeyFilter(service, route, model))


@api.get("/alarms", Role.VIEWER)
def alarms(
    ctx: MonitorContext,
    me: Principal,
    *,
    preset: Preset = None,
    start: FromTime = None,
    end: ToTime = None,
    service: KeyText = "",
    route: KeyText = "",
    model: KeyText = "",
    detector: Annotated[str, Query(pattern=r"^([a-z][a-z0-9_.]{0,63})?$")] = "",
    state: Literal["", "open", "acknowledged", "resolved"] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Alarms in the range (default: the last day), newest first, with their reason in
    words and state; ``id`` is the path under ``/api/alarms/``."""
    span = _range(preset or (None if start else "24h"), start, end)
    return ctx.monitor.alarms(
        span, KeyFilter(service, route, model), detector=detector, state=state, limit=limit
    )


@api.get("/alarms/{detector}/{span_id}", Role.VIEWER)
def alarm(ctx: MonitorContext, detector: Detector, span_id: SpanId, me: Principal) -> Any:
    """One alarm: the flagged call, then the worst-scoring calls of its key around it
    (15 minutes before to 5 after), and every acknowledge/resolve action with who and when."""
    return ctx.monitor.alarm(detector, span_id)


@api.post("/alarms/{detector}/{span_id}/actions", Role.REVIEWER, status_code=201)
def act_on_alarm(
    ctx: MonitorContext, detector: Detector, span_id: SpanId, body: AlarmActionIn, me: Principal
) -> dict[str, Any]:
    """Acknowledge, resolve or reopen an alarm; every action is kept with who and when."""
    return ctx.monitor.act_on_alarm(detector, span_id, body.action, me.name, body.comment)


@api.get("/calls", Role.VIEWER)
def calls(
    ctx: MonitorContext,
    me: Principal,
    *,
    preset: Preset = None,
    start: FromTime = None,
    end: ToTime = None,
    service: KeyText = "",
    route: KeyText = "",
    model: KeyText = "",
    score: Annotated[
        str,
        Query(pattern=r"^([a-z0-9_]{1,64}\.[a-z0-9_.]{1,64})?$", description="<detector>.<score>"),
    ] = "",
    score_min: float | None = None,
    score_max: float | None = None,
    text: Annotated[str, Query(max_length=200, description="in the input or output")] = "",
    review: Annotated[str, Query(pattern=rf"^({'|'.join(REVIEW_STATES)})?$")] = "",
    errors: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Calls in the range, newest first, matching every filter given: key, a score
    between ``score_min`` and ``score_max``, text contained (case-insensitive; calls whose
    texts were kept), review state, errors only."""
    search = CallSearch(
        errors=errors,
        score=score,
        score_min=score_min if score_min is not None else float("-inf"),
        score_max=score_max if score_max is not None else float("inf"),
        text=text,
        review=review,
    )
    return ctx.monitor.calls(
        _range(preset, start, end), KeyFilter(service, route, model), search, limit
    )


@api.get("/calls/{span_id}", Role.VIEWER)
def call(
    ctx: MonitorContext,
    span_id: SpanId,
    me: Principal,
    at: Annotated[
        int | None, Query(ge=0, description="the call's start (epoch ns), if known")
    ] = None,
) -> dict[str, Any]:
    """One call: input, contexts, output, every score, its alarms and review state."""
    return ctx.monitor.call(span_id, at)


@api.post("/calls/{span_id}/review", Role.REVIEWER, status_code=201)
def send_to_review(
    ctx: MonitorContext, span_id: SpanId, body: SendToReviewIn, me: Principal
) -> dict[str, Any]:
    """Send a call to a review queue by hand (reason ``manual``); 409 when its texts were
    not kept."""
    return ctx.monitor.send_to_review(span_id, body.queue, me.name)


def _range(preset: str | None, start: str | None, end: str | None) -> TimeRange:
    try:
        return TimeRange.parse(preset, start=start, end=end)
    except RangeError as exc:
        raise HTTPException(422, str(exc)) from None


__all__ = ["ALARM_ACTIONS", "MonitorContext", "api", "monitor_router"]
