"""The overview's incidents and alerting-health panels: open incidents with their
alarms, SLOs the traffic cannot decide, services over their false-page budget."""

from __future__ import annotations

from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from watchkeeper.collector.alerting.dashboards.common import PanelBuilder, ch_query, prom_query

NS = 'namespace=~"$namespace"'

INCIDENTS_SQL = """
SELECT OpenedAt AS Opened, ServiceName AS Service, Route, State, StateBy AS By,
       arrayStringConcat(arraySlice(arrayDistinct(Detectors), 1, 6), ', ') AS Detectors,
       length(SpanIds) AS Alarms, round(if(empty(Effects), 0, Effects[1]), 2) AS TopEffectSd
FROM {db}.incidents FINAL
WHERE $__timeFilter(OpenedAt)
ORDER BY OpenedAt DESC
LIMIT 100
"""


def alerting_health_panels() -> list[PanelBuilder]:
    """Incidents, and what keeps alerting from working as configured."""
    return [
        table.Panel()
        .id(17)
        .title("Incidents")
        .description(
            "Alarms of several detectors on one service and route within 30 minutes, as one "
            "incident; Detectors and TopEffectSd (the biggest change, in standard "
            "deviations) come biggest effect first. Acknowledge or accept a new baseline "
            "on the collector's /ui/incidents page."
        )
        .span(24)
        .with_target(ch_query(INCIDENTS_SQL)),
        table.Panel()
        .id(18)
        .title("Alerting that cannot work as configured")
        .description(
            "SLOs whose route saw too few calls over the last day for their burn-rate "
            "alert ever to decide (watchkeeper_slo_decidable = 0), and services whose "
            "detectors expect more false alarms a week than the false-page budget "
            "(watchkeeper_false_page_budget_honoured = 0). Empty when all is well."
        )
        .span(24)
        .with_target(
            prom_query(f"min by (slo) (watchkeeper_slo_decidable{{{NS}}}) == 0", "{{slo}}")
            .instant()
            .format(PromQueryFormat.TABLE)
        )
        .with_target(
            prom_query(
                f"min by (service) (watchkeeper_false_page_budget_honoured{{{NS}}}) == 0",
                "{{service}}",
                ref_id="B",
            )
            .instant()
            .format(PromQueryFormat.TABLE)
        ),
    ]
