"""An app over a store seeded with the demo's traffic and its planted drift."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.ui.seed import Seeded, demo_calls, seed
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store

#: One token per role: admin "root", reviewer "ana", viewer "vic".
ROLES = (("root", "admin"), ("ana", "reviewer"), ("vic", "viewer"))


@dataclass
class SeededApp:
    """The app (ASGI test client) over the seeded store, with a token per role."""

    client: TestClient
    store: Store
    seeded: Seeded
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        """Authorization header of the token named ``who``."""
        return {"authorization": f"Bearer {self.tokens[who]}"}


def seeded_pipeline(store: Store) -> tuple[Pipeline, Seeded, dict[str, str]]:
    """The default pipeline after 600 demo calls (drift from the 300th), and tokens."""
    pipeline = Pipeline(store, reservoir=ReviewReservoir(size=20, window_s=3600))
    seeded = demo_calls()
    seed(pipeline, seeded)
    registry = TokenRegistry(store)
    tokens = {name: registry.create(name, role)[0] for name, role in ROLES}
    return pipeline, seeded, tokens


@pytest.fixture
def seeded_app(store: Store) -> Iterator[SeededApp]:
    """The app over a store holding the demo's drift (alarms included)."""
    pipeline, seeded, tokens = seeded_pipeline(store)
    with TestClient(build_app(pipeline)) as client:
        yield SeededApp(client, store, seeded, tokens)
