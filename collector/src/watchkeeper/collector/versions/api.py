"""``/api/versions`` and ``/api/versions/compare``: the versions of a route and the live
comparison of two of them, as JSON.

Same authentication and roles as every review and overview route: a bearer token with
the viewer role. :func:`versions_router` binds the route table to one app's store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.routes import RouteTable, api_endpoints
from watchkeeper.collector.review.tokens import Principal, Role
from watchkeeper.collector.store.versions import route_versions
from watchkeeper.collector.versions.live import compare_stored

if TYPE_CHECKING:
    from watchkeeper.collector.store.store import Store

Text = Annotated[str, Query(min_length=1, max_length=512)]
Dimension = Annotated[str, Query(pattern="^(model|prompt|release|deploy)$")]


@dataclass(frozen=True)
class VersionsContext:
    """What one app's version routes work on."""

    store: Store
    auth: Auth


api = RouteTable()


def versions_router(store: Store, auth: Auth) -> APIRouter:
    """The versions API of one app."""
    ctx = VersionsContext(store, auth)

    return api.router(api_endpoints(ctx, auth, "ctx"), prefix="/api", tags=["versions"])


@api.get("/versions", Role.VIEWER)
def versions(
    ctx: VersionsContext, *, route: Text, me: Principal, dimension: Dimension = "model"
) -> dict[str, Any]:
    """The versions seen on ``route`` (by model, or by prompt version), oldest first, with
    their call counts and first and last call times (ns)."""
    rows = route_versions(ctx.store, route=route, dimension=dimension)
    return {"route": route, "dimension": dimension, "versions": rows}


@api.get("/versions/compare", Role.VIEWER)
def compare(
    ctx: VersionsContext,
    *,
    route: Text,
    baseline: Text,
    candidate: Text,
    me: Principal,
    score: Text = "faithfulness_drift.faithfulness",
    dimension: Dimension = "model",
    since_ns: Annotated[int, Query(ge=0)] = 0,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    tolerance: Annotated[float, Query(ge=0, le=1)] = 0.0,
) -> dict[str, Any]:
    """Candidate against baseline on one score of ``route``: ``verdict`` ("regressed",
    "improved", "no difference beyond tolerance", "no detectable difference at this
    traffic"), the difference of means with its always-valid interval, each version's
    calls, when it first decided, and the candidate's worst-scored calls."""
    if baseline == candidate:
        raise HTTPException(422, "baseline and candidate must differ")
    found = compare_stored(
        ctx.store,
        route=route,
        baseline=baseline,
        candidate=candidate,
        score=score,
        dimension=dimension,
        since_ns=since_ns,
        alpha=alpha,
        tolerance=tolerance,
    )
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in found.items()}


__all__ = ["VersionsContext", "api", "versions_router"]
