"""HTML of the trace and session pages: server-rendered, every value escaped, no script.

A trace is a table of its spans in tree order, each indented by its depth, with a bar
placed and sized by its start and duration (the waterfall); a span's inputs, outputs,
documents, scores, alarms and attributes open under it (``<details>``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

from watchkeeper.collector.review.pages import e, page
from watchkeeper.collector.review.tokens import Principal

_STYLE: Final = """
<style>
main{max-width:84rem}
table.waterfall td{padding:.2rem .4rem;font-size:.9rem}
td.span-name{white-space:nowrap}
.kind{display:inline-block;min-width:5.5rem;font-size:.75rem;padding:0 .3rem;margin-right:.3rem;
border-radius:3px;background:#e8eef6;color:#1d2b3a;text-align:center}
.kind-llm{background:#e6f0ff}.kind-tool{background:#fff1d6}.kind-agent{background:#eadcff}
.kind-retrieval{background:#dff5e3}.kind-rerank{background:#d8f0f0}.kind-chain{background:#eee}
td.timeline{width:40%;position:relative}
.bar{position:relative;height:.9rem;background:#6b8fc2;min-width:2px;border-radius:2px}
.bar.error{background:#c81e1e}
tr.error td.span-name{color:#b3261e}
.partial{background:#fff4e0;border:1px solid #e0b060;padding:.6rem}
details pre{max-height:14rem}
.alarm{color:#b3261e;font-weight:600}
</style>
"""


def trace_href(trace_id: str) -> str:
    """The page of one trace."""
    return f"/ui/traces/{e(trace_id)}"


def session_href(session_id: str) -> str:
    """The page of one conversation."""
    return f"/ui/sessions/{e(quote(session_id, safe=''))}"


def trace_page(trace: Mapping[str, Any], me: Principal, csrf: str) -> str:
    """A trace as a tree with a waterfall of timings, each span's details under it."""
    total = max(float(trace["duration_ms"]), 1e-6)
    rows = "".join(_span_rows(node, total) for node in _flatten(trace["spans"]))
    partial = (
        "<p class='partial' id='partial'>Partial trace: "
        f"{len(trace['missing_parents'])} parent span(s) never arrived (or the root); "
        "their children are shown at the top.</p>"
        if trace["partial"]
        else ""
    )
    session = (
        f" · conversation <a id='session-link' href='{session_href(trace['session_id'])}'>"
        f"{e(trace['session_id'])}</a>"
        if trace["session_id"]
        else ""
    )
    body = (
        f"{_STYLE}{partial}<p class='muted'>{_when(trace['start_ns'])} · "
        f"{trace['duration_ms']:,.1f} ms · {trace['span_count']} spans{session}</p>"
        "<table class='waterfall' id='spans'><tr><th>span</th><th>duration</th>"
        f"<th>timeline</th></tr>{rows}</table>"
    )
    return page(f"Trace {trace['trace_id']}", body, me, csrf)


def session_page(session: Mapping[str, Any], me: Principal, csrf: str) -> str:
    """A conversation as its turns in time order, each linking to its trace."""
    rows = "".join(
        f"<tr class='turn'><td>{i}</td><td>{_when(t['start_ns'])}</td>"
        f"<td><pre class='question'>{e(t['input'])}</pre></td>"
        f"<td><pre class='answer'>{e(t['output'])}</pre></td>"
        f"<td>{_kinds(t['kinds'])}{_errors(t['errors'])}{' · partial' if t['partial'] else ''}"
        f"</td><td><a class='trace-link' href='{trace_href(t['trace_id'])}'>trace</a></td></tr>"
        for i, t in enumerate(session["turns"], start=1)
    )
    body = (
        f"{_STYLE}<p class='muted'>{len(session['turns'])} turns</p>"
        "<table id='turns'><tr><th>#</th><th>when</th><th>question</th><th>answer</th>"
        f"<th>steps</th><th></th></tr>{rows}</table>"
    )
    return page(f"Conversation {session['session_id']}", body, me, csrf)


def _flatten(nodes: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for node in nodes:
        yield node
        yield from _flatten(node["children"])


def _span_rows(node: Mapping[str, Any], total_ms: float) -> str:
    left = min(100.0, 100.0 * float(node["offset_ms"]) / total_ms)
    width = max(0.2, min(100.0 - left, 100.0 * float(node["duration_ms"]) / total_ms))
    error = " error" if node["status"] == "ERROR" else ""
    alarms = f" <span class='alarm'>⚠ {len(node['alarms'])}</span>" if node["alarms"] else ""
    kind = e(node["kind"])
    return (
        f"<tr class='span{error}' data-span='{e(node['span_id'])}' data-kind='{kind}'>"
        f"<td class='span-name' style='padding-left:{0.4 + 1.2 * int(node['depth']):.1f}rem'>"
        f"<span class='kind kind-{kind}'>{kind}</span>{e(node['name'])}{alarms}</td>"
        f"<td class='num'>{float(node['duration_ms']):,.1f} ms</td>"
        f"<td class='timeline'><div class='bar{error}' "
        f"style='margin-left:{left:.2f}%;width:{width:.2f}%'></div></td></tr>"
        f"<tr class='details'><td colspan='3'>{_details(node)}</td></tr>"
    )


def _details(node: Mapping[str, Any]) -> str:
    parts = []
    if node["status"] == "ERROR":
        parts.append(f"<p class='error'>{e(node['status_message'] or 'error')}</p>")
    for label, key in (("Input", "input"), ("Output", "output")):
        if node[key]:
            parts.append(f"<h4>{label}</h4><pre class='{key}'>{e(node[key])}</pre>")
    if node["documents"]:
        docs = "".join(
            f"<li><span class='score'>{_score(d['score'])}</span> <pre>{e(d['text'])}</pre></li>"
            for d in node["documents"]
        )
        parts.append(f"<h4>Documents</h4><ol class='documents'>{docs}</ol>")
    if node["scores"]:
        scores = "".join(
            f"<tr><td>{e(k)}</td><td class='num'>{float(v):.4f}</td></tr>"
            for k, v in sorted(node["scores"].items())
        )
        parts.append(f"<h4>Scores</h4><table class='scores'>{scores}</table>")
    if node["alarms"]:
        alarms = "".join(
            f"<li><a class='alarm-link' href='/ui/alarms/{e(a['id'])}'>{e(a['detector'])}</a>: "
            f"{e(a['reason'])}</li>"
            for a in node["alarms"]
        )
        parts.append(f"<h4>Alarms</h4><ul class='alarms'>{alarms}</ul>")
    if node["kind"] == "llm" and (node["scores"] or node["alarms"]):
        parts.append(
            f"<p><a href='/ui/calls/{e(node['span_id'])}?at={int(node['start_ns'])}'>"
            "the call's page</a></p>"
        )
    attributes = "".join(
        f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in sorted(node["attributes"].items())
    )
    if attributes:
        parts.append(f"<h4>Attributes</h4><table>{attributes}</table>")
    summary = f"{e(node['kind'])} {e(node['name'])} · {e(node['service'])} · {e(node['status'])}"
    return f"<details><summary class='muted'>{summary}</summary>{''.join(parts)}</details>"


def _score(score: float | None) -> str:
    return "-" if score is None else f"{score:.3f}"


def _kinds(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{int(n)} {e(kind)}" for kind, n in sorted(counts.items()))


def _errors(n: int) -> str:
    return f" · <span class='alarm'>{int(n)} failed</span>" if n else ""


def _when(ns: int) -> str:
    return e(datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
