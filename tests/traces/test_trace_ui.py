"""The trace and conversation pages in Chromium: from an alarm to the trace tree (alarm on
its span, waterfall, documents with scores), to the conversation's turns and back to the
other turn's trace (its failed tool marked); a partial trace says so; a review item links
to its trace. Screenshots go under the test's tmp directory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.traces.traced_app import Seeded, TracedApp, seed_traces
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store
from watchkeeper.ingest.http.server import HttpServer


@pytest.fixture
def site(store: Store) -> Iterator[tuple[str, Seeded]]:
    """A real server on loopback over the seeded traces."""
    seeded = seed_traces(store)
    server = HttpServer(build_app(seeded.pipeline), "127.0.0.1", 0)
    server.start()
    try:
        yield server.url, seeded
    finally:
        server.stop()


def test_from_an_alarm_to_the_trace_and_the_conversation(
    browser: Any, site: tuple[str, Seeded], tmp_path: Path
) -> None:
    """On-call opens the alarm, follows its trace link, sees the tree with the alarm on the
    answer's span, opens the conversation and the second turn's trace."""
    url, seeded = site
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{url}/login#token={seeded.token}")
        page.wait_for_url(f"{url}/")
        page.goto(f"{url}/ui/alarms/faithfulness_drift/{seeded.alarmed_span}")
        page.locator("#trace-link").click()
        page.wait_for_url(f"{url}/ui/traces/{seeded.traces[0]}")
        rows = page.locator("#spans tr.span")
        assert rows.count() == 8
        kinds = [rows.nth(i).get_attribute("data-kind") for i in range(8)]
        assert kinds == ["agent", "llm", "tool", "retrieval", "rerank", "chain", "other", "llm"]
        assert page.locator("#partial").count() == 0
        answer = page.locator(f"tr.span[data-span='{seeded.alarmed_span}']")
        assert "⚠ 1" in answer.inner_text()
        bars = page.locator("#spans .bar")
        assert bars.count() == 8
        retrieve = page.locator("tr.details").nth(3)
        retrieve.locator("summary").click()
        assert "Oslo forecast: sunny" in retrieve.locator("ol.documents").inner_text()
        assert "0.900" in retrieve.locator("ol.documents").inner_text()
        page.locator("tr.details").nth(7).locator("summary").click()
        assert "faithfulness_drift" in page.locator("tr.details").nth(7).inner_text()
        page.screenshot(path=str(tmp_path / "trace.png"), full_page=True)

        page.locator("#session-link").click()
        page.wait_for_url(re.compile(r"/ui/sessions/s-42$"))
        turns = page.locator("#turns tr.turn")
        assert turns.count() == 2
        assert "Weather in Oslo?" in turns.nth(0).inner_text()
        assert "1 failed" in turns.nth(1).inner_text()
        page.screenshot(path=str(tmp_path / "session.png"), full_page=True)
        turns.nth(1).locator("a.trace-link").click()
        page.wait_for_url(f"{url}/ui/traces/{seeded.traces[1]}")
        assert page.locator("#spans tr.span.error").count() == 1

        page.goto(f"{url}/ui/traces/{seeded.traces[2]}")
        assert "Partial trace" in page.locator("#partial").inner_text()
        assert problems == []
    finally:
        context.close()


def test_review_item_and_call_pages_link_to_the_trace(traced_app: TracedApp) -> None:
    """A review item's page and a call's page link to the trace the call belongs to."""
    cookies = {"authorization": f"Bearer {traced_app.token}"}
    depths = traced_app.store.queue_depths()
    assert depths
    queue = next(iter(depths))
    item = traced_app.store.pending_items(queue, limit=1)[0]
    login = traced_app.client.post(
        "/login", data={"token": traced_app.token}, follow_redirects=False
    )
    assert login.status_code in (302, 303)
    html = traced_app.client.get(f"/ui/queues/{queue}/items/{item['SpanId']}").text
    assert f"href='/ui/traces/{item['TraceId']}'" in html
    html = traced_app.client.get(f"/ui/calls/{item['SpanId']}").text
    assert f"href='/ui/traces/{item['TraceId']}'" in html
    assert cookies


def test_trace_pages_refuse_and_explain_as_pages(traced_app: TracedApp) -> None:
    """Without a session a trace page is the login form (401) back to it; with one, an
    unknown or malformed trace id and an unknown session are a "Not possible" page (404);
    every answer carries the UI's security headers."""
    client = traced_app.client
    client.cookies.clear()
    path = "/ui/traces/" + "0" * 32
    refused = client.get(path)
    assert refused.status_code == 401
    assert "id='login'" in refused.text
    assert f"value='{path}'" in refused.text
    login = client.post("/login", data={"token": traced_app.token}, follow_redirects=False)
    assert login.status_code in (302, 303)
    for missing in (path, "/ui/traces/not-a-trace", "/ui/sessions/nobody-at-all"):
        page = client.get(missing)
        assert page.status_code == 404, missing
        assert "Not possible" in page.text
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
