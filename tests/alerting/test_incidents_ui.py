"""The incidents page in a real browser (Debian's Chromium driven by Playwright): a
viewer sees the demo's drift as one incident without buttons; a reviewer acknowledges it,
then accepts its regime as the new baseline, and the page says who did each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import headless_chromium
from tests.ui.seed import ROUTE, demo_calls, seed
from watchkeeper.collector.incidents.install import install_incidents
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store
from watchkeeper.ingest.http.server import HttpServer


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (as tests/e2e's)."""
    with headless_chromium() as launched:
        yield launched


@pytest.fixture
def site(store: Store) -> Iterator[tuple[str, dict[str, str]]]:
    """A real server over the demo's drift with incidents; tokens of ana and vic."""
    pipeline = Pipeline(store, reservoir=ReviewReservoir(size=20, window_s=3600))
    app = build_app(pipeline)
    install_incidents(app, pipeline)
    seed(pipeline, demo_calls())
    registry = TokenRegistry(store)
    tokens = {name: registry.create(name, role)[0] for name, role in
              (("ana", "reviewer"), ("vic", "viewer"))}  # fmt: skip
    server = HttpServer(app, "127.0.0.1", 0)
    server.start()
    try:
        yield server.url, tokens
    finally:
        server.stop()


def _incidents_page(browser: Any, url: str, token: str) -> tuple[Any, Any]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/login#token={token}")
    page.wait_for_url(f"{url}/")
    page.locator("header a.nav", has_text="incidents").click()  # the nav leads there
    page.wait_for_url(f"{url}/ui/incidents")
    return context, page


def test_a_reviewer_acknowledges_then_accepts_the_baseline(
    browser: Any, site: tuple[str, dict[str, str]]
) -> None:
    """One row for the drifted route; the viewer has no buttons; the reviewer's two
    clicks leave it acknowledged, then accepted, by ana, with no buttons left. An alert's
    incidents_path (by detector) opens the incident of the drifted route, at its own URL."""
    url, tokens = site
    context, page = _incidents_page(browser, url, tokens["vic"])
    try:
        rows = page.locator("#incidents tr[id^='incident-']")
        assert rows.count() == 1
        assert ROUTE in rows.first.inner_text()
        assert rows.first.locator("button").count() == 0
        detector = rows.first.locator("a[href^='/ui/alarms/']").first.inner_text()
        incident_id = str(rows.first.get_attribute("id")).removeprefix("incident-")
        page.goto(f"{url}/ui/incidents?detector={detector}")  # an alert's incidents_path
        page.wait_for_url(f"{url}/ui/incidents/{incident_id}")  # the route's incident
        assert page.locator("#incidents tr[id^='incident-']").count() == 1
        assert ROUTE in page.locator("#incidents tr[id^='incident-']").first.inner_text()
        assert page.goto(f"{url}/ui/incidents/0123456789abcdef").status == 404
        page.goto(f"{url}/ui/incidents?detector=pii_leak")  # not alarmed in the demo
        assert page.locator("#incidents tr[id^='incident-']").count() == 0
    finally:
        context.close()
    context, page = _incidents_page(browser, url, tokens["ana"])
    try:
        row = page.locator("#incidents tr[id^='incident-']").first
        row.locator("button[value='ack']").click()
        page.wait_for_url(f"{url}/ui/incidents")
        state = page.locator("#incidents tr[id^='incident-'] td.state").first
        assert state.inner_text() == "acknowledged by ana"
        page.locator("#incidents button[value='accept-baseline']").first.click()
        page.wait_for_url(f"{url}/ui/incidents")
        assert state.inner_text() == "accepted by ana"
        assert page.locator("#incidents button").count() == 0
    finally:
        context.close()
