"""``GET /api/versions/compare`` over calls stored by the real pipeline in chDB."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.versions.api import versions_router
from watchkeeper.ingest.cli import main

FACTS = [
    ("When does the store open?", "The store opens at nine in the morning on weekdays."),
    ("Is parking free?", "Parking in the garage is free for the first two hours."),
    ("Do you ship abroad?", "We ship to every country in the European Union."),
    ("How do I return an item?", "Items can be returned within thirty days with a receipt."),
]
OFF = "Our chef recommends the mushroom risotto with truffle oil tonight."


def _calls(candidate_off_share: float, prompt: bool = False) -> list[CallRecord]:
    """400 calls of route ``support``: even ones by the baseline, odd ones by the
    candidate, which answers off-context in ``candidate_off_share`` of its calls."""
    rng = random.Random(5)
    calls = []
    for n in range(400):
        question, fact = FACTS[n % len(FACTS)]
        is_candidate = n % 2 == 1
        off = is_candidate and rng.random() < candidate_off_share
        version = ("v2" if is_candidate else "v1") if prompt else ""
        calls.append(
            CallRecord(
                trace_id=f"{n:032x}",
                span_id=f"{n + 1:016x}",
                timestamp_ns=1_800_000_000_000_000_000 + n * 1_000_000_000,
                duration_ns=1_000_000,
                service_name="shop",
                route="support",
                request_model="model-b" if is_candidate and not prompt else "model-a",
                input_text=question,
                output_text=OFF if off else fact,
                contexts=[fact],
                attributes={"watchkeeper.prompt.version": version} if prompt else {},
            )
        )
    return calls


@pytest.fixture
def client(store: Store) -> Iterator[tuple[TestClient, str]]:
    """An app serving the versions API over ``store``, and a viewer's token."""
    registry = TokenRegistry(store)
    app = FastAPI()
    app.include_router(versions_router(store, Auth(registry)))
    token = registry.create("vic", "viewer")[0]
    with TestClient(app) as test_client:
        yield test_client, token


def _get(client: tuple[TestClient, str], path: str, **params: str) -> Any:
    test_client, token = client
    reply = test_client.get(path, params=params, headers={"authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_model_that_answers_off_context_is_called_regressed(
    store: Store, client: tuple[TestClient, str]
) -> None:
    """Half of model-b's answers ignore the context: regressed, with the effect size,
    its interval, and model-b's unfaithful calls listed first."""
    Pipeline(store).process_calls(_calls(0.5), "test")
    body = _get(client, "/api/versions/compare", route="support", baseline="model-a",
                candidate="model-b")  # fmt: skip
    assert body["verdict"] == "regressed", body
    assert body["baseline_calls"] == body["candidate_calls"] == 200
    assert body["difference"] < -0.2
    assert body["low"] <= body["difference"] <= body["high"] < 0
    assert body["first_decision"] == "regressed"
    worst = body["worst_candidate_calls"]
    assert worst[0]["value"] < 0.5
    versions = _get(client, "/api/versions", route="support")["versions"]
    assert [(v["Version"], v["Calls"]) for v in versions] == [("model-a", 200), ("model-b", 200)]


def test_an_identical_prompt_version_shows_no_difference(
    store: Store, client: tuple[TestClient, str]
) -> None:
    """Prompt v2 answers like v1: no detectable difference, by prompt version."""
    Pipeline(store).process_calls(_calls(0.0, prompt=True), "test")
    body = _get(client, "/api/versions/compare", route="support", baseline="v1",
                candidate="v2", dimension="prompt")  # fmt: skip
    assert body["verdict"] == "no detectable difference at this traffic"
    assert body["first_decision"] is None
    assert body["baseline_calls"] == body["candidate_calls"] == 200


def test_versions_api_needs_a_token_and_sane_parameters(
    store: Store, client: tuple[TestClient, str]
) -> None:
    """No token: 401; the same version twice or an unknown dimension: 422."""
    test_client, token = client
    auth = {"authorization": f"Bearer {token}"}
    params = {"route": "support", "baseline": "a", "candidate": "b"}
    assert test_client.get("/api/versions/compare", params=params).status_code == 401
    same = params | {"candidate": "a"}
    assert test_client.get("/api/versions/compare", params=same, headers=auth).status_code == 422
    odd = params | {"dimension": "colour"}
    assert test_client.get("/api/versions/compare", params=odd, headers=auth).status_code == 422


def test_versions_command_lists_and_compares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``watchkeeper versions``: the route's models; the newest against the one before by
    default, exit 1 when it regressed; exit 2 with one version only."""
    data = tmp_path / "wk"
    store = Store(ChdbBackend(data / "chdb"))
    store.migrate()
    try:
        Pipeline(store).process_calls(_calls(0.5), "test")
    finally:
        store.close()
    common = ["--route", "support", "--data-dir", str(data)]
    assert main(["versions", "list", *common]) == 0
    assert capsys.readouterr().out.splitlines() == ["model-a\t200 calls", "model-b\t200 calls"]
    assert main(["versions", "compare", *common]) == 1
    out = capsys.readouterr().out
    assert out.startswith("support: model-b against model-a on faithfulness_drift.faithfulness")
    assert "regressed" in out
    reverse = ["--baseline", "model-b", "--candidate", "model-a", "--json"]
    assert main(["versions", "compare", *common, *reverse]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "improved"
    assert main(["versions", "compare", "--route", "nowhere", "--data-dir", str(data)]) == 2
    assert "need two versions to compare" in capsys.readouterr().err
