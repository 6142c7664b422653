"""Quality SLOs as multi-window, multi-burn-rate Prometheus alerts.

An SLO says what share of calls must score on the good side of a bound: "99% of calls
score faithfulness above 0.5", "at most 0.1% of answers score pii_leak.safety above 0.5".
The collector already counts, per score, how many calls fall at or below each bucket bound
of ``watchkeeper_detector_score`` (0.25, 0.5, 1, 2, 3, 5, 10): those are the good and total
counters, so an SLO's bound must be one of them.

The alerts follow the SRE workbook: the error budget is ``1 - objective``; an alert fires
when both a long and a short window burn the budget faster than a factor (1 h and 5 m at
14.4x, 6 h and 30 m at 6x by default: 2% and 5% of a 30-day budget spent). The short
window makes the alert reset within minutes of recovery; the long one keeps a brief spike
from paging. A window with fewer calls than ``1 / (1 - objective)`` (one bad call expected
at the objective) cannot tell a burn from noise and never fires.

>>> slo = QualitySlo(name="faithfulness", score="faithfulness_drift.faithfulness",
...                  bound=0.5, good="above", objective=0.99)
>>> [rule.get("alert", rule.get("record")) for rule in slo_rules([slo])["groups"][0]["rules"]][-1]
'WatchkeeperQualitySloBurn'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: Bucket bounds of ``watchkeeper_detector_score`` as the exposition writes them.
BOUNDS = {0.25: "0.25", 0.5: "0.5", 1.0: "1.0", 2.0: "2.0", 3.0: "3.0", 5.0: "5.0", 10.0: "10.0"}
RUNBOOK = (
    "https://github.com/watchkeeper/watchkeeper/blob/main/dashboards/runbooks.md"
    "#watchkeeperqualitysloburn"
)


class BurnWindow(BaseModel):
    """A long and a short window and the burn rate both must exceed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    long: str = Field(pattern=r"^\d+[smhd]$")
    short: str = Field(pattern=r"^\d+[smhd]$")
    burn: float = Field(gt=1.0)


DEFAULT_WINDOWS = (
    BurnWindow(long="1h", short="5m", burn=14.4),
    BurnWindow(long="6h", short="30m", burn=6.0),
)


class QualitySlo(BaseModel):
    """One quality objective over a score's calls, per namespace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    #: ``<detector>.<score name>``, as in ``watchkeeper_detector_score{score=...}``.
    score: str = Field(pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$")
    bound: float
    #: ``above``: a call is good when its score is above ``bound``; ``at_or_below``: when not.
    good: Literal["above", "at_or_below"]
    objective: float = Field(gt=0.0, lt=1.0)
    windows: tuple[BurnWindow, ...] = DEFAULT_WINDOWS
    severity: Literal["critical", "warning"] = "critical"

    @field_validator("bound")
    @classmethod
    def _bucket_bound(cls, bound: float) -> float:
        if bound not in BOUNDS:
            raise ValueError(f"must be a bucket bound of the score histogram: {sorted(BOUNDS)}")
        return bound

    @property
    def min_calls(self) -> int:
        """Calls a window needs before its ratio can tell a burn from noise."""
        return math.ceil(1.0 / (1.0 - self.objective))


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


def _bad_ratio(slo: QualitySlo, window: str) -> str:
    selector = f'score="{slo.score}"'
    bucket = f'watchkeeper_detector_score_bucket{{{selector}, le="{BOUNDS[slo.bound]}"}}'
    below = f"sum by (namespace) (rate({bucket}[{window}]))"
    total = f"sum by (namespace) (rate(watchkeeper_detector_score_count{{{selector}}}[{window}]))"
    # Scores above the bound are the total minus the bucket at the bound.
    return f"{below} / {total}" if slo.good == "above" else f"1 - {below} / {total}"


def _record(slo: QualitySlo, window: str) -> str:
    return f"slo:watchkeeper_quality_bad_ratio:rate{window}"


def slo_rules(slos: Sequence[QualitySlo]) -> dict[str, Any]:
    """A Prometheus rule file (as data) with each SLO's bad-call ratios per window and its
    burn-rate alert."""
    rules: list[dict[str, Any]] = []
    for slo in slos:
        windows = sorted({w for bw in slo.windows for w in (bw.long, bw.short)})
        for window in windows:
            rules.append(
                {
                    "record": _record(slo, window),
                    "expr": _bad_ratio(slo, window),
                    "labels": {"slo": slo.name},
                }
            )
        rules.append(_burn_alert(slo))
    return {"groups": [{"name": "watchkeeper-quality-slos", "rules": rules}]}


def _burn_alert(slo: QualitySlo) -> dict[str, Any]:
    budget = 1.0 - slo.objective
    count = f'watchkeeper_detector_score_count{{score="{slo.score}"}}'
    enough = f"sum by (namespace) (increase({count}[{{w}}])) >= {slo.min_calls}"
    terms = []
    for bw in slo.windows:
        threshold = f"{bw.burn:g} * {budget:.6g}"
        long_ratio = f'{_record(slo, bw.long)}{{slo="{slo.name}"}}'
        short_ratio = f'{_record(slo, bw.short)}{{slo="{slo.name}"}}'
        terms.append(
            f"(\n  {long_ratio} > {threshold}\n  and {short_ratio} > {threshold}\n"
            f"  and on (namespace) {enough.replace('{w}', bw.long)}\n)"
        )
    side = "above" if slo.good == "above" else "at or below"
    dashboard = "/d/watchkeeper-detector/watchkeeper-detector?var-detector="
    detector = slo.score.split(".", 1)[0]
    return {
        "alert": "WatchkeeperQualitySloBurn",
        "expr": "\nor\n".join(terms) + "\n",
        "labels": {"severity": slo.severity, "category": "quality", "slo": slo.name},
        "annotations": {
            "summary": f"{slo.name}: {{{{ $value | humanizePercentage }}}} of calls miss the "
            f"objective ({slo.objective:.4g} {side} {slo.bound:g}), burning its budget fast",
            "description": (
                f"Calls in {{{{ $labels.namespace }}}} miss the SLO {slo.name} "
                f"({slo.objective:.4g} of calls score {slo.score} {side} {slo.bound:g}) "
                "fast enough to spend a 30-day "
                "error budget in days, over both a long and a short window."
            ),
            "runbook_url": RUNBOOK,
            "dashboard_path": dashboard + detector,
        },
    }
