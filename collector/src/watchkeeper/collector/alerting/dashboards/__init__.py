"""watchkeeper's Grafana dashboards, built in code with ``grafana-foundation-sdk``.

``build_dashboards()`` returns each dashboard's JSON model by uid; ``watchkeeper grafana
export`` writes them and the committed copies under ``dashboards/grafana/`` are its
output (a test keeps them identical).
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from watchkeeper.collector.alerting.dashboards.common import (
    DETECTOR_UID,
    OVERVIEW_UID,
    REVIEW_UID,
    DashboardOptions,
)
from watchkeeper.collector.alerting.dashboards.detector import build_detector
from watchkeeper.collector.alerting.dashboards.overview import build_overview
from watchkeeper.collector.alerting.dashboards.review import build_review

__all__ = [
    "DETECTOR_UID",
    "OVERVIEW_UID",
    "REVIEW_UID",
    "DashboardOptions",
    "build_dashboards",
    "detector_names",
]


def detector_names() -> list[str]:
    """Names of the detectors the collector runs by default, in their order."""
    from watchkeeper.detectors import default_detectors

    return [detector.name for detector in default_detectors()]


def build_dashboards(options: DashboardOptions | None = None) -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON model, by uid."""
    from watchkeeper.detectors import HIGHER_IS_BETTER

    options = options or DashboardOptions()
    boards = [
        build_overview(options, HIGHER_IS_BETTER),
        build_detector(options, detector_names(), HIGHER_IS_BETTER),
        build_review(options),
    ]
    encoder = JSONEncoder(sort_keys=True)
    models: dict[str, dict[str, Any]] = {}
    for board in boards:
        model = json.loads(encoder.encode(board.build()))
        for panel in model["panels"]:
            _set_panel_datasource(panel)
        models[model["uid"]] = model
    return models


def _set_panel_datasource(panel: dict[str, Any]) -> None:
    """Give a panel the data source of its targets, or Grafana's mixed one.

    The SDK sets data sources per target only; Grafana's editor expects the panel's too.
    """
    sources = {json.dumps(t["datasource"], sort_keys=True) for t in panel.get("targets", [])}
    if len(sources) == 1:
        panel["datasource"] = json.loads(sources.pop())
    elif sources:
        panel["datasource"] = {"type": "datasource", "uid": "-- Mixed --"}
