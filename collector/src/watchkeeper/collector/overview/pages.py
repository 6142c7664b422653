"""HTML of the overview, alarms and calls pages: server-rendered, every value escaped.

The pages read whole without JavaScript (tables and lists); the overview's charts are
drawn by ``static/overview.js`` with uPlot from the JSON the page carries in a
``<script type="application/json">`` block (data, never run).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Final
from urllib.parse import urlencode

from watchkeeper.collector.overview.monitor import ALARM_ACTIONS
from watchkeeper.collector.overview.ranges import PRESETS
from watchkeeper.collector.review.pages import e, page
from watchkeeper.collector.review.tokens import Principal, Role
from watchkeeper.collector.store.monitoring import REVIEW_STATES

_STATIC = resources.files("watchkeeper.collector.overview") / "static"
#: uPlot's own stylesheet, put in the page (the CSP allows inline styles, no style files).
_UPLOT_CSS: Final = (_STATIC / "uPlot.min.css").read_text(encoding="utf-8")
_STYLE: Final = """
main{max-width:80rem}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.5rem 0 1rem;
background:#fff;border:1px solid #e3e3e3;padding:.6rem}
form.filters label{display:flex;flex-direction:column;font-size:.85rem;color:#444}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(36rem,1fr));gap:1rem}
.chart{background:#fff;border:1px solid #e3e3e3;padding:.4rem;position:relative;min-height:16rem}
.chart h3{margin:.1rem .3rem .3rem;font-size:.95rem}
.chart .hint{font-weight:normal;color:#666;font-size:.8rem}
a.alarm-marker{position:absolute;top:0;bottom:0;width:9px;margin-left:-4px;z-index:5;
background:rgba(200,30,30,.18);border-left:2px solid #c81e1e;display:block}
a.alarm-marker:hover{background:rgba(200,30,30,.35)}
.state-open{color:#b3261e;font-weight:600}.state-acknowledged{color:#8a5a00}
.state-resolved{color:#2e7d32}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.scores td{padding:.15rem .5rem}.flagged{background:#fff4f4}
"""
_STATE_WORD: Final = {"open": "open", "acknowledged": "acknowledged", "resolved": "resolved"}


def _head() -> str:
    return f"<style>{_STYLE}{_UPLOT_CSS}</style>"


def csrf_input(token: str) -> str:
    """The hidden CSRF field every form posts."""
    return f"<input type='hidden' name='csrf' value='{e(token)}'>"


def when_s(seconds: float) -> str:
    """An epoch time, as UTC text."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def call_href(span_id: str, timestamp_ns: int | None = None) -> str:
    """The page of one call (with its start, which spares a search)."""
    at = f"?at={int(timestamp_ns)}" if timestamp_ns is not None else ""
    return f"/ui/calls/{e(span_id)}{at}"


def _filters(
    action: str,
    data: Mapping[str, Any],
    choices: Mapping[str, Sequence[str]],
    extra: str = "",
) -> str:
    """The time range picker and service/route/model filters, as a GET form."""
    span, chosen = data["range"], data["filters"]
    presets = "".join(
        f"<option value='{name}'{' selected' if span['preset'] == name else ''}>{e(label)}</option>"
        for name, (_, label) in PRESETS.items()
    )
    custom = " selected" if not span["preset"] else ""
    selects = []
    for field, plural in (("service", "services"), ("route", "routes"), ("model", "models")):
        options = "".join(
            f"<option{' selected' if chosen[field] == value else ''}>{e(value)}</option>"
            for value in choices.get(plural, ())
        )
        selects.append(
            f"<label>{field}<select name='{field}'><option value=''>any</option>"
            f"{options}</select></label>"
        )
    start = "" if span["preset"] else _local(span["from_s"])
    end = "" if span["preset"] else _local(span["to_s"])
    return (
        f"<form class='filters' method='get' action='{action}'>"
        f"<label>time range<select name='range' id='range'>{presets}"
        f"<option value=''{custom}>custom (from/to)</option></select></label>"
        f"<label>from (UTC)<input type='datetime-local' name='from' value='{start}'></label>"
        f"<label>to (UTC)<input type='datetime-local' name='to' value='{end}'></label>"
        f"{''.join(selects)}{extra}<button type='submit'>Apply</button></form>"
    )


def _local(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M")


def _json_block(element_id: str, data: Any) -> str:
    """Data for the page's script, which browsers never run (and ``</script>`` escaped)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"<script type='application/json' id='{element_id}'>{text}</script>"


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def overview_page(data: Mapping[str, Any], me: Principal, csrf: str) -> str:
    """Per key traffic, errors, latency and tokens; charts of them and of every score."""
    query = {k: v for k, v in data["filters"].items() if v}
    if data["range"]["preset"]:
        query["range"] = data["range"]["preset"]
    rows = "".join(_key_row(row, query) for row in data["keys"])
    alarms = "".join(
        f"<li><a class='alarm-link' href='/ui/alarms/{e(a['id'])}'>{e(when_s(a['time_s']))} · "
        f"{e(a['detector'])} on {e(a['key'])}</a>: {e(a['reason'])} "
        f"<span class='state-{e(a['state'])}'>{e(a['state'])}</span></li>"
        for a in data["alarms"][:10]
    )
    charts = [
        _chart("traffic", "calls", "Traffic", "calls per bucket"),
        _chart("traffic", "error_rate", "Error rate", "share of calls that failed"),
        _chart("traffic", "latency_p95_ms", "Latency p95", "milliseconds"),
        _chart("traffic", "tokens", "Tokens", "tokens in + out per bucket"),
        _chart("traffic", "cost_usd", "Cost", "US dollars per bucket, for models with a price"),
    ]
    quality = [
        _chart(
            "score",
            s["name"],
            s["name"],
            "higher is better" if s["higher_is_better"] else "higher is worse",
        )
        for s in data["scores"]
    ]
    span = data["range"]
    body = (
        _filters("/", data, data["choices"])
        + f"<p class='muted'>{e(span['label'])}: {e(when_s(span['from_s']))} to "
        f"{e(when_s(span['to_s']))}, one point per {span['step_s'] // 60} min. "
        "Red bars on a chart are alarms (click to open); grey dashed lines are deploys.</p>"
        + (
            f"<h2>Alarms</h2><ul id='alarms'>{alarms}</ul>"
            f"<p><a href='/ui/alarms?{e(urlencode(query))}'>all alarms in this range</a></p>"
            if alarms
            else "<p class='note'>No alarms in this range.</p>"
        )
        + "<h2>By service, route and model</h2><table id='keys'><tr><th>service</th>"
        "<th>route</th><th>model</th><th class='num'>calls</th><th class='num'>errors</th>"
        "<th class='num'>p50 ms</th><th class='num'>p95 ms</th><th class='num'>tokens in</th>"
        "<th class='num'>tokens out</th><th class='num'>cost $</th><th class='num'>alarms</th>"
        f"<th></th></tr>{rows}</table>"
        f"<h2>Operations</h2><div class='charts'>{''.join(charts)}</div>"
        f"<h2>Quality scores</h2><div class='charts'>{''.join(quality)}</div>"
        + _json_block("overview-data", data)
        + "<script src='/ui/static/uPlot.iife.min.js'></script>"
        "<script src='/ui/static/overview.js'></script>"
    )
    return page("Overview", _head() + body, me, csrf)


def _key_row(row: Mapping[str, Any], query: Mapping[str, str]) -> str:
    keyed = dict(query) | {"service": row["service"], "route": row["route"], "model": row["model"]}
    link = e(urlencode(keyed))
    return (
        f"<tr class='key' data-key='{e(row['key'])}'><td><a href='/?{link}'>"
        f"{e(row['service'])}</a></td><td>{e(row['route'])}</td><td>{e(row['model'])}</td>"
        f"<td class='num'>{row['calls']:,}</td>"
        f"<td class='num'>{row['errors']:,} ({row['error_rate']:.1%})</td>"
        f"<td class='num'>{_number(row['latency_p50_ms'])}</td>"
        f"<td class='num'>{_number(row['latency_p95_ms'])}</td>"
        f"<td class='num'>{row['tokens_in']:,}</td><td class='num'>{row['tokens_out']:,}</td>"
        f"<td class='num'>{_dollars(row['cost_usd'])}</td>"
        f"<td class='num'>{row['alarms']}</td><td><a href='/ui/calls?{link}'>calls</a></td></tr>"
    )


def _dollars(value: float | None) -> str:
    """A cost for the table: cents below 100 dollars, a dash without a price."""
    if value is None:
        return "-"
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def _chart(kind: str, name: str, title: str, hint: str) -> str:
    attribute = "data-score" if kind == "score" else "data-measure"
    return (
        f"<div class='chart' {attribute}='{e(name)}'><h3>{e(title)} "
        f"<span class='hint'>{e(hint)}</span></h3></div>"
    )


def alarms_page(
    data: Mapping[str, Any],
    alarms: Sequence[Mapping[str, Any]],
    choices: Mapping[str, Sequence[str]],
    me: Principal,
    csrf: str,
) -> str:
    """Every alarm of the range with its reason, state and a link to its calls."""
    state = data.get("state", "")
    states = "".join(
        f"<option{' selected' if state == s else ''}>{s}</option>" for s in _STATE_WORD
    )
    extra = (
        f"<label>state<select name='state'><option value=''>any</option>{states}</select>"
        f"</label><label>detector<input name='detector' value='{e(data.get('detector', ''))}' "
        "size='18'></label>"
    )
    rows = "".join(
        f"<tr class='alarm' data-id='{e(a['id'])}'><td>{e(when_s(a['time_s']))}</td>"
        f"<td>{e(a['detector'])}</td><td>{e(a['key'])}</td><td>{e(a['reason'])}</td>"
        f"<td class='num'>{_number(a['score'], 2)}</td><td>{_state(a)}</td>"
        f"<td><a class='open-alarm' href='/ui/alarms/{e(a['id'])}'>calls behind it</a></td></tr>"
        for a in alarms
    )
    body = (
        _filters("/ui/alarms", data, choices, extra)
        + "<table id='alarm-list'><tr><th>time</th><th>detector</th><th>key</th>"
        "<th>reason</th><th class='num'>score</th><th>state</th><th></th></tr>"
        + (rows or "<tr><td colspan='7'>No alarms in this range.</td></tr>")
        + "</table>"
    )
    return page("Alarms", _head() + body, me, csrf)


def _state(alarm: Mapping[str, Any]) -> str:
    text = f"<span class='state-{e(alarm['state'])}'>{e(alarm['state'])}</span>"
    if alarm.get("state_by"):
        text += f" by {e(alarm['state_by'])} at {e(when_s(int(alarm['state_at_ms']) / 1000))}"
    return text


def alarm_page(alarm: Mapping[str, Any], me: Principal, csrf: str) -> str:
    """One alarm: reason, state and actions, the flagged call, the worst calls around it."""
    base = f"/ui/alarms/{e(alarm['id'])}"
    buttons = ""
    if me.allows(Role.REVIEWER):
        buttons = "".join(
            f"<form class='inline' method='post' action='{base}/{action}'>{csrf_input(csrf)}"
            f"<input type='hidden' name='comment' value=''><button type='submit' "
            f"name='do' value='{action}'>{action.capitalize()}</button></form> "
            for action in ALARM_ACTIONS
            if ALARM_ACTIONS[action] != alarm["state"]
        )
    history = "".join(
        f"<li>{e(when_s(a['at_ms'] / 1000))}: {e(a['action'])} by {e(a['by'])}"
        f"{' - ' + e(a['detail']) if a['detail'] else ''}</li>"
        for a in alarm["actions"]
    )
    score = alarm["score_name"]
    direction = "higher is worse" if alarm["higher_is_worse"] else "lower is worse"
    flagged = alarm["flagged_call"]
    calls = ([flagged] if flagged else []) + list(alarm["calls_around"])
    key = str(alarm["key"]).split("|")
    overview = (
        urlencode({"service": key[0], "route": key[1], "model": key[2]}) if len(key) == 3 else ""
    )
    trace_link = (
        f" · <a id='trace-link' href='/ui/traces/{e(flagged['trace_id'])}'>the flagged "
        "call's trace</a>"
        if flagged
        else ""
    )
    body = (
        f"<p class='reason' id='reason'><strong>{e(alarm['reason'])}</strong></p>"
        f"<p class='muted'>{e(alarm['detector'])} on {e(alarm['key'])} at "
        f"{e(when_s(alarm['time_s']))} · score {_number(alarm['score'], 3)} · "
        f"<a href='/?{e(overview)}'>overview of this key</a>{trace_link}</p>"
        f"<p>State: <span id='state'>{_state(alarm)}</span> {buttons}</p>"
        + (f"<h2>History</h2><ul id='history'>{history}</ul>" if history else "")
        + f"<h2>Calls behind it</h2><p class='muted'>The flagged call first, then the calls "
        f"of this key from 15 minutes before to 5 minutes after, worst {e(score)} first "
        f"({direction}).</p>"
        + _calls_table(calls, score, flagged_span=flagged["span_id"] if flagged else "")
    )
    return page(f"Alarm: {alarm['detector']}", _head() + body, me, csrf)


def _score_cells(call: Mapping[str, Any], score: str) -> str:
    """The call's ``score`` and, as on the call page, the version of the model behind it:
    a change of model shows among the calls listed."""
    value = call["scores"].get(score)
    versions = call.get("scorer_versions") or {}
    version = versions.get(score.split(".", 1)[0], "") if value is not None else ""
    return f"<td class='num'>{_number(value, 3)}</td><td class='muted version'>{e(version)}</td>"


def _calls_table(
    calls: Sequence[Mapping[str, Any]], score: str = "", flagged_span: str = ""
) -> str:
    head = f"<th class='num'>{e(score)}</th><th>model version</th>" if score else ""
    rows = []
    for c in calls:
        marker = " flagged" if c["span_id"] == flagged_span else ""
        rows.append(
            f"<tr class='call{marker}' data-span='{e(c['span_id'])}'>"
            f"<td><a class='open-call' href='{call_href(c['span_id'], c['timestamp_ns'])}'>"
            f"{e(when_s(c['timestamp_ns'] / 1e9))}</a></td><td>{e(c['key'])}</td>"
            f"<td>{e(c['status'])}</td><td class='num'>{c['duration_ms']:,.0f}</td>"
            + (_score_cells(c, score) if score else "")
            + f"<td>{e(_excerpt(c['input']) if c['has_body'] else '(texts not kept)')}</td>"
            f"<td>{e(_excerpt(c['output']))}</td></tr>"
        )
    return (
        "<table id='calls'><tr><th>time</th><th>key</th><th>status</th><th class='num'>ms</th>"
        f"{head}<th>input</th><th>output</th></tr>"
        + ("".join(rows) or f"<tr><td colspan='{8 if score else 6}'>No calls.</td></tr>")
        + "</table>"
    )


def calls_page(
    data: Mapping[str, Any],
    calls: Sequence[Mapping[str, Any]],
    choices: Mapping[str, Sequence[str]],
    me: Principal,
    csrf: str,
) -> str:
    """The calls explorer: a search form and the calls found, newest first."""
    search = data["search"]
    reviews = "".join(
        f"<option{' selected' if search['review'] == s else ''}>{s}</option>" for s in REVIEW_STATES
    )
    extra = (
        f"<label>score<input name='score' value='{e(search['score'])}' size='28' "
        "placeholder='consistency_drift.consistency'></label>"
        f"<label>min<input name='score_min' value='{e(search['score_min'])}' size='5'></label>"
        f"<label>max<input name='score_max' value='{e(search['score_max'])}' size='5'></label>"
        f"<label>text contains<input name='text' value='{e(search['text'])}'></label>"
        f"<label>review<select name='review'><option value=''>any</option>{reviews}"
        "</select></label><label>errors only<input type='checkbox' name='errors' value='1'"
        f"{' checked' if search['errors'] else ''}></label>"
    )
    body = (
        _filters("/ui/calls", data, choices, extra)
        + f"<p class='muted'>{len(calls)} calls (newest first, at most 100).</p>"
        + _calls_table(calls, search["score"])
    )
    return page("Calls", _head() + body, me, csrf)


def call_page(
    call: Mapping[str, Any], queues: Sequence[str], me: Principal, csrf: str, notice: str = ""
) -> str:
    """One call in full, with a form to send it to a review queue."""
    contexts = "".join(f"<li><pre>{e(c)}</pre></li>" for c in call["contexts"])
    versions = call.get("scorer_versions") or {}
    scores = "".join(
        f"<tr><td>{e(k)}</td><td class='num'>{v:.4f}</td>"
        f"<td class='muted'>{e(versions.get(k.split('.')[0], ''))}</td></tr>"
        for k, v in call["scores"].items()
    )
    alarms = "".join(
        f"<li><a href='/ui/alarms/{e(a['id'])}'>{e(a['detector'])}</a>: {e(a['reason'])}</li>"
        for a in call["alarms"]
    )
    review = "".join(
        f"<li>{e(r['queue'])} ({e(r['reason'])}): {r['labels']}/{r['required_labels']} labels"
        f"{' - ' + e(', '.join(r['verdicts'])) if r['verdicts'] else ''}</li>"
        for r in call["review"]
    )
    send = ""
    if me.allows(Role.REVIEWER) and call["has_body"]:
        options = "".join(f"<option>{e(q)}</option>" for q in queues)
        send = (
            f"<form id='send-to-review' method='post' "
            f"action='/ui/calls/{e(call['span_id'])}/review'>"
            f"{csrf_input(csrf)}<input type='hidden' name='at' value='{call['timestamp_ns']}'>"
            f"<label>send to review queue <select name='queue'>{options}</select></label> "
            "<button type='submit'>Send</button></form>"
        )
    texts = (
        f"<h2>Input</h2><pre id='input'>{e(call['input'])}</pre>"
        + (f"<h2>Contexts</h2><ol id='contexts'>{contexts}</ol>" if contexts else "")
        + f"<h2>Output</h2><pre id='output'>{e(call['output'])}</pre>"
        if call["has_body"]
        else "<p class='note'>The texts of this call were not kept (body sampling).</p>"
    )
    body = (
        (f"<p class='note'>{e(notice)}</p>" if notice else "")
        + f"<p class='muted'>{e(call['key'])} · {e(when_s(call['timestamp_ns'] / 1e9))} · "
        f"{e(call['status'])} {e(call['error_type'])} · {call['duration_ms']:,.0f} ms · "
        f"tokens {call['tokens_in']} in, {call['tokens_out']} out · trace <a id='trace-link' "
        f"href='/ui/traces/{e(call['trace_id'])}'>{e(call['trace_id'])}</a>"
        f"</p>{texts}"
        + (f"<h2>Alarms on this call</h2><ul id='call-alarms'>{alarms}</ul>" if alarms else "")
        + f"<h2>Scores</h2><table class='scores' id='scores'>{scores}</table>"
        + (f"<h2>Review</h2><ul id='review'>{review}</ul>" if review else "")
        + send
    )
    return page(f"Call {call['span_id']}", _head() + body, me, csrf)


def _excerpt(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
