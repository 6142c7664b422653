"""Objectives the traffic cannot decide, and budgets the detectors cannot honour.

A burn-rate alert fires only on windows with at least ``1 / (1 - objective)`` calls (one
bad call expected at the objective): a route with fewer calls than that in every long
window can never page, however bad its calls are. A false-page budget is honoured only if
the detectors, at their calibration, raise fewer false alarms a week over a service's
traffic than the budget allows. Both are checked against the last day's traffic at start
and whenever ``/metrics`` is scraped, so an objective that cannot alert says so instead of
staying silent.

>>> slo = QualitySlo(name="faq", route="/faq", score="faithfulness_drift.faithfulness",
...                  good="at_least", threshold=0.5, objective=0.999)
>>> verdict = slo_verdict(slo, DEFAULT_WINDOWS, calls_per_day=2400.0)
>>> verdict.decidable
False
>>> print(verdict.warning)  # doctest: +NORMALIZE_WHITESPACE
SLO faq cannot page: route /faq saw 2,400 calls in the last day, 100 per 1h and 600 per 6h
window, and needs 1,000 in a window at objective 0.999; lower the objective or lengthen
alerting_windows
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from watchkeeper.collector.settings.alerting import (
    DEFAULT_WINDOWS,
    BurnWindow,
    QualitySlo,
    duration_s,
)

DAY_S = 86_400.0
__all__ = ["DEFAULT_WINDOWS", "BudgetVerdict", "SloVerdict", "budget_verdicts", "slo_verdict"]


@dataclass(frozen=True)
class SloVerdict:
    """Whether an objective's traffic lets any of its window pairs decide."""

    slo: str
    calls_per_day: float
    decidable: bool
    warning: str | None


def _where(slo: QualitySlo) -> str:
    if slo.review_queue is not None:
        return f"queue {slo.review_queue}"
    where = "every route" if slo.route == "*" else f"route {slo.route}"
    return where if slo.service == "*" else f"{where} of {slo.service}"


def slo_verdict(slo: QualitySlo, windows: Sequence[BurnWindow], calls_per_day: float) -> SloVerdict:
    """``slo`` over ``calls_per_day`` calls (or verdicts) a day: decidable when some long
    window expects at least ``slo.min_calls``."""
    per_window = [calls_per_day * duration_s(w.long) / DAY_S for w in windows]
    if any(n >= slo.min_calls for n in per_window):
        return SloVerdict(slo.name, calls_per_day, decidable=True, warning=None)
    unit = "verdicts" if slo.review_queue is not None else "calls"
    seen = " and ".join(f"{n:,.0f} per {w.long}" for n, w in zip(per_window, windows, strict=True))
    warning = (
        f"SLO {slo.name} cannot page: {_where(slo)} saw {calls_per_day:,.0f} {unit} in the "
        f"last day, {seen} window, and needs {slo.min_calls:,} in a window at objective "
        f"{slo.objective:g}; lower the objective or lengthen alerting_windows"
    )
    return SloVerdict(slo.name, calls_per_day, decidable=False, warning=warning)


@dataclass(frozen=True)
class BudgetVerdict:
    """Whether a service's expected false alarms fit its false-page budget."""

    service: str
    expected_per_week: float
    honoured: bool
    warning: str | None


def budget_verdicts(
    pages_per_week: float,
    calls_per_day: Mapping[str, float],
    detectors: int,
    arl: float,
) -> list[BudgetVerdict]:
    """Per service (``calls_per_day`` by service name): false alarms a week of
    ``detectors`` detectors calibrated to ``arl`` calls between false alarms per key."""
    verdicts = []
    for service, calls in sorted(calls_per_day.items()):
        expected = calls * 7.0 * detectors / arl
        honoured = expected <= pages_per_week
        warning = None
        if not honoured:
            warning = (
                f"false-page budget of {pages_per_week:g} a week not honoured for service "
                f"{service or '(unnamed)'}: {detectors} tests (detectors and rate paging "
                f"tests) calibrated to one false alarm per {arl:,.0f} calls per key raise "
                f"about {expected:,.3g} a week at its last "
                f"day's {calls:,.0f} calls"
            )
        verdicts.append(BudgetVerdict(service, expected, honoured, warning))
    return verdicts
