"""A real watchkeeper HTTP server and Debian's Chromium driven by Playwright.

The browser is the distribution's ``/usr/bin/chromium`` (``make debian-tools`` installs
it); Playwright only drives it, so ``playwright install`` (a download) is never needed.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.review.support import RecordedCall, call_payload
from tests.support.browser import headless_chromium
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store
from watchkeeper.ingest.http.server import HttpServer


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module.

    Not per session: Playwright's sync API keeps an event loop running on the main thread
    while it is open, and later tests that call ``asyncio.run`` would then fail.
    """
    with headless_chromium() as launched:
        yield launched


@dataclass
class LiveServer:
    """A watchkeeper serving on a free port, with the pipeline behind it and tokens."""

    url: str
    pipeline: Pipeline
    tokens: dict[str, str]

    def ingest(self, questions: list[str]) -> list[RecordedCall]:
        """Send calls over OTLP/HTTP, then close the random sample's window."""
        payload, calls = call_payload(questions)
        request = urllib.request.Request(
            f"{self.url}/v1/traces",
            data=payload,
            headers={"content-type": "application/x-protobuf"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        self.pipeline.flush_review()
        return calls


@pytest.fixture
def live_server(store: Store) -> Iterator[LiveServer]:
    """The real app on 127.0.0.1 (any port); reviewers "ana", "bo" and viewer "vic"."""
    pipeline = Pipeline(store, reservoir=ReviewReservoir(size=100, window_s=3600))
    registry = TokenRegistry(store)
    tokens = {
        name: registry.create(name, role)[0]
        for name, role in [("ana", "reviewer"), ("bo", "reviewer"), ("vic", "viewer")]
    }
    server = HttpServer(build_app(pipeline), "127.0.0.1", 0)
    server.start()
    try:
        yield LiveServer(server.url, pipeline, tokens)
    finally:
        server.stop()
