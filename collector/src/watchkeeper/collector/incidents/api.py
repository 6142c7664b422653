"""``/api/incidents``: incidents as JSON, and acknowledging or accepting them.

Same authentication and roles as the review API: a bearer token; reading needs the viewer
role, acting the reviewer role. The actor recorded is the token's name.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.collector.incidents import IncidentClosedError, IncidentNotFoundError
from watchkeeper.collector.incidents.tracker import IncidentTracker
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.tokens import Principal, Role

INCIDENT_ID_PATTERN = r"^[0-9a-f]{16}$"
IncidentId = Annotated[str, Path(pattern=INCIDENT_ID_PATTERN, description="the incident's id")]
DAY_S = 86_400


class IncidentActionIn(BaseModel):
    """An optional comment kept with the action."""

    model_config = ConfigDict(extra="forbid")

    comment: str = Field("", max_length=2000)


def incidents_router(tracker: IncidentTracker, auth: Auth) -> APIRouter:
    """``GET /api/incidents``, ``GET /api/incidents/{id}``, ``POST .../ack`` and
    ``POST .../accept-baseline``."""
    router = APIRouter(prefix="/api/incidents", tags=["incidents"])
    viewer = Depends(auth.api(Role.VIEWER))
    reviewer = Depends(auth.api(Role.REVIEWER))

    @router.get("")
    def list_incidents(
        _: Principal = viewer,
        state: Annotated[Literal["", "open", "acknowledged", "accepted", "resolved"], Query()] = "",
        days: Annotated[int, Query(ge=1, le=90)] = 7,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> dict[str, Any]:
        """Incidents opened in the last ``days``, newest first, each with its alarms
        biggest effect first."""
        since_ms = (int(time.time()) - days * DAY_S) * 1000
        return {"incidents": tracker.listed(since_ms, state, limit)}

    @router.get("/{incident_id}")
    def get_incident(incident_id: IncidentId, _: Principal = viewer) -> dict[str, Any]:
        """One incident, its alarms and who did what to it, when."""
        with _errors():
            return tracker.detail(incident_id)

    @router.post("/{incident_id}/ack")
    def acknowledge(
        incident_id: IncidentId,
        me: Principal = reviewer,
        body: IncidentActionIn | None = None,
    ) -> dict[str, Any]:
        """Acknowledge an active incident: someone is on it."""
        return _act(tracker, incident_id, "ack", me, body)

    @router.post("/{incident_id}/accept-baseline")
    def accept_baseline(
        incident_id: IncidentId,
        me: Principal = reviewer,
        body: IncidentActionIn | None = None,
    ) -> dict[str, Any]:
        """Accept the new regime as the baseline: the incident closes and its
        detector-keys start afresh from the next call."""
        return _act(tracker, incident_id, "accept-baseline", me, body)

    return router


def _act(
    tracker: IncidentTracker,
    incident_id: str,
    action: str,
    me: Principal,
    body: IncidentActionIn | None,
) -> dict[str, Any]:
    with _errors():
        tracker.act(incident_id, action, me.name, body.comment if body else "")
        return tracker.detail(incident_id)


@contextmanager
def _errors() -> Iterator[None]:
    """Incident errors as HTTP errors: unknown 404, closed 409."""
    try:
        yield
    except IncidentNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except IncidentClosedError as exc:
        raise HTTPException(409, str(exc)) from None
