"""HTML of the versions page and the experiment runs page: server-rendered, every value
escaped, no script."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from watchkeeper.collector.experiments.compare import CaseRegression, MetricComparison
from watchkeeper.collector.review.pages import e, page
from watchkeeper.collector.review.tokens import Principal
from watchkeeper.collector.versions.identity import DIMENSIONS


def versions_page(
    query: Mapping[str, str],
    seen: Sequence[Mapping[str, Any]],
    *,
    found: Mapping[str, Any] | None,
    problem: str,
    me: Principal,
    csrf: str,
) -> str:
    """The form, the route's versions, and the comparison when one was asked for."""
    form = _form(query)
    listing = "".join(
        f"<tr><td>{e(row['Version'] or '(none)')}</td><td>{int(row['Calls'])}</td>"
        f"<td>{_time(int(row['FirstNs']))}</td><td>{_time(int(row['LastNs']))}</td></tr>"
        for row in seen
    )
    versions = (
        "<table id='versions'><tr><th>version</th><th>calls</th><th>first call</th>"
        f"<th>last call</th></tr>{listing}</table>"
        if listing
        else ("<p>No calls on this route.</p>" if query.get("route") else "")
    )
    error = f"<p class='error' id='problem'>{e(problem)}</p>" if problem else ""
    result = _verdict(found) if found else ""
    return page("Versions", form + error + versions + result, me, csrf)


def _form(query: Mapping[str, str]) -> str:
    def field(name: str, label: str) -> str:
        return f"<label>{label} <input name='{name}' value='{e(query.get(name, ''))}'></label> "

    chosen = query.get("dimension", "model")
    options = "".join(
        f"<option value='{d}'{' selected' if d == chosen else ''}>{d}</option>" for d in DIMENSIONS
    )
    return (
        "<form method='get' action='/ui/versions' id='compare-form'>"
        + field("route", "route")
        + f"<label>by <select name='dimension'>{options}</select></label> "
        + field("baseline", "baseline")
        + field("candidate", "candidate")
        + field("score", "score")
        + "<button type='submit'>compare</button></form>"
        "<p>Empty baseline and candidate: the newest version against the one before.</p>"
    )


def _verdict(found: Mapping[str, Any]) -> str:
    worst = "".join(
        f"<li><a href='/ui/traces/{e(c['trace_id'])}'>{e(c['trace_id'])}</a> "
        f"score {float(c['value']):.3f}</li>"
        for c in found["worst_candidate_calls"]
    )
    first = (
        f"first decided after {found['first_decision_after_calls']} calls: "
        f"{e(found['first_decision'])}"
        if found["first_decision_after_calls"]
        else "no decision yet"
    )
    return (
        f"<h2 id='verdict'>{e(found['candidate'])} against {e(found['baseline'])}: "
        f"{e(found['verdict'])}</h2>"
        f"<p>{e(found['score'])} ({'higher' if found['higher_is_better'] else 'lower'} is "
        f"better): baseline {_number(found['baseline_mean'])} over "
        f"{found['baseline_calls']} calls, candidate {_number(found['candidate_mean'])} over "
        f"{found['candidate_calls']} calls; difference {_number(found['difference'])}, "
        f"{1 - float(found['alpha']):.0%} interval [{_number(found['low'])}, "
        f"{_number(found['high'])}] (valid however often it is read); {first}.</p>"
        f"<h3>Candidate calls that scored worst</h3><ol id='worst'>{worst}</ol>"
    )


def runs_page(runs: Sequence[Mapping[str, Any]], comparison: str, me: Principal, csrf: str) -> str:
    """Stored experiment and red-team runs, newest first, with their metrics' means; a
    form to compare two of them, and ``comparison`` (see :func:`run_comparison`)."""
    metrics = sorted({name for run in runs for name in run["Means"]})
    head = "".join(f"<th>{e(m)}</th>" for m in metrics)
    rows = "".join(
        f"<tr><td>{_time(int(run['FinishedMs']) * 1_000_000)}</td><td>{e(run['Kind'])}</td>"
        f"<td>{e(run['Evalset'])}</td><td>{e(run['Target'])}</td><td>{int(run['Cases'])}</td>"
        f"<td>{int(run['Failed'])}</td>"
        + "".join(f"<td>{_number(run['Means'].get(m))}</td>" for m in metrics)
        + "</tr>"
        for run in runs
    )
    body = (
        "<table id='runs'><tr><th>finished</th><th>kind</th><th>evalset</th><th>target</th>"
        f"<th>cases</th><th>failed</th>{head}</tr>{rows}</table>"
        if runs
        else "<p>No stored runs: run <code>watchkeeper experiment run … --store</code>.</p>"
    )
    return page("Experiment runs", _runs_form(runs) + comparison + body, me, csrf)


def _runs_form(runs: Sequence[Mapping[str, Any]]) -> str:
    if len(runs) < 2:
        return ""
    options = "".join(
        f"<option value='{e(run['RunId'])}'>{e(run['Target'])} · "
        f"{_time(int(run['FinishedMs']) * 1_000_000)}</option>"
        for run in runs
    )
    return (
        "<form method='get' action='/ui/experiments' id='runs-form'>"
        f"<label>baseline <select name='baseline'>{options}</select></label> "
        f"<label>candidate <select name='candidate'>{options}</select></label> "
        "<button type='submit'>compare</button></form>"
    )


def run_comparison(
    compared: Sequence[MetricComparison], worst: Sequence[CaseRegression], confidence: float
) -> str:
    """Per metric: means, difference, paired bootstrap interval, verdict; then the cases
    that got worse most."""
    rows = "".join(
        f"<tr class='{e(row.verdict.replace(' ', '-'))}'><td>{e(row.metric)}</td>"
        f"<td>{_number(row.baseline)}</td><td>{_number(row.candidate)}</td>"
        f"<td>{_number(row.delta)}</td><td>[{_number(row.low)}, {_number(row.high)}]</td>"
        f"<td>{row.pairs}</td><td>{_number(row.tolerance)}</td><td>{e(row.verdict)}</td></tr>"
        for row in compared
    )
    cases = "".join(
        f"<li>{e(case.case_id)}: "
        + ", ".join(f"{e(m)} -{d:.3f}" for m, d in sorted(case.drops.items()))
        + "</li>"
        for case in worst
    )
    return (
        "<table id='run-comparison'><tr><th>metric</th><th>baseline</th><th>candidate</th>"
        f"<th>difference</th><th>{confidence:.0%} interval</th><th>pairs</th>"
        f"<th>tolerance</th><th>verdict</th></tr>{rows}</table>"
        f"<h3>Cases that got worse most</h3><ol id='worst-cases'>{cases}</ol>"
    )


def _number(value: object) -> str:
    if not isinstance(value, (int, float)) or value != value:  # noqa: PLR0124 - NaN
        return "n/a"
    return f"{value:+.3f}" if isinstance(value, float) and value < 0 else f"{value:.3f}"


def _time(ns: int) -> str:
    moment = datetime.fromtimestamp(ns / 1e9, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
