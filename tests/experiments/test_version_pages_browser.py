"""The versions and experiments pages in Debian's Chromium, reached from the header nav."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.experiments.test_version_watch import _recent
from tests.experiments.test_versions_api import _calls
from tests.support.browser import headless_chromium
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.versions.install import install_versions
from watchkeeper.ingest.http.server import HttpServer


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Chromium (the distribution's; Playwright only drives it)."""
    with headless_chromium() as browser:
        yield browser


def test_nav_leads_to_versions_and_experiments(chromium: Any, store: Store) -> None:
    """A viewer follows the header's "versions" link, compares the route's two models
    (model-b regressed), then follows "experiments" to the (empty) runs page; no page errors."""
    pipeline = Pipeline(store)
    pipeline.process_calls(_recent(_calls(0.5)), "test")
    app = build_app(pipeline)
    install_versions(app, pipeline)
    token = TokenRegistry(store).create("vic", "viewer")[0]
    server = HttpServer(app, "127.0.0.1", 0)
    server.start()
    context = chromium.new_context()
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{server.url}/login#token={token}")
        page.wait_for_url(f"{server.url}/")
        page.click("header a:text('versions')")
        page.wait_for_url(f"{server.url}/ui/versions")
        page.fill("#compare-form input[name='route']", "support")
        page.click("#compare-form button[type='submit']")
        assert "model-b against model-a: regressed" in page.locator("main").inner_text()
        page.click("header a:text('experiments')")
        page.wait_for_url(f"{server.url}/ui/experiments")
        assert "No stored runs" in page.locator("main").inner_text()
        assert problems == []
    finally:
        context.close()
        server.stop()
