"""The judges' agreement with reviewers through the app: API, gauges, queue page panel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from tests.judge.harness import answers, judge_settings
from tests.judge.standin import StandIn
from watchkeeper.collector.judge.endpoint import open_endpoint
from watchkeeper.collector.judge.metrics import JudgeMetrics
from watchkeeper.collector.judge.pairwise import compare, record
from watchkeeper.collector.judge.scorer import Judge
from watchkeeper.collector.judge.start import attach_judges, serve_judges
from watchkeeper.collector.judge.worker import JudgeWorkers
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.judges import JudgeStore
from watchkeeper.collector.store.store import Store

#: Reviewers' helpfulness for each answer; the stand-in judges 5, 5, 2, 2.
HUMAN = {"correct A": 5, "correct B": 2, "wrong A": 2, "wrong B": 2}


@pytest.fixture
def judged_app(store: Store, standin: StandIn) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app whose judge scored four calls that a reviewer then labelled."""
    settings = judge_settings(standin, judge_dimensions="helpfulness,safety")
    pipeline = Pipeline(store)
    workers = attach_judges(settings, store, pipeline)
    assert isinstance(workers, JudgeWorkers)
    app = build_app(pipeline, settings=settings)
    serve_judges(app, workers, settings, pipeline)
    try:
        pipeline.process([answers(*HUMAN)])
        assert workers.wait_done(4, 30)
    finally:
        workers.close()
    rows = store.select("SELECT TraceId, SpanId, OutputText FROM {db}.call_bodies FINAL")
    for row in rows:
        store.add_label(
            queue="random",
            span_id=row["SpanId"],
            trace_id=row["TraceId"],
            reviewer="ana",
            verdict="pass",
            scores={"helpfulness": HUMAN[row["OutputText"]], "safety": 1},
        )
    token, _ = TokenRegistry(store).create("vic", "viewer")
    with TestClient(app) as client:
        yield client, {"authorization": f"Bearer {token}"}


def test_agreement_api_reports_kappa_confusion_and_calibration(
    judged_app: tuple[TestClient, dict[str, str]],
) -> None:
    """Judge 5, 5, 2, 2 against reviewer 5, 2, 2, 2 on helpfulness: p_o 0.75, p_e 0.5,
    kappa 0.5, one judge-5 the reviewer scored 2 in the confusion matrix; safety agrees
    on every call but has no variation, so its kappa is undefined (null)."""
    client, viewer = judged_app
    report = client.get("/api/judges/default/agreement", headers=viewer).json()
    assert report["labelled_calls"] == 4
    by_name = {d["dimension"]: d for d in report["dimensions"]}
    helpfulness = by_name["helpfulness"]
    assert helpfulness["kappa"] == pytest.approx(0.5)
    assert helpfulness["pairs"] == 4
    assert helpfulness["confusion"]["rows"][1][4] == 1  # reviewer 2, judge 5
    assert helpfulness["below_floor"] is False
    assert helpfulness["calibration"]["reliability"] == [
        {"score": 2, "confidence": 0.25, "passed": 0.0, "n": 2},
        {"score": 5, "confidence": 1.0, "passed": 0.5, "n": 2},
    ]
    assert helpfulness["calibration"]["ece"] == pytest.approx(0.375)
    assert helpfulness["trend"][0]["kappa"] == pytest.approx(0.5)
    assert helpfulness["trend"][0]["ece"] == pytest.approx(0.375)
    assert helpfulness["calibration"]["by_app_model"] == {"app-model": {"pairs": 4, "ece": 0.375}}
    assert by_name["safety"]["kappa"] is None
    assert report["self_preference"]["flagged"] is False


def test_agreement_api_needs_a_token_and_a_known_judge(
    judged_app: tuple[TestClient, dict[str, str]],
) -> None:
    """Without a bearer token 401, like the review API; an unknown judge is a 404."""
    client, viewer = judged_app
    assert client.get("/api/judges/default/agreement").status_code == 401
    assert client.get("/api/judges/other/agreement", headers=viewer).status_code == 404
    assert [j["name"] for j in client.get("/api/judges", headers=viewer).json()] == ["default"]


def test_gauges_and_queue_page_show_the_agreement(
    judged_app: tuple[TestClient, dict[str, str]],
) -> None:
    """/metrics has the kappa gauge and the floor; the queue page shows the judges' panel."""
    client, viewer = judged_app
    metrics = client.get("/metrics").text
    assert (
        'watchkeeper_judge_agreement_kappa{dimension="helpfulness",judge="default"} 0.5' in metrics
    )
    assert 'watchkeeper_judge_agreement_floor{judge="default"} 0.4' in metrics
    page = _queue_page(client, viewer)
    assert "Judges against reviewers" in page
    assert "<td>helpfulness</td><td>0.50</td>" in page
    assert "order sensitivity" not in page  # no pairwise comparison made yet


def test_agreement_api_and_queue_page_report_order_sensitivity(
    judged_app: tuple[TestClient, dict[str, str]], store: Store, standin: StandIn
) -> None:
    """Four pairwise comparisons on helpfulness, stored: three while the stand-in reads the
    answers (the same winner in both orders), one while it prefers whichever answer it sees
    first (A, then B: a flip). Flip rate 1 / 4 = 0.25, in the API and on the queue page."""
    client, viewer = judged_app
    config = judge_settings(standin).judge.configured()["default"]
    judge = Judge("default", config, open_endpoint(config, {}), JudgeMetrics(CollectorRegistry()))
    pairs = [
        ("capital of France?", "correct: Paris", "Lyon"),
        ("capital of Italy?", "Milan", "correct: Rome"),
        ("capital of Spain?", "Madrid", "Madrid"),
    ]
    compared = [(q, a, b, compare(judge, q, a, b)) for q, a, b in pairs]
    standin.prefer_first = True
    compared.append(
        (
            "capital of Peru?",
            "correct: Lima",
            "Cusco",
            compare(judge, "capital of Peru?", "correct: Lima", "Cusco"),
        )
    )
    assert [v.winner if v else None for *_, v in compared] == ["A", "B", "tie", "tie"]
    record(
        JudgeStore(store), "default", "helpfulness", [(q, a, b, v) for q, a, b, v in compared if v]
    )
    report = client.get("/api/judges/default/agreement", headers=viewer).json()
    assert report["order_sensitivity"] == [
        {"dimension": "helpfulness", "comparisons": 4, "flips": 1, "flip_rate": 0.25}
    ]
    page = _queue_page(client, viewer)
    assert "<td>helpfulness</td><td>0.25</td><td>1</td><td>4</td>" in page
    metrics = client.get("/metrics").text
    assert (
        'watchkeeper_judge_order_flip_rate{dimension="helpfulness",judge="default"} 0.25' in metrics
    )


def _queue_page(client: TestClient, viewer: dict[str, str]) -> str:
    token = viewer["authorization"].removeprefix("Bearer ")
    client.post(
        "/login",
        content=f"token={token}&next=/".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    return client.get("/ui/queues/random").text
