"""Whole trajectories and conversations in review, in Chromium: a pipeline built from the
default settings puts an agent turn whose tool failed in the ``trajectories`` queue and a
session whose user asked again in the ``conversations`` queue; the reviewer sees the
ordered steps (the failed tool call with its arguments, the retrieval's passages) and the
final answer inline, or the conversation's turns, and labels the trajectory on its rubric
dimensions. Screenshots go under the test's tmp directory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.traces.agent_payloads import agent_trace, payload
from watchkeeper.collector.pipeline import Payload
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.runtime import build_pipeline
from watchkeeper.collector.server import build_app
from watchkeeper.collector.settings import load_settings
from watchkeeper.collector.store.store import Store
from watchkeeper.ingest.http.server import HttpServer


@dataclass
class Site:
    url: str
    token: str
    failed_trace: str
    store: Store


def _trace_id(spans: list[Any]) -> str:
    return format(spans[0].context.trace_id, "032x")


@pytest.fixture
def site(store: Store) -> Iterator[Site]:
    """Two turns of session ``s-9`` (the same question twice, the second time the tool
    fails), the session closed by a later batch; a reviewer's token; a real server."""
    pipeline = build_pipeline(load_settings(environ={}), store, resume=False)
    stage = pipeline.trace_signals
    assert stage is not None
    first = agent_trace("s-9", "What is the weather in Oslo?")
    second = agent_trace("s-9", "what is the weather in Oslo", fail_tool=True)
    for spans in (first, second):
        pipeline.process([Payload(payload(spans), "test")])
    stage.sessions.timeout_s = 0.0  # the session is over at the next batch
    pipeline.process([Payload(payload(agent_trace("s-other", "Any news?")), "test")])
    token = TokenRegistry(store).create("rita", "reviewer")[0]
    server = HttpServer(build_app(pipeline), "127.0.0.1", 0)
    server.start()
    try:
        yield Site(server.url, token, _trace_id(second), store)
    finally:
        server.stop()


def test_items_go_to_the_trajectory_and_conversation_queues(site: Site) -> None:
    """The failed-tool turn is a trajectory item (why: the answer came after a failed
    tool), with its question and answer; the session is a conversation item on its last
    turn (why: abandoned, the user asked again), its scores stored on that turn; the
    healthy turn is in neither."""
    items = {
        queue: site.store.pending_items(queue, 100) for queue in ("trajectories", "conversations")
    }
    trajectories = items["trajectories"]
    assert [row["TraceId"] for row in trajectories] == [site.failed_trace]
    assert trajectories[0]["Reason"] == "trajectory:answer_after_tool_error"
    assert trajectories[0]["OutputText"] == "It is sunny in Oslo."
    conversations = items["conversations"]
    assert [row["TraceId"] for row in conversations] == [site.failed_trace]
    assert conversations[0]["Reason"] == "conversation:abandoned"
    # The last turn's top span is a stored call: the session's scores go on another span.
    stored = [dict(row["Scores"]) for row in site.store.scores_for_trace(site.failed_trace)]
    session = [scores for scores in stored if "conversation.abandoned" in scores]
    assert len(session) == 1
    assert session[0]["conversation.rephrase_rate"] == 0.5
    assert session[0]["conversation.turns"] == 2.0


def test_a_reviewer_labels_a_whole_trajectory(browser: Any, site: Site, tmp_path: Path) -> None:
    """The trajectory item shows every step in order, the failed tool call with its
    arguments and error, the retrieval's passages and the final answer; the reviewer
    scores trajectory quality and tool use; the conversation item shows both turns."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{site.url}/login#token={site.token}")
    page.wait_for_url(f"{site.url}/")
    page.goto(f"{site.url}/ui/queues/trajectories")
    page.locator("form[action='/ui/queues/trajectories/claim'] button").first.click()
    page.wait_for_url(re.compile(r"/ui/queues/trajectories/items/[0-9a-f]{16}$"))
    span_id = page.url.rsplit("/", 1)[1]
    steps = page.locator("#trajectory tr.step")
    kinds = [steps.nth(i).get_attribute("data-kind") for i in range(steps.count())]
    assert kinds == ["llm", "tool", "retrieval", "rerank", "chain", "other", "llm"]
    tool = page.locator("#trajectory tr.step.error")
    assert tool.count() == 1
    assert '{"q": "weather Oslo"}' in tool.inner_text()
    assert "failed: search backend down" in tool.inner_text()
    assert "Oslo forecast: sunny" in steps.nth(2).inner_text()
    assert page.locator("#final-answer").inner_text() == "It is sunny in Oslo."
    page.screenshot(path=str(tmp_path / "trajectory-item.png"), full_page=True)
    page.check("input[name='trajectory_quality'][value='2']")
    page.check("input[name='tool_use_accuracy'][value='1']")
    page.check("input[name='verdict'][value='fail']")
    page.fill("textarea[name='comment']", "answered from nothing after the search failed")
    page.click("text=Save label and next")
    page.wait_for_url(re.compile(r"/ui/queues/trajectories(\?empty=1)?$"))
    labels = site.store.item_labels("trajectories", span_id)
    assert [dict(label["Scores"]) for label in labels] == [
        {"trajectory_quality": 2, "tool_use_accuracy": 1}
    ]

    page.goto(f"{site.url}/ui/queues/conversations")
    page.locator("form[action='/ui/queues/conversations/claim'] button").first.click()
    page.wait_for_url(re.compile(r"/ui/queues/conversations/items/[0-9a-f]{16}$"))
    turns = page.locator("#conversation tr.turn")
    assert turns.count() == 2
    assert page.locator("#conversation tr.this-turn").count() == 1
    assert "what is the weather in Oslo" in turns.nth(1).inner_text()
    page.screenshot(path=str(tmp_path / "conversation-item.png"), full_page=True)
