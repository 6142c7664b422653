"""The overview, alarms and calls pages in a real browser, after seeded traffic with a
planted drift: the score falls on its chart with the alarm marked, the alarm opens, its
calls open. Screenshots of each page are saved under the test's tmp directory."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from statistics import mean
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import seeded_pipeline
from tests.ui.seed import KEY, Seeded
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store
from watchkeeper.ingest.http.server import HttpServer

SCORE = "consistency_drift.consistency"


class Site:
    """The app on a loopback port over the seeded store."""

    def __init__(self, url: str, seeded: Seeded, tokens: dict[str, str]) -> None:
        self.url, self.seeded, self.tokens = url, seeded, tokens


@pytest.fixture
def site(store: Store) -> Iterator[Site]:
    """A real server over the demo's traffic with its drift (alarms included)."""
    pipeline, seeded, tokens = seeded_pipeline(store)
    server = HttpServer(build_app(pipeline), "127.0.0.1", 0)
    server.start()
    try:
        yield Site(server.url, seeded, tokens)
    finally:
        server.stop()


@pytest.fixture
def artefacts(tmp_path: Path) -> Path:
    """Where the screenshots go (kept with pytest's tmp directories)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder


def _open(browser: Any, site: Site, who: str) -> tuple[Any, Any, list[str]]:
    """A fresh context logged in as ``who``, on the overview; the page's errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.goto(f"{site.url}/login#token={site.tokens[who]}")
    page.wait_for_url(f"{site.url}/")
    return context, page, problems


def test_overview_shows_the_drift_and_leads_to_the_calls(
    browser: Any, site: Site, artefacts: Path
) -> None:
    """A viewer sees the consistency score fall on its chart with the alarm marked,
    opens the alarm from the marker, reads its reason, and opens the flagged call."""
    context, page, problems = _open(browser, site, "vic")
    try:
        chart = page.locator(f".chart[data-score='{SCORE}']")
        chart.and_(page.locator("[data-ready='1']")).wait_for()
        assert chart.locator("canvas").count() >= 1
        data = json.loads(page.locator("#overview-data").text_content() or "{}")
        score = next(s for s in data["scores"] if s["name"] == SCORE)
        drift_s = site.seeded.drift_starts_ns // 1_000_000_000
        points = [
            (t, v)
            for t, v in zip(data["times"], score["series"][KEY], strict=True)
            if v is not None
        ]
        before = mean(v for t, v in points if t < drift_s - 600)
        after = mean(v for t, v in points if t > drift_s + 900)
        assert after < before - 0.2
        marker = chart.locator("a.alarm-marker").first
        marker.wait_for()
        assert marker.is_visible()
        page.screenshot(path=str(artefacts / "overview.png"), full_page=True)

        marker.click()
        page.wait_for_url(re.compile(r"/ui/alarms/consistency_drift/[0-9a-f]{16}$"))
        assert "became less consistent" in page.locator("#reason").inner_text()
        assert page.locator("#state").inner_text().startswith("open")
        assert page.locator("button:text('Acknowledge')").count() == 0  # a viewer
        rows = page.locator("#calls tr.call")
        assert rows.count() > 1
        assert "flagged" in (rows.first.get_attribute("class") or "")
        page.screenshot(path=str(artefacts / "alarm.png"), full_page=True)

        rows.first.locator("a.open-call").click()
        page.wait_for_url(re.compile(r"/ui/calls/[0-9a-f]{16}\?at=\d+$"))
        assert page.locator("#input").inner_text()
        assert page.locator("#output").inner_text()
        assert SCORE in page.locator("#scores").inner_text()
        assert "consistency_drift" in page.locator("#call-alarms").inner_text()
        page.screenshot(path=str(artefacts / "call.png"), full_page=True)
        assert problems == []
    finally:
        context.close()


def test_reviewer_acknowledges_then_resolves_and_the_calls_explorer_finds_calls(
    browser: Any, site: Site, artefacts: Path
) -> None:
    """A reviewer acknowledges and resolves an alarm from its page (who and when shown),
    then searches the calls explorer for drifted inputs and sends one to review."""
    context, page, problems = _open(browser, site, "ana")
    try:
        page.locator("#alarms a.alarm-link").first.click()
        page.wait_for_url(re.compile(r"/ui/alarms/[a-z_]+/[0-9a-f]{16}$"))
        # Playwright's click does not wait for the form's navigation: expect() retries.
        page.click("button:text('Acknowledge')")
        expect(page.locator("#state")).to_have_text(re.compile(r"^acknowledged by ana at \d{4}-"))
        page.click("button:text('Resolve')")
        expect(page.locator("#state")).to_have_text(re.compile(r"^resolved by ana"))
        expect(page.locator("#history")).to_contain_text("acknowledged by ana")
        page.screenshot(path=str(artefacts / "alarm-resolved.png"), full_page=True)

        page.click("header a:text('calls')")
        page.fill("input[name='text']", "here is my log")
        page.select_option("select[name='review']", "not_reviewed")
        page.click("form.filters button[type='submit']")
        page.wait_for_url(re.compile(r"/ui/calls\?.*review=not_reviewed"))
        rows = page.locator("#calls tr.call")
        assert rows.count() > 0
        assert "here is my log" in rows.first.inner_text().lower()
        page.screenshot(path=str(artefacts / "calls.png"), full_page=True)
        rows.first.locator("a.open-call").click()
        page.wait_for_url(re.compile(r"/ui/calls/[0-9a-f]{16}"))
        page.select_option("#send-to-review select[name='queue']", "random")
        page.click("#send-to-review button")
        page.wait_for_url(re.compile(r"sent=random"))
        expect(page.locator("body")).to_contain_text("Sent to review queue random.")
        expect(page.locator("#review")).to_contain_text("random (manual)")
        assert problems == []
    finally:
        context.close()
