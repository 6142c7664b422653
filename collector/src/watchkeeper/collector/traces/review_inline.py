"""What a review item of a whole trajectory or conversation shows inline, under the
item's question and answer: the trace's steps in order (each tool call with its
arguments and result, each failure with its message, retrievals with their passages)
and the final answer; or the conversation's turns, the item's turn marked.

Server-rendered like the other pages, every value escaped, no script.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from watchkeeper.collector.review.pages import e
from watchkeeper.collector.review.workflow import ItemNotFoundError
from watchkeeper.collector.traces.pages import session_href, trace_href
from watchkeeper.collector.traces.signals.review_feed import (
    CONVERSATION_REASON,
    TRAJECTORY_REASON,
)
from watchkeeper.collector.traces.views import TraceStore, TraceViews

#: Characters of a step's input or output shown inline (the trace page has them whole).
_SHOWN: Final = 2_000
_MISSING: Final = (
    "<p class='note' id='trajectory-missing'>The trace is not stored (not sampled, or expired).</p>"
)


def review_inline(store: TraceStore, item: Mapping[str, Any]) -> str:
    """The inline part of a trajectory or conversation item; "" for any other item."""
    reason = str(item["Reason"])
    if not reason.startswith((TRAJECTORY_REASON, CONVERSATION_REASON)):
        return ""
    views = TraceViews(store)
    try:
        trace = views.trace(str(item["TraceId"]))
        if reason.startswith(TRAJECTORY_REASON):
            return trajectory_html(trace)
        session = views.session(trace["session_id"]) if trace["session_id"] else None
    except ItemNotFoundError:
        return _MISSING
    if session is None:
        return trajectory_html(trace)
    return conversation_html(session, str(item["TraceId"]))


def trajectory_html(trace: Mapping[str, Any]) -> str:
    """The steps of a trace in the order they started, and its final answer."""
    nodes = sorted(_flatten(trace["spans"]), key=lambda n: (n["start_ns"], n["depth"]))
    top = nodes[0] if nodes and nodes[0]["depth"] == 0 else None
    rows = "".join(_step(i, node) for i, node in enumerate(nodes[1:] if top else nodes, 1))
    partial = " (partial: some spans are missing)" if trace["partial"] else ""
    answer = _final_answer(top, nodes)
    return (
        f"<h2>Trajectory</h2><p class='muted'>{len(nodes)} spans{partial} · "
        f"<a href='{trace_href(trace['trace_id'])}'>the trace's page</a></p>"
        "<table id='trajectory'><tr><th>#</th><th>step</th><th>input / arguments</th>"
        f"<th>output / result</th></tr>{rows}</table>"
        f"<h2>Final answer</h2><pre id='final-answer'>{e(answer)}</pre>"
    )


def conversation_html(session: Mapping[str, Any], trace_id: str) -> str:
    """The turns of a conversation, the item's own turn marked."""
    rows = "".join(
        f"<tr class='turn{' this-turn' if t['trace_id'] == trace_id else ''}'><td>{i}</td>"
        f"<td><pre class='question'>{e(t['input'])}</pre></td>"
        f"<td><pre class='answer'>{e(t['output'])}</pre></td>"
        f"<td>{int(t['errors'])} failed</td>"
        f"<td><a class='trace-link' href='{trace_href(t['trace_id'])}'>trace</a></td></tr>"
        for i, t in enumerate(session["turns"], start=1)
    )
    return (
        f"<h2>Conversation</h2><p class='muted'>{len(session['turns'])} turns · "
        f"<a href='{session_href(session['session_id'])}'>the conversation's page</a></p>"
        "<table id='conversation'><tr><th>#</th><th>question</th><th>answer</th>"
        f"<th>failures</th><th></th></tr>{rows}</table>"
    )


def _final_answer(top: Mapping[str, Any] | None, nodes: Sequence[Mapping[str, Any]]) -> str:
    """The top span's output, else the last LLM call's that did not fail (as the signals
    read the answer)."""
    if top is not None and top["kind"] in {"agent", "chain", "llm"} and top["output"].strip():
        return str(top["output"])
    calls = [n for n in nodes if n["kind"] == "llm" and n["status"] != "ERROR"]
    last = max(calls, key=lambda n: n["start_ns"] + n["duration_ms"] * 1e6, default=None)
    return str(last["output"]) if last is not None else ""


def _step(i: int, node: Mapping[str, Any]) -> str:
    failed = node["status"] == "ERROR"
    error = f"<p class='error'>failed: {e(node['status_message'] or 'error')}</p>" if failed else ""
    docs = _documents(node["documents"])
    return (
        f"<tr class='step{' error' if failed else ''}' data-kind='{e(node['kind'])}'>"
        f"<td>{i}</td><td><span class='kind'>{e(node['kind'])}</span> {e(node['name'])}"
        f"{error}</td><td><pre>{e(node['input'][:_SHOWN])}</pre></td>"
        f"<td><pre>{e(node['output'][:_SHOWN])}</pre>{docs}</td></tr>"
    )


def _documents(documents: Sequence[Mapping[str, Any]]) -> str:
    if not documents:
        return ""
    items = "".join(f"<li>{_score(d['score'])}{e(d['text'][:_SHOWN])}</li>" for d in documents)
    return f"<ol class='documents'>{items}</ol>"


def _score(score: float | None) -> str:
    return "" if score is None else f"<span class='score'>{float(score):.3f}</span> "


def _flatten(nodes: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for node in nodes:
        yield node
        yield from _flatten(node["children"])
