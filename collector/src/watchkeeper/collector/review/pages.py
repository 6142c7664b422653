"""HTML of the review UI: plain server-rendered pages, every value escaped.

Kept apart from the routes (``ui.py``) so each stays readable. No template engine: the
pages are few and small, and ``html.escape`` on every interpolated value is easy to audit.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from watchkeeper.collector.review.rubric import Rubric
from watchkeeper.collector.review.tokens import Principal, Role

_STYLE: Final = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{display:flex;gap:1rem;align-items:center;padding:.6rem 1.5rem;background:#1d2b3a;color:#fff}
header a{color:#fff;text-decoration:none;font-weight:600}header .who{margin-left:auto}
header a.nav{font-weight:400;opacity:.9}
main{margin:1.5rem auto;max-width:64rem;padding:0 1rem}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{padding:.35rem .6rem;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}
pre{white-space:pre-wrap;background:#fff;border:1px solid #e3e3e3;padding:.6rem;max-height:18rem;
overflow:auto;margin:.3rem 0}
.muted{color:#666}.error{background:#fde8e8;border:1px solid #e0a0a0;padding:.6rem}
.note{background:#eef6ee;border:1px solid #a8d0a8;padding:.6rem}
fieldset{border:1px solid #ddd;margin:.5rem 0;background:#fff}
button{padding:.35rem .9rem;cursor:pointer}form.inline{display:inline}
.actions{display:flex;gap:.6rem;margin-top:.8rem}
textarea{width:100%;box-sizing:border-box}
"""
#: Pages run no inline script; only /ui/login.js, which fills the token from the URL hash.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
LOGIN_JS: Final = """// Log in from a link like /login#token=wk_... (fragments never reach servers).
const match = /^#token=(wk_[A-Za-z0-9_-]+)$/.exec(window.location.hash);
if (match) {
  history.replaceState(null, "", window.location.pathname + window.location.search);
  const form = document.getElementById("login");
  form.elements.token.value = match[1];
  form.submit();
}
"""


#: The header's links: every page of the UI is one click from any other.
NAV: Final = (
    ("overview", "/"),
    ("alarms", "/ui/alarms"),
    ("incidents", "/ui/incidents"),
    ("calls", "/ui/calls"),
    ("review queues", "/ui/queues"),
    ("versions", "/ui/versions"),
    ("experiments", "/ui/experiments"),
)


def e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str, me: Principal | None = None, csrf: str = "") -> str:
    """A full page with the header bar."""
    who = ""
    if me is not None:
        tokens = " · <a href='/ui/tokens'>tokens</a>" if me.allows(Role.ADMIN) else ""
        who = (
            f"<span class='who'>{e(me.name)} ({e(me.role)}){tokens} "
            f"<form class='inline' method='post' action='/logout'>{_csrf(csrf)}"
            "<button type='submit'>log out</button></form></span>"
        )
    nav = "".join(f"<a class='nav' href='{href}'>{name}</a>" for name, href in NAV) if me else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width'><title>{e(title)}</title>"
        f"<style>{_STYLE}</style></head><body><header><a href='/'>watchkeeper</a>{nav}"
        f"{who}</header><main><h1>{e(title)}</h1>{body}</main></body></html>"
    )


def login(next_path: str, error: str = "") -> str:
    """The login form."""
    problem = f"<p class='error'>{e(error)}</p>" if error else ""
    body = (
        f"{problem}<p>Paste an API token (<code>watchkeeper tokens create --role reviewer "
        "--name you</code>, or the admin token in <code>.watchkeeper/admin-token</code>).</p>"
        "<form id='login' method='post' action='/login'>"
        f"<input type='hidden' name='next' value='{e(next_path)}'>"
        "<label>token <input type='password' name='token' size='50' autocomplete='off' "
        "required autofocus></label> <button type='submit'>Log in</button></form>"
        "<script src='/ui/login.js'></script>"
    )
    return page("Log in", body)


def message(title: str, text: str, me: Principal | None = None, csrf: str = "") -> str:
    """A page with one message (errors, forbidden)."""
    return page(
        title,
        f"<p class='error'>{e(text)}</p><p><a href='/'>overview</a> · "
        "<a href='/ui/queues'>review queues</a></p>",
        me,
        csrf,
    )


def index(queues: Sequence[Mapping[str, Any]], me: Principal, csrf: str) -> str:
    """Every queue with its backlog."""
    rows = []
    for q in queues:
        name = e(q["name"])
        rows.append(
            f"<tr><td><a href='/ui/queues/{name}'>{name}</a></td>"
            f"<td class='muted'>{e(q['description'])}</td>"
            f"<td class='depth' data-queue='{name}'>{int(q['depth'])}</td>"
            f"<td>{int(q['claimed'])}</td><td>{int(q['done'])}</td><td>{int(q['reviewers'])}</td>"
            f"<td>{_claim_button(q['name'], me, csrf)}</td></tr>"
        )
    body = (
        "<table><tr><th>queue</th><th></th><th>waiting</th><th>claimed</th><th>done</th>"
        f"<th>reviewers per item</th><th></th></tr>{''.join(rows)}</table>"
        "<p class='muted'><a href='/docs'>API</a> · <a href='/metrics'>metrics</a></p>"
    )
    return page("Review queues", body, me, csrf)


def queue_page(
    summary: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    agreement: Sequence[Mapping[str, Any]],
    me: Principal,
    csrf: str,
    *,
    notice: str = "",
    panels: Sequence[str] = (),
) -> str:
    """One queue: backlog, agreement, pending items, export links; ``panels``: HTML
    sections other components add (the judges' agreement with reviewers)."""
    name = str(summary["name"])
    rows = "".join(
        f"<tr class='pending' data-span='{e(i['SpanId'])}'>"
        f"<td><a href='/ui/queues/{e(name)}/items/{e(i['SpanId'])}'>{e(i['SpanId'])}</a></td>"
        f"<td>{e(i['Reason'])}</td><td>{int(i['Priority'])}</td><td>{e(i['Model'])}</td>"
        f"<td>{e(_excerpt(str(i['InputText'])))}</td>"
        f"<td>{int(i['Labels'])}/{int(i['RequiredLabels'])}</td>"
        f"<td>{e(', '.join(i['ClaimedBy']))}</td></tr>"
        for i in items
    )
    agree = "".join(
        f"<tr><td>{e(a['dimension'])}</td><td>{_number(a['alpha'])}</td>"
        f"<td>{_number(a['fleiss_kappa'])}</td><td>{int(a['items'])}</td></tr>"
        for a in agreement
    )
    exports = " · ".join(
        f"<a class='export' href='/ui/export?queue={e(name)}&amp;format={fmt}'>{fmt}</a>"
        for fmt in ("jsonl", "csv", "parquet")
    )
    body = (
        (f"<p class='note'>{e(notice)}</p>" if notice else "")
        + f"<p class='muted'>{e(summary['description'])}</p>"
        f"<p><span class='depth' data-queue='{e(name)}'>{int(summary['depth'])}</span> waiting · "
        f"{int(summary['claimed'])} claimed · {int(summary['done'])} done · "
        f"{int(summary['reviewers'])} reviewer(s) per item "
        f"{_claim_button(name, me, csrf)}</p>"
        f"<h2>Waiting</h2><table id='pending'><tr><th>span</th><th>reason</th><th>priority</th>"
        f"<th>model</th><th>input</th><th>labels</th><th>claimed by</th></tr>{rows}</table>"
        "<h2>Agreement between reviewers</h2><table><tr><th>dimension</th>"
        "<th>Krippendorff's alpha</th><th>Fleiss' kappa</th><th>items with 2+ labels</th></tr>"
        f"{agree}</table>" + "".join(panels) + "<h2>Export reviewed items</h2>"
        f"<p>evalset: {exports}</p>"
    )
    return page(f"Queue {name}", body, me, csrf)


def item_page(
    queue: str,
    view: Mapping[str, Any],
    rubric: Rubric,
    me: Principal,
    csrf: str,
    *,
    error: str = "",
    lease_note: str = "",
    inline: str = "",
) -> str:
    """One item: the call's texts (and ``inline``, the trajectory or conversation of a
    whole-trace item, as HTML), earlier labels, and the label form when it is ours."""
    row = view["item"]
    span = str(row["SpanId"])
    base = f"/ui/queues/{e(queue)}/items/{e(span)}"
    contexts = "".join(f"<li><pre>{e(c)}</pre></li>" for c in row["Contexts"])
    parts = [f"<p class='error'>{e(error)}</p>" if error else ""]
    parts.append(
        f"<p class='muted'>{e(row['Reason'])} · model {e(row['Model'])} · "
        f"{e(row['ServiceName'])} {e(row['Route'])} · trace <a id='trace-link' "
        f"href='/ui/traces/{e(row['TraceId'])}'>{e(row['TraceId'])}</a> · "
        f"{e(_time_ns(int(row['TimestampNs'])))}</p>"
        f"<h2>Input</h2><pre id='input'>{e(row['InputText'])}</pre>"
        + (f"<h2>Contexts</h2><ol>{contexts}</ol>" if contexts else "")
        + f"<h2>Output</h2><pre id='output'>{e(row['OutputText'])}</pre>"
        + inline
    )
    if view["labels"]:
        parts.append(
            "<h2>Labels</h2><table><tr><th>reviewer</th><th>verdict</th><th>scores</th>"
            "<th>comment</th></tr>"
        )
        for label in view["labels"]:
            scores = ", ".join(f"{k} {v}" for k, v in sorted(label["Scores"].items()))
            parts.append(
                f"<tr><td>{e(label['Reviewer'])}</td><td>{e(label['Verdict'])}</td>"
                f"<td>{e(scores)}</td><td>{e(label['Comment'])}</td></tr>"
            )
        parts.append("</table>")
    if me.allows(Role.REVIEWER):
        if view["my_claim_until_ms"] is not None or view["my_label"] is not None:
            parts.append(_label_form(base, rubric, csrf, view, lease_note))
        elif view["needs"] > len(view["claims"]):
            parts.append(
                f"<form method='post' action='{base}/claim'>{_csrf(csrf)}"
                "<button type='submit'>Claim this item</button></form>"
            )
        else:
            holders = ", ".join(str(c["Reviewer"]) for c in view["claims"])
            parts.append(
                f"<p class='note'>Not available: {e(holders or 'enough labels given')}.</p>"
            )
    return page(f"{queue} · {span}", "".join(parts), me, csrf)


def tokens_page(
    tokens: Sequence[Mapping[str, Any]], me: Principal, csrf: str, new: str = ""
) -> str:
    """Token management for admins."""
    shown = (
        f"<p class='note'>New token (shown once): <code id='new-token'>{e(new)}</code></p>"
        if new
        else ""
    )
    rows = "".join(
        f"<tr><td>{e(t['token_id'])}</td><td>{e(t['name'])}</td><td>{e(t['role'])}</td>"
        f"<td>{'revoked' if t['revoked'] else 'active'}</td><td>"
        + (
            ""
            if t["revoked"]
            else f"<form class='inline' method='post' "
            f"action='/ui/tokens/{e(t['token_id'])}/revoke'>"
            f"{_csrf(csrf)}<button type='submit'>revoke</button></form>"
        )
        + "</td></tr>"
        for t in tokens
    )
    roles = "".join(f"<option>{r.value}</option>" for r in Role)
    body = (
        f"{shown}<form method='post' action='/ui/tokens'>{_csrf(csrf)}"
        "<label>name <input name='name' required pattern='[A-Za-z0-9][A-Za-z0-9._@-]{0,63}'>"
        f"</label> <label>role <select name='role'>{roles}</select></label> "
        "<button type='submit'>Create token</button></form>"
        "<table><tr><th>id</th><th>name</th><th>role</th><th>state</th><th></th></tr>"
        f"{rows}</table>"
    )
    return page("API tokens", body, me, csrf)


def _label_form(
    base: str, rubric: Rubric, csrf: str, view: Mapping[str, Any], lease_note: str
) -> str:
    previous = view["my_label"] or {}
    given = previous.get("Scores", {})
    fields = []
    for name, dimension in rubric.dimensions.items():
        if dimension.kind == "pass_fail":
            options = [("pass", 1), ("fail", 0)]
        else:
            options = [(str(v), v) for v in range(dimension.min, dimension.max + 1)]
        radios = "".join(
            f"<label><input type='radio' name='{e(name)}' value='{e(text)}'"
            f"{' checked' if given.get(name) == stored else ''}"
            f"{' required' if dimension.required else ''}> {e(text)}</label> "
            for text, stored in options
        )
        fields.append(
            f"<fieldset><legend>{e(name)}</legend><span class='muted'>"
            f"{e(dimension.description)}</span><br>{radios}</fieldset>"
        )
    verdict = previous.get("Verdict")
    verdicts = "".join(
        f"<label><input type='radio' name='verdict' value='{v}' required"
        f"{' checked' if verdict == v else ''}> {v}</label> "
        for v in ("pass", "fail")
    )
    return (
        f"<h2>Your label</h2><p class='muted'>{e(lease_note)}</p>"
        f"<form id='label' method='post' action='{base}/label'>{_csrf(csrf)}{''.join(fields)}"
        f"<fieldset><legend>verdict</legend>{verdicts}</fieldset>"
        "<label>comment<textarea name='comment' rows='2'>"
        f"{e(previous.get('Comment', ''))}</textarea></label>"
        "<label>corrected answer<textarea name='corrected_answer' rows='4'>"
        f"{e(previous.get('CorrectedAnswer', ''))}</textarea></label>"
        "<div class='actions'><button type='submit'>Save label and next</button></div></form>"
        "<div class='actions'>"
        f"<form class='inline' method='post' action='{base}/skip'>{_csrf(csrf)}"
        "<button type='submit'>Skip</button></form>"
        f"<form class='inline' method='post' action='{base}/release'>{_csrf(csrf)}"
        "<button type='submit'>Release</button></form></div>"
    )


def _claim_button(queue: str, me: Principal, csrf: str) -> str:
    if not me.allows(Role.REVIEWER):
        return ""
    return (
        f"<form class='inline' method='post' action='/ui/queues/{e(queue)}/claim'>"
        f"{_csrf(csrf)}<button type='submit'>Review next</button></form>"
    )


def _csrf(token: str) -> str:
    return f"<input type='hidden' name='csrf' value='{e(token)}'>"


def _excerpt(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _time_ns(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
