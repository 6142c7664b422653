"""``GET /api/traces/{trace_id}`` and ``GET /api/sessions/{session_id}`` over a real app:
the tree with scores and alarms on their spans, partial traces, turns, and the same auth
rules as every review route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.traces.traced_app import TracedApp


def _flatten(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from _flatten(node["children"])


def test_trace_tree_with_alarms_on_their_spans(traced_app: TracedApp) -> None:
    """The tree nests spans under their parents with timings; the alarm sits on the call
    it concerns; tool input/output and retrieval scores are there."""
    reply = traced_app.get(f"/api/traces/{traced_app.traces[0]}")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["partial"] is False
    assert body["session_id"] == "s-42"
    (root,) = body["spans"]
    assert root["name"] == "invoke_agent helper"
    assert [c["name"] for c in root["children"]] == [
        "chat plan",
        "execute_tool search",
        "format answer",
        "chat answer",
    ]
    spans = {n["name"]: n for n in _flatten(body["spans"])}
    assert len(spans) == body["span_count"] == 8
    assert spans["chat answer"]["alarms"][0]["detector"] == "faithfulness_drift"
    assert spans["chat plan"]["alarms"] == []
    assert spans["retrieve"]["documents"][0] == {"text": "Oslo forecast: sunny", "score": 0.9}
    assert spans["execute_tool search"]["output"] == "sunny, 21 C"
    assert all(n["offset_ms"] >= 0 for n in spans.values())
    assert spans["retrieve"]["depth"] == 2


def test_partial_trace_and_unknown_trace(traced_app: TracedApp) -> None:
    """A missing parent makes the trace partial, its children at the top; an unknown
    trace is 404; a malformed id 422."""
    body = traced_app.get(f"/api/traces/{traced_app.traces[2]}").json()
    assert body["partial"] is True
    assert len(body["missing_parents"]) == 1
    assert [n["name"] for n in body["spans"]] == ["invoke_agent helper", "retrieve", "rerank"]
    assert traced_app.get("/api/traces/" + "0" * 32).status_code == 404
    assert traced_app.get("/api/traces/xyz").status_code == 422


def test_session_turns_in_time_order(traced_app: TracedApp) -> None:
    """The session lists its two turns in order, each with its trace id, question, answer
    and errors (the second turn's tool failed)."""
    body = traced_app.get("/api/sessions/s-42").json()
    turns = body["turns"]
    assert [t["trace_id"] for t in turns] == traced_app.traces[:2]
    assert [t["input"] for t in turns] == ["Weather in Oslo?", "And tomorrow?"]
    assert turns[0]["output"] == "It is sunny in Oslo."
    assert [t["errors"] for t in turns] == [0, 1]
    assert turns[0]["kinds"]["tool"] == 1
    assert traced_app.get("/api/sessions/nobody").status_code == 404


def test_same_auth_as_review_routes(traced_app: TracedApp) -> None:
    """No token or a wrong token is 401 on both routes."""
    for path in (f"/api/traces/{traced_app.traces[0]}", "/api/sessions/s-42"):
        assert traced_app.client.get(path).status_code == 401
        assert traced_app.get(path, token="wrong").status_code == 401
