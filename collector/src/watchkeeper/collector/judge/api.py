"""``GET /api/judges`` and ``GET /api/judges/{name}/agreement``: the judges and how each
agrees with reviewers (viewer role, like the review API's reads)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from watchkeeper.collector.evalset.records import parse_time
from watchkeeper.collector.judge.report import judge_report
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.tokens import Role
from watchkeeper.collector.settings.judge import JUDGE_NAME_PATTERN, JudgeConfig
from watchkeeper.collector.settings.rubric import RubricDimension
from watchkeeper.collector.store.judges import JudgeStore


def judge_router(
    judges: Mapping[str, JudgeConfig],
    store: JudgeStore,
    rubric: Mapping[str, RubricDimension],
    auth: Auth,
) -> APIRouter:
    """The judges' API of one app."""
    router = APIRouter(
        prefix="/api", tags=["judges"], dependencies=[Depends(auth.api(Role.VIEWER))]
    )

    @router.get("/judges")
    def list_judges() -> list[dict[str, Any]]:
        """The configured judges: name, provider, model, sampling and budget."""
        return [
            {"name": name, **config.model_dump(exclude={"callable", "api_key_env"})}
            for name, config in judges.items()
        ]

    @router.get("/judges/{name}/agreement")
    def agreement(
        name: Annotated[str, Path(pattern=JUDGE_NAME_PATTERN)],
        since: Annotated[
            str | None, Query(max_length=40, description="7d, 24h, 2025-01-31 ...")
        ] = None,
    ) -> dict[str, Any]:
        """Per rubric dimension: Cohen's kappa with a 95% bootstrap interval, Krippendorff's
        alpha, the confusion matrix, kappa by day, calibration (ECE and reliability table)
        and length bias; self-preference (judge and app models of one family); and order
        sensitivity (the flip rate of stored pairwise comparisons) per dimension."""
        config = judges.get(name)
        if config is None:
            raise HTTPException(404, f"no judge {name!r}; configured: {sorted(judges)}")
        try:
            since_ms = parse_time(since) if since else 0
        except ValueError as exc:
            raise HTTPException(422, f"since: {exc}") from None
        return judge_report(store, name, config, rubric, since_ms)

    return router
