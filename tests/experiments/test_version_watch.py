"""The collector's live comparison: ``watchkeeper_version_regressed`` on /metrics and the
versions API, over an app built as the runtime builds it."""

from __future__ import annotations

import io
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.experiments.test_versions_api import _calls
from watchkeeper.collector.experiments.cases import read_evalset
from watchkeeper.collector.experiments.runner import RunOptions, run_cases
from watchkeeper.collector.experiments.targets import python_target
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.review.auth import SESSION_COOKIE
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.experiments import save_run
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


def test_versions_and_experiments_pages(store: Store, evalset: Path, tmp_path: Path) -> None:
    """The versions page lists the route's models and shows the verdict with the worst
    candidate calls linked to their traces; the runs page lists stored runs and compares
    two (the worse one regressed on exact_match, its 8 planted cases listed); without a
    session the pages ask to log in."""
    pipeline = Pipeline(store)
    pipeline.process_calls(_recent(_calls(0.5)), "test")
    results = run_cases(
        read_evalset(evalset).cases,
        python_target("tests.experiments.stand_in:answer"),
        tmp_path / "r.jsonl",
        RunOptions(),
        io.StringIO(),
    ).results
    baseline_run = save_run(store, "experiment", "cases.jsonl", results)
    worse = run_cases(
        read_evalset(evalset).cases,
        python_target("tests.experiments.stand_in:worse"),
        tmp_path / "w.jsonl",
        RunOptions(),
        io.StringIO(),
    ).results
    worse_run = save_run(store, "experiment", "cases.jsonl", worse)
    app = build_app(pipeline)
    install_versions(app, pipeline)
    token = TokenRegistry(store).create("vic", "viewer")[0]
    with TestClient(app) as client:
        assert client.get("/ui/versions").status_code == 401
        client.cookies.set(SESSION_COOKIE, token)
        page = client.get("/ui/versions", params={"route": "support"}).text
        empty = client.get("/ui/versions").text
        bad = client.get("/ui/versions", params={"route": "support", "baseline": "x",
                                                 "candidate": "x"}).text  # fmt: skip
        runs_page = client.get("/ui/experiments").text
        compared = client.get(
            "/ui/experiments", params={"baseline": baseline_run, "candidate": worse_run}
        ).text
    assert "<td>model-a</td><td>200</td>" in page
    assert "model-b against model-a: regressed</h2>" in page
    assert page.count("<li><a href='/ui/traces/") == 10
    assert "id='compare-form'" in empty
    assert "baseline and candidate must differ" in bad
    assert "python:tests.experiments.stand_in:answer" in runs_page
    assert "<td>20</td><td>0</td>" in runs_page
    assert "id='runs-form'" in runs_page
    assert "<tr class='regressed'><td>exact_match</td>" in compared
    assert "<tr class='no-difference'><td>success</td>" in compared
    assert compared.count("<li>case-0") == 8
