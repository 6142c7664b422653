"""The calls that show a regression reach the ``versions`` review queue."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.experiments.test_version_watch import _recent
from tests.experiments.test_versions_api import OFF, _calls
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.versions.install import install_versions
from watchkeeper.collector.versions.live import compare_stored
from watchkeeper.collector.versions.review_feed import CALLS_PER_REGRESSION, VersionReviewFeed


def _pending(pipeline: Pipeline, queue: str) -> list[dict[str, object]]:
    app = build_app(pipeline)
    install_versions(app, pipeline)
    token = TokenRegistry(pipeline.store).create("vic", "viewer")[0]
    with TestClient(app) as client:
        assert "watchkeeper_version_regressed" in client.get("/metrics").text
        headers = {"authorization": f"Bearer {token}"}
        reply = client.get(f"/api/queues/{queue}/items?limit=500", headers=headers)
    assert reply.status_code == 200, reply.text
    return list(reply.json())


def test_a_regressed_candidate_sends_its_worst_calls_to_review(store: Store) -> None:
    """model-b answers off-context in half its calls: once the collector computes the
    comparison (at scrape), the versions queue holds model-b's off-context answers, at
    most CALLS_PER_REGRESSION of them, each with the regression as its reason."""
    pipeline = Pipeline(store)
    pipeline.process_calls(_recent(_calls(0.5)), "test")
    items = _pending(pipeline, "versions")
    assert 0 < len(items) <= CALLS_PER_REGRESSION
    assert {item["model"] for item in items} == {"model-b"}
    assert all(item["output"] == OFF for item in items)
    assert {item["reason"] for item in items} == {"version:model-b<model-a"}


def test_the_same_regression_is_sent_once(store: Store) -> None:
    """The first regressed verdict writes its calls; the same regression again, nothing."""
    pipeline = Pipeline(store)
    pipeline.process_calls(_recent(_calls(0.5)), "test")
    feed = VersionReviewFeed(store, pipeline.router.queues)
    verdict = compare_stored(
        store, route="support", baseline="model-a", candidate="model-b", worst=feed.wanted
    )
    assert verdict["verdict"] == "regressed"
    assert feed.send(verdict, since_ns=0) == CALLS_PER_REGRESSION
    assert feed.send(verdict, since_ns=0) == 0


def test_identical_versions_send_nothing(store: Store) -> None:
    """Identical prompt versions: no regression, the versions queue stays empty."""
    pipeline = Pipeline(store)
    pipeline.process_calls(_recent(_calls(0.0, prompt=True)), "test")
    assert _pending(pipeline, "versions") == []
