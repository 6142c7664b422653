"""Recording rules and a ticket for the budgets: the false-page budget and each quality
SLO's 30-day error budget.

``WatchkeeperFalsePageBudgetExceeded`` compares the false alarms the detectors are
expected to raise a week in a namespace (the shipped recording rule
``namespace:watchkeeper_detector_false_alarms:expected_per_week``, so load
``watchkeeper-quality.yml`` beside these rules) with the configured budget. It is a ticket
(severity ``warning``), not a page: it says the pager will be noisier than agreed.

>>> [r.get("record", r.get("alert")) for r in budget_rules(1.0, [])["groups"][0]["rules"]]
['watchkeeper:false_pages_budget:per_week', 'WatchkeeperFalsePageBudgetExceeded']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from watchkeeper.collector.alerting.slo import RUNBOOK, bad_ratio
from watchkeeper.collector.settings.alerting import QualitySlo

EXPECTED = "namespace:watchkeeper_detector_false_alarms:expected_per_week"
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
            "expr": f"{EXPECTED} > {pages_per_week:g}",
            "for": "1h",
            "labels": {"severity": "warning", "category": "budget"},
            "annotations": {
                "summary": '{{ $labels.namespace }}: {{ $value | printf "%.0f" }} false '
                f"alarms expected a week, over the budget of {pages_per_week:g}",
                "description": "At the last day's traffic and the detectors' calibration, "
                "{{ $labels.namespace }} is expected to raise more false alarms a week than "
                f"its false-page budget ({pages_per_week:g}); lower the detectors' false-alarm "
                "rate or raise alerting_false_pages_per_week.",
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
