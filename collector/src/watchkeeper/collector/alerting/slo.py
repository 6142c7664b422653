"""Quality SLOs as multi-window, multi-burn-rate Prometheus alerts.

An SLO says what share of a route's calls must score on the good side of a threshold
("99% of /chat's calls score faithfulness at least 0.5", "at most 0.1% of answers score
pii_leak.safety above 0.5"), or what share of a review queue's verdicts must pass. The
objectives are settings (``alerting_slos``, :mod:`watchkeeper.collector.settings.alerting`);
the collector counts each score objective's calls and good calls
(:mod:`~watchkeeper.collector.alerting.slo_counters`), and the review workflow counts
verdicts per queue.

The alerts follow the SRE workbook: the error budget is ``1 - objective``; an alert fires
when both a long and a short window burn the budget faster than a factor (1 h and 5 m at
14.4x, 6 h and 30 m at 6x by default: 2% and 5% of a 30-day budget spent). The short
window makes the alert reset within minutes of recovery; the long one keeps a brief spike
from paging. A window with fewer calls than ``1 / (1 - objective)`` (one bad call expected
at the objective) cannot tell a burn from noise and never fires.

>>> slo = QualitySlo(name="faithfulness", score="faithfulness_drift.faithfulness",
...                  good="at_least", threshold=0.5, objective=0.99)
>>> [rule.get("alert", rule.get("record")) for rule in slo_rules([slo])["groups"][0]["rules"]][-1]
'WatchkeeperQualitySloBurn'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from watchkeeper.collector.settings.alerting import DEFAULT_WINDOWS, BurnWindow, QualitySlo

__all__ = ["DEFAULT_WINDOWS", "BurnWindow", "QualitySlo", "parse_slos", "slo_rules"]

RUNBOOK = (
    "https://github.com/watchkeeper/watchkeeper/blob/main/dashboards/runbooks.md"
    "#watchkeeperqualitysloburn"
)
REVIEW_OUTCOMES = "watchkeeper_review_dimension_outcomes_total"


def parse_slos(data: Any) -> list[QualitySlo]:
    """SLOs from configuration data (a list of mappings); :class:`ValueError` with the
    first bad key's path (``slos[1].objective: ...``) in one line."""
    if not isinstance(data, list):
        raise ValueError("slos: must be a list of objectives")  # noqa: TRY004 (a config error, one line)
    slos = []
    for index, item in enumerate(data):
        try:
            slos.append(QualitySlo.model_validate(item))
        except ValidationError as exc:
            error = exc.errors()[0]
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
            raise ValueError(f"slos[{index}]{path}: {error['msg']}") from None
    names = [slo.name for slo in slos]
    if len(set(names)) != len(names):
        raise ValueError(f"slos: names must be unique, got {names}")
    return slos


def _sum_rate(series: str, window: str) -> str:
    return f"sum by (namespace) (rate({series}[{window}]))"


def _total_series(slo: QualitySlo) -> str:
    if slo.review_queue is not None:
        return f'{REVIEW_OUTCOMES}{{queue="{slo.review_queue}", dimension="verdict"}}'
    return f'watchkeeper_slo_calls_total{{slo="{slo.name}"}}'


def bad_ratio(slo: QualitySlo, window: str) -> str:
    """PromQL for the share of ``slo``'s calls (or verdicts) that were bad over ``window``,
    per namespace."""
    total = _sum_rate(_total_series(slo), window)
    if slo.review_queue is not None:
        queue = f'queue="{slo.review_queue}"'
        failed = f'{REVIEW_OUTCOMES}{{{queue}, dimension="verdict", outcome="fail"}}'
        return f"{_sum_rate(failed, window)} / {total}"
    good = _sum_rate(f'watchkeeper_slo_good_calls_total{{slo="{slo.name}"}}', window)
    return f"({total} - {good}) / {total}"


def _record(window: str) -> str:
    return f"slo:watchkeeper_quality_bad_ratio:rate{window}"


def slo_rules(
    slos: Sequence[QualitySlo], windows: Sequence[BurnWindow] = DEFAULT_WINDOWS
) -> dict[str, Any]:
    """A Prometheus rule file (as data) with each SLO's bad-call ratios per window and its
    burn-rate alert."""
    rules: list[dict[str, Any]] = []
    spans = sorted({w for bw in windows for w in (bw.long, bw.short)})
    for slo in slos:
        for window in spans:
            rules.append(
                {
                    "record": _record(window),
                    "expr": bad_ratio(slo, window),
                    "labels": {"slo": slo.name},
                }
            )
        rules.append(_burn_alert(slo, windows))
    return {"groups": [{"name": "watchkeeper-quality-slos", "rules": rules}]}


def _burn_alert(slo: QualitySlo, windows: Sequence[BurnWindow]) -> dict[str, Any]:
    budget = 1.0 - slo.objective
    enough = f"sum by (namespace) (increase({_total_series(slo)}[{{w}}])) >= {slo.min_calls}"
    terms = []
    for bw in windows:
        threshold = f"{bw.burn:g} * {budget:.6g}"
        long_ratio = f'{_record(bw.long)}{{slo="{slo.name}"}}'
        short_ratio = f'{_record(bw.short)}{{slo="{slo.name}"}}'
        terms.append(
            f"(\n  {long_ratio} > {threshold}\n  and {short_ratio} > {threshold}\n"
            f"  and on (namespace) {enough.replace('{w}', bw.long)}\n)"
        )
    labels = {"severity": slo.severity, "category": "quality", "slo": slo.name}
    if slo.review_queue is None:
        labels |= {"route": slo.route, "service": slo.service}
    return {
        "alert": "WatchkeeperQualitySloBurn",
        "expr": "\nor\n".join(terms) + "\n",
        "labels": labels,
        "annotations": _annotations(slo),
    }


def describe(slo: QualitySlo) -> str:
    """The objective in words: ``0.99 of /chat's calls score ... at least 0.5``."""
    if slo.review_queue is not None:
        return f"{slo.objective:.4g} of the {slo.review_queue} queue's verdicts pass"
    where = "every route" if slo.route == "*" else f"route {slo.route}"
    if slo.service != "*":
        where += f" of {slo.service}"
    side = "at least" if slo.good == "at_least" else "at most"
    return f"{slo.objective:.4g} of calls on {where} score {slo.score} {side} {slo.threshold:g}"


def _annotations(slo: QualitySlo) -> dict[str, str]:
    if slo.review_queue is not None:
        dashboard = f"/d/watchkeeper-review/watchkeeper-review?var-queue={slo.review_queue}"
    else:
        detector = (slo.score or "").split(".", 1)[0]
        dashboard = f"/d/watchkeeper-detector/watchkeeper-detector?var-detector={detector}"
    return {
        "summary": f"{slo.name}: {{{{ $value | humanizePercentage }}}} miss the objective "
        f"({describe(slo)}), burning its budget fast",
        "description": (
            f"{{{{ $labels.namespace }}}} misses the SLO {slo.name} ({describe(slo)}) fast "
            "enough to spend a 30-day error budget in days, over both a long and a short window."
        ),
        "runbook_url": RUNBOOK,
        "dashboard_path": dashboard,
    }
