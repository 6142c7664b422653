"""Fixtures for review tests: an app over a fresh store, tokens for each role, a clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.review.support import RecordedCall, call_payload
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store


class FakeClock:
    """A clock tests move by hand: leases expire without waiting."""

    def __init__(self, start: float | None = None) -> None:
        # Near the real time: rows older than the tables' TTL are dropped on insert.
        self.now = float(int(time.time())) if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@dataclass
class ReviewApp:
    """A running app (ASGI test client), its pipeline, and one token per role."""

    client: TestClient
    pipeline: Pipeline
    store: Store
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        """Authorization header of the token named ``who``."""
        return {"authorization": f"Bearer {self.tokens[who]}"}

    def ingest(self, questions: list[str], **kwargs: object) -> list[RecordedCall]:
        """Send calls through the pipeline and close the random sample's windows."""
        payload, calls = call_payload(questions, **kwargs)  # type: ignore[arg-type]
        self.pipeline.process([Payload(payload, "test")])
        self.pipeline.flush_review()
        return calls


@pytest.fixture
def review_app(store: Store) -> Iterator[ReviewApp]:
    """The app with a reservoir that samples every call into ``random``, and tokens:
    admin "root", reviewers "ana" and "bo", viewer "vic"."""
    pipeline = Pipeline(store, reservoir=ReviewReservoir(size=100, window_s=3600))
    registry = TokenRegistry(store)
    tokens = {
        name: registry.create(name, role)[0]
        for name, role in [
            ("root", "admin"),
            ("ana", "reviewer"),
            ("bo", "reviewer"),
            ("vic", "viewer"),
        ]
    }
    with TestClient(build_app(pipeline)) as client:
        yield ReviewApp(client, pipeline, store, tokens)
