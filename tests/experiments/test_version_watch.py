"""The collector's live comparison: ``watchkeeper_version_regressed`` on /metrics and the
versions API, over an app built as the runtime builds it."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.experiments.test_versions_api import _calls
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.versions.install import install_versions
from watchkeeper.collector.versions.watch import regressions

SERIES = 'watchkeeper_version_regressed{dimension="%s",route="support",score="%s"}'
FAITHFULNESS = "faithfulness_drift.faithfulness"
REFUSAL = "refusal_rate_drift.refusal"


def _recent(calls: list, offset_s: int = 0) -> list:  # type: ignore[type-arg]
    """The calls moved to the last hour (the watch looks at the last 24 hours)."""
    start = time.time_ns() - 3600 * 10**9 + offset_s * 10**9
    for n, call in enumerate(calls):
        call.timestamp_ns = start + n * 1_000_000_000
    return calls


def test_regressed_model_shows_on_metrics_and_the_api(store: Store) -> None:
    """model-b answers off-context half the time: the gauge is 1 for faithfulness and 0
    for refusals on route support; the versions API of the same app agrees."""
    pipeline = Pipeline(store)
    pipeline.process_calls(_recent(_calls(0.5)), "test")
    app = build_app(pipeline)
    install_versions(app, pipeline)
    token = TokenRegistry(store).create("vic", "viewer")[0]
    with TestClient(app) as client:
        metrics = client.get("/metrics").text
        params = {"route": "support", "baseline": "model-a", "candidate": "model-b"}
        headers = {"authorization": f"Bearer {token}"}
        body = client.get("/api/versions/compare", params=params, headers=headers).json()
    assert SERIES % ("model", FAITHFULNESS) + " 1.0" in metrics
    assert SERIES % ("model", REFUSAL) + " 0.0" in metrics
    assert body["verdict"] == "regressed"


def test_identical_versions_and_old_traffic_raise_nothing(store: Store) -> None:
    """Identical prompt versions give 0; calls older than a day are not compared."""
    pipeline = Pipeline(store)
    pipeline.process_calls(_recent(_calls(0.0, prompt=True)), "test")
    found = regressions(store)
    assert found[("support", "prompt", FAITHFULNESS)] == 0.0
    assert ("support", "model", FAITHFULNESS) not in found  # one model only
    assert regressions(store, now_ns=time.time_ns() + 3 * 86_400 * 10**9) == {}
