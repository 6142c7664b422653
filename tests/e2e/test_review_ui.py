"""The review UI in a real browser: log in, claim, label, see the item leave, export it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, downloads allowed."""
    context = browser.new_context(accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def _log_in(page: Any, server: LiveServer, who: str) -> None:
    # The token travels in the URL fragment: the login page's script submits it.
    page.goto(f"{server.url}/login#token={server.tokens[who]}")
    page.wait_for_url(f"{server.url}/")
    page.goto(f"{server.url}/ui/queues")


def _span_of(url: str) -> str:
    match = re.search(r"/items/([0-9a-f]{16})$", url)
    assert match, url
    return match.group(1)


def test_reviewer_claims_labels_sees_it_leave_the_queue_and_exports_it(
    page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    """A reviewer logs in, takes the next item, fills the rubric, saves; the next item
    opens, the labelled one is gone from the queue, and the export carries the label."""
    live_server.ingest(["Where is my order 42?", "Can I change my address?"])
    _log_in(page, live_server, "ana")
    assert page.locator("td.depth[data-queue='random']").inner_text() == "2"

    page.locator("form[action='/ui/queues/random/claim'] button").first.click()
    page.wait_for_url(re.compile(r"/ui/queues/random/items/[0-9a-f]{16}$"))
    labelled = _span_of(page.url)
    question = page.locator("#input").inner_text()
    assert "Reserved for you until" in page.content()

    page.check("input[name='factual_accuracy'][value='2']")
    page.check("input[name='helpfulness'][value='3']")
    page.check("input[name='tone'][value='5']")
    page.check("input[name='safety'][value='pass']")
    page.check("input[name='verdict'][value='fail']")
    page.fill("textarea[name='comment']", "wrong order status")
    page.fill("textarea[name='corrected_answer']", "Order 42 ships on Monday.")
    page.click("text=Save label and next")

    page.wait_for_url(re.compile(r"/ui/queues/random/items/[0-9a-f]{16}$"))
    assert _span_of(page.url) != labelled

    page.goto(f"{live_server.url}/ui/queues/random")
    pending = page.locator("tr.pending").evaluate_all("rows => rows.map(r => r.dataset.span)")
    assert labelled not in pending
    assert len(pending) == 1
    assert page.locator(".depth[data-queue='random']").inner_text() == "1"

    with page.expect_download() as download:
        page.click("a.export:text('jsonl')")
    saved = tmp_path / "evalset.jsonl"
    download.value.save_as(saved)
    rows = [json.loads(line) for line in saved.read_text().splitlines()]
    assert [row["id"] for row in rows] == [labelled]
    row = rows[0]
    assert row["input"] == question
    assert row["expected_output"] == "Order 42 ships on Monday."
    assert row["verdict"] == "fail"
    assert row["scores"] == {
        "factual_accuracy": 2.0,
        "helpfulness": 3.0,
        "tone": 5.0,
        "safety": "pass",
    }
    assert row["metadata"]["reviewers"] == ["ana"]


def test_two_reviewers_get_different_items(browser: Any, live_server: LiveServer) -> None:
    """While one reviewer holds an item, another reviewer's "Review next" opens another."""
    live_server.ingest(["first question?", "second question?"])
    spans = []
    contexts = [browser.new_context(), browser.new_context()]
    try:
        for context, who in zip(contexts, ["ana", "bo"], strict=True):
            page = context.new_page()
            _log_in(page, live_server, who)
            page.locator("form[action='/ui/queues/random/claim'] button").first.click()
            page.wait_for_url(re.compile(r"/items/[0-9a-f]{16}$"))
            spans.append(_span_of(page.url))
    finally:
        for context in contexts:
            context.close()
    assert spans[0] != spans[1]


def test_a_viewer_can_look_but_not_claim(page: Any, live_server: LiveServer) -> None:
    """A viewer sees queues and items, without claim buttons or a label form."""
    calls = live_server.ingest(["just looking?"])
    _log_in(page, live_server, "vic")
    assert page.locator("form[action='/ui/queues/random/claim']").count() == 0
    page.goto(f"{live_server.url}/ui/queues/random/items/{calls[0].span_id}")
    assert page.locator("#input").inner_text() == "just looking?"
    assert page.locator("form#label").count() == 0


def test_without_a_session_the_ui_asks_for_a_token(page: Any, live_server: LiveServer) -> None:
    """Opening a page without logging in shows the login form (401), and a wrong token
    is refused on the form."""
    response = page.goto(f"{live_server.url}/ui/queues/random")
    assert response.status == 401
    page.fill("input[name='token']", "wk_not-a-valid-token-000000000000000000000000")
    with page.expect_navigation():
        page.click("button:text('Log in')")
    assert "not valid" in page.locator("p.error").inner_text()
