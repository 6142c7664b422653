"""The app's own confidence calibrated against reviewers, through the app: SDK spans with
token log-probabilities or confidence phrases, labels, ``GET /api/app-confidence`` and the
gauge."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openai.types.chat import ChatCompletion

from tests.collector.otlp_payloads import protobuf_payload, record_spans
from watchkeeper.collector.judge.app_confidence_api import serve_app_confidence
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store
from watchkeeper.sdk import observe

#: Answer -> (token log-prob or None, reviewer's verdict).
CALLS: dict[str, tuple[float | None, str]] = {
    "Paris": (-0.1, "pass"),
    "Lyon": (-0.1, "fail"),
    "I'm not sure, maybe Nice.": (None, "fail"),
    "Marseille.": (None, "pass"),
}


def _completion(text: str, logprob: float) -> ChatCompletion:
    token = {"token": text, "logprob": logprob, "bytes": None, "top_logprobs": []}
    return ChatCompletion.model_validate(
        {
            "id": "c-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-x",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text},
                    "logprobs": {"content": [token]},
                }
            ],
        }
    )


def _payload() -> Payload:
    @observe(model="gpt-x", provider="openai", route="qa/capital")
    def ask(question: str, text: str, logprob: float | None) -> Any:
        return text if logprob is None else _completion(text, logprob)

    def run() -> None:
        for text, (logprob, _) in CALLS.items():
            ask("capital of France?", text, logprob)

    return Payload(protobuf_payload(record_spans(run)), "test")


@pytest.fixture
def labelled_app(store: Store) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app with the four calls stored and each labelled by a reviewer."""
    pipeline = Pipeline(store)
    app = build_app(pipeline)
    serve_app_confidence(app, store, pipeline)
    pipeline.process([_payload()])
    rows = store.select("SELECT TraceId, SpanId, OutputText FROM {db}.call_bodies FINAL")
    assert sorted(row["OutputText"] for row in rows) == sorted(CALLS)
    for row in rows:
        store.add_label(
            queue="random",
            span_id=row["SpanId"],
            trace_id=row["TraceId"],
            reviewer="ana",
            verdict=CALLS[row["OutputText"]][1],
            scores={},
        )
    token, _ = TokenRegistry(store).create("vic", "viewer")
    with TestClient(app) as client:
        yield client, {"authorization": f"Bearer {token}"}


def test_app_confidence_is_calibrated_against_verdicts(
    labelled_app: tuple[TestClient, dict[str, str]],
) -> None:
    """Two answers at confidence exp(-0.1) = 0.9048 (log-probs), one passed; one hedged
    answer ("I'm not sure") at 0.4 that failed; one with neither, left out. ECE =
    2/3 x |0.9048 - 0.5| + 1/3 x |0.4 - 0| = 0.4032."""
    client, viewer = labelled_app
    report = client.get("/api/app-confidence", headers=viewer).json()
    assert report["labelled_calls"] == 4
    assert report["sources"] == {"logprobs": 2, "phrases": 1}
    expected = 2 / 3 * abs(math.exp(-0.1) - 0.5) + 1 / 3 * 0.4
    assert report["ece"] == pytest.approx(expected, abs=1e-4)
    assert report["reliability"] == [
        {"confidence": 0.4, "passed": 0.0, "n": 1},
        {"confidence": round(math.exp(-0.1), 4), "passed": 0.5, "n": 2},
    ]
    assert report["by_model"]["gpt-x"]["ece"] == report["ece"]
    assert len(report["trend"]) == 1
    assert report["trend"][0]["ece"] == report["ece"]
    metrics = client.get("/metrics").text
    line = f'watchkeeper_app_confidence_calibration_error{{model="gpt-x"}} {report["ece"]}'
    assert line in metrics
    assert client.get("/api/app-confidence").status_code == 401


def test_queue_page_shows_the_app_confidence_panel(
    labelled_app: tuple[TestClient, dict[str, str]],
) -> None:
    """The review queue page carries the panel: overall ECE and the model's row."""
    client, viewer = labelled_app
    token = viewer["authorization"].removeprefix("Bearer ")
    client.post(
        "/login",
        content=f"token={token}&next=/".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    page = client.get("/ui/queues/random").text
    assert "confidence against reviewers" in page
    assert "ECE 0.40 over 3 labelled calls (2 with token log-probabilities" in page
    assert "<td>gpt-x</td><td>0.40</td><td>3</td>" in page


def test_the_review_dashboard_plots_the_app_confidence_gauge(store: Store) -> None:
    """The review dashboard has one panel on the app's calibration error, by app model, and
    the gauge it plots is one the collector exports."""
    from watchkeeper.collector.alerting.dashboards import build_dashboards

    panels = [panel for board in build_dashboards().values() for panel in board["panels"]]
    found = [
        panel
        for panel in panels
        if "watchkeeper_app_confidence_calibration_error" in str(panel.get("targets"))
    ]
    assert [panel["title"] for panel in found] == [
        "App confidence calibration error (ECE) by model"
    ]
    assert found[0]["targets"][0]["expr"].startswith("max by (model) (")
    exposition = Pipeline(store).metrics.exposition().decode()
    assert "# TYPE watchkeeper_app_confidence_calibration_error gauge" in exposition
