"""Recording rules and a ticket for the budgets: the false-page budget and each quality
SLO's 30-day error budget.

``WatchkeeperFalsePageBudgetExceeded`` compares the detector alarms of severity ``page``
a namespace raised over the last 7 days with the configured budget. It is a ticket
(severity ``warning``), not a page: the pager was noisier than agreed (true changes
count too: a week of real incidents spends the budget as well as noise does).

>>> [r.get("record", r.get("alert")) for r in budget_rules(1.0, [])["groups"][0]["rules"]]
['watchkeeper:false_pages_budget:per_week', 'WatchkeeperFalsePageBudgetExceeded']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from watchkeeper.collector.alerting.slo import RUNBOOK, bad_ratio
from watchkeeper.collector.settings.alerting import QualitySlo

PAGED = 'sum by (namespace) (increase(watchkeeper_detector_alarms_total{severity="page"}[7d]))'
#: The window of an SLO's error budget (the SRE workbook's 30 days).
BUDGET_WINDOW = "30d"


def budget_rules(pages_per_week: float, slos: Sequence[QualitySlo]) -> dict[str, Any]:
    """A rule file (as data): the false-page budget, its ticket, and each SLO's remaining
    error budget over 30 days (1 = untouched, 0 = spent, below 0 = overspent)."""
    rules: list[dict[str, Any]] = [
        {
            "record": "watchkeeper:false_pages_budget:per_week",
            "expr": f"vector({pages_per_week:g})",
        },
        {
            "alert": "WatchkeeperFalsePageBudgetExceeded",
            "expr": f"{PAGED} > {pages_per_week:g}",
            "for": "1h",
            "labels": {"severity": "warning", "category": "budget"},
            "annotations": {
                "summary": '{{ $labels.namespace }}: {{ $value | printf "%.0f" }} paging '
                f"alarms in 7 days, over the budget of {pages_per_week:g} a week",
                "description": "The detectors of {{ $labels.namespace }} raised more alarms of "
                f"severity page in the last 7 days than its false-page budget ({pages_per_week:g}"
                " a week): check the incidents of the week; if most were noise, use "
                "detector_calibration = budget or raise alerting_false_pages_per_week.",
                "runbook_url": RUNBOOK.replace(
                    "watchkeeperqualitysloburn", "watchkeeperfalsepagebudgetexceeded"
                ),
            },
        },
    ]
    for slo in slos:
        remaining = f"1 - ({bad_ratio(slo, BUDGET_WINDOW)}) / {1.0 - slo.objective:.6g}"
        rules.append(
            {
                "record": "slo:watchkeeper_quality_error_budget_remaining:ratio30d",
                "expr": remaining,
                "labels": {"slo": slo.name},
            }
        )
    return {"groups": [{"name": "watchkeeper-budgets", "rules": rules}]}
