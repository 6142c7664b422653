"""The judges' panel on a review queue's page: how each judge agrees with reviewers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any


def judges_panel(reports: Sequence[Mapping[str, Any]]) -> str:
    """An HTML section: per judge and dimension, kappa with its interval, alpha, pairs,
    calibration error and length bias, the dimensions below the floor marked; and the
    flip rate of its pairwise comparisons when it made some."""
    if not reports:
        return ""
    parts = ["<section class='judges'><h2>Judges against reviewers</h2>"]
    for report in reports:
        name = escape(str(report["judge"]))
        lean = report["self_preference"]
        warning = (
            f" <span class='error'>self-preference risk: judge and "
            f"{escape(', '.join(lean['same_family_app_models']))} are one family</span>"
            if lean["flagged"]
            else ""
        )
        rows = "".join(_row(d) for d in report["dimensions"])
        parts.append(
            f"<h3>{name} ({escape(str(report['model']))}){warning}</h3>"
            "<table class='judge-agreement'><tr><th>dimension</th><th>kappa</th>"
            "<th>95% interval</th><th>alpha</th><th>pairs</th><th>ECE</th>"
            "<th>length bias</th></tr>"
            f"{rows or '<tr><td colspan=7>no labelled calls judged yet</td></tr>'}</table>"
            f"{_order_sensitivity(report.get('order_sensitivity') or [])}"
            f"<p><a href='/api/judges/{name}/agreement'>details (API)</a></p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _row(dimension: Mapping[str, Any]) -> str:
    interval = dimension["kappa_ci95"]
    low = "" if interval is None else f"{interval[0]:.2f} to {interval[1]:.2f}"
    mark = " class='error' title='below the agreement floor'" if dimension["below_floor"] else ""
    return (
        f"<tr{mark}><td>{escape(str(dimension['dimension']))}</td>"
        f"<td>{_number(dimension['kappa'])}</td><td>{low}</td>"
        f"<td>{_number(dimension['alpha'])}</td><td>{int(dimension['pairs'])}</td>"
        f"<td>{_number(dimension['calibration']['ece'])}</td>"
        f"<td>{_number(dimension['length_bias'])}</td></tr>"
    )


def _order_sensitivity(entries: Sequence[Mapping[str, Any]]) -> str:
    """A table of pairwise comparisons' flip rate per dimension; empty without any."""
    if not entries:
        return ""
    rows = "".join(
        f"<tr><td>{escape(str(e['dimension']))}</td><td>{_number(e['flip_rate'])}</td>"
        f"<td>{int(e['flips'])}</td><td>{int(e['comparisons'])}</td></tr>"
        for e in entries
    )
    return (
        "<table class='judge-order'><tr><th>order sensitivity</th><th>flip rate</th>"
        f"<th>flips</th><th>comparisons</th></tr>{rows}</table>"
    )


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def app_confidence_panel(report: Mapping[str, Any]) -> str:
    """An HTML section: calibration error of the app's own confidence per app model, and
    how many labelled calls had a confidence (log-probs or phrases); empty when none had."""
    if not report["pairs"]:
        return ""
    rows = "".join(
        f"<tr><td>{escape(model)}</td><td>{_number(entry['ece'])}</td>"
        f"<td>{int(entry['pairs'])}</td></tr>"
        for model, entry in sorted(report["by_model"].items())
    )
    sources = report["sources"]
    return (
        "<section class='app-confidence'><h2>The app's confidence against reviewers</h2>"
        f"<p>ECE {_number(report['ece'])} over {int(report['pairs'])} labelled calls "
        f"({int(sources['logprobs'])} with token log-probabilities, "
        f"{int(sources['phrases'])} from confidence phrases)</p>"
        "<table class='app-confidence'><tr><th>app model</th><th>ECE</th><th>pairs</th></tr>"
        f"{rows}</table><p><a href='/api/app-confidence'>reliability table (API)</a></p>"
        "</section>"
    )
