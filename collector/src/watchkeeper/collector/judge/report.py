"""A judge's report card against reviewers, from the store: per dimension, agreement with
its interval, confusion, trend by day, calibration and length bias; self-preference per
app model; order sensitivity (the flip rate of stored pairwise comparisons) per
dimension. What ``GET /api/judges/{name}/agreement``, the queue page's panel and the
``watchkeeper_judge_*`` gauges show."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from watchkeeper.collector.judge import agreement
from watchkeeper.collector.judge.agreement import Pair
from watchkeeper.collector.judge.pairwise import order_sensitivity
from watchkeeper.collector.judge.prompt import FAITHFULNESS
from watchkeeper.collector.settings.judge import JudgeConfig
from watchkeeper.collector.settings.rubric import RubricDimension
from watchkeeper.collector.store.judges import JudgeStore

#: Labels this recent feed the gauges.
GAUGE_WINDOW_MS: Final = 30 * 86_400_000
_FAITHFULNESS = RubricDimension(description="Supported by the retrieved contexts.")


def judge_report(
    store: JudgeStore,
    name: str,
    config: JudgeConfig,
    rubric: Mapping[str, RubricDimension],
    since_ms: int = 0,
) -> dict[str, Any]:
    """The report of judge ``name`` over labels since ``since_ms``."""
    rows = store.judged_labels(name, since_ms)
    by_dimension: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_dimension[str(row["Dimension"])].append(row)
    dimensions = []
    for dimension, found in sorted(by_dimension.items()):
        scale = rubric.get(dimension, _FAITHFULNESS if dimension == FAITHFULNESS else None)
        if scale is not None:
            dimensions.append(dimension_report(dimension, found, scale, config.agreement_floor))
    return {
        "judge": name,
        "model": config.model,
        "agreement_floor": config.agreement_floor,
        "labelled_calls": len({str(r["SpanId"]) for r in rows}),
        "dimensions": dimensions,
        "self_preference": self_preference(config.model, rows),
        "order_sensitivity": order_sensitivity(store.comparisons(name, since_ms)),
    }


def dimension_report(
    dimension: str, rows: Sequence[Mapping[str, Any]], scale: RubricDimension, floor: float
) -> dict[str, Any]:
    """Agreement, confusion, trend, calibration and length bias on one dimension."""
    pairs = _pairs(dimension, rows)
    kappa = agreement.kappa(pairs)
    interval = agreement.bootstrap_interval(pairs)
    ece, table = agreement.reliability(pairs, scale)
    return {
        "dimension": dimension,
        "pairs": len(pairs),
        "kappa": kappa,
        "kappa_ci95": list(interval) if interval else None,
        "alpha": agreement.alpha(pairs, scale),
        "below_floor": kappa is not None and kappa < floor,
        "confusion": agreement.confusion(pairs, scale),
        "trend": trend(dimension, rows, scale),
        "calibration": {"ece": ece, "reliability": table, "by_app_model": by_model(rows, scale)},
        "length_bias": agreement.length_bias(pairs),
        "mean_gap": agreement.mean_gap(pairs),
    }


def by_model(rows: Sequence[Mapping[str, Any]], scale: RubricDimension) -> dict[str, Any]:
    """Expected calibration error per app model (a judge may be calibrated on one model's
    answers and not on another's)."""
    grouped: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[str(row["AppModel"])].append(row)
    out = {}
    for model, found in sorted(grouped.items()):
        pairs = _pairs(str(found[0]["Dimension"]), found)
        out[model] = {"pairs": len(pairs), "ece": agreement.reliability(pairs, scale)[0]}
    return out


def trend(
    dimension: str, rows: Sequence[Mapping[str, Any]], scale: RubricDimension
) -> list[dict[str, Any]]:
    """Kappa and calibration error per UTC day of labelling."""
    by_day: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        day = datetime.fromtimestamp(int(row["LabelledAtMs"]) / 1000, UTC).date().isoformat()
        by_day[day].append(row)
    out = []
    for day, found in sorted(by_day.items()):
        pairs = _pairs(dimension, found)
        out.append(
            {
                "day": day,
                "pairs": len(pairs),
                "kappa": agreement.kappa(pairs),
                "ece": agreement.reliability(pairs, scale)[0],
            }
        )
    return out


def self_preference(judge_model: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The judge's family, the app models of its family (flagged), and the judge's mean
    lean over reviewers (judge minus reviewer) on those models' calls and on the rest."""
    same: list[Pair] = []
    other: list[Pair] = []
    flagged = set()
    for row in rows:
        pairs = same if agreement.same_family(judge_model, str(row["AppModel"])) else other
        pairs.extend(_pairs(str(row["Dimension"]), [row]))
        if pairs is same:
            flagged.add(str(row["AppModel"]))
    return {
        "judge_family": agreement.family(judge_model),
        "same_family_app_models": sorted(flagged),
        "flagged": bool(flagged),
        "mean_gap_same_family": agreement.mean_gap(same),
        "mean_gap_other": agreement.mean_gap(other),
    }


def gauge_values(
    store: JudgeStore,
    judges: Mapping[str, JudgeConfig],
    rubric: Mapping[str, RubricDimension],
    field: str,
) -> dict[tuple[str, ...], float]:
    """(judge, dimension) -> a report field (``kappa``, ``ece``, ``length_bias``) over the
    last 30 days' labels, for a scrape-time gauge."""
    since = time.time_ns() // 1_000_000 - GAUGE_WINDOW_MS
    out: dict[tuple[str, ...], float] = {}
    for name, config in judges.items():
        for row in judge_report(store, name, config, rubric, since)["dimensions"]:
            value = row["calibration"]["ece"] if field == "ece" else row[field]
            if value is not None:
                out[(name, row["dimension"])] = float(value)
    return out


def flip_rates(
    store: JudgeStore, judges: Mapping[str, JudgeConfig]
) -> dict[tuple[str, ...], float]:
    """(judge, dimension) -> the flip rate of its pairwise comparisons of the last 30 days,
    for a scrape-time gauge."""
    since = time.time_ns() // 1_000_000 - GAUGE_WINDOW_MS
    out: dict[tuple[str, ...], float] = {}
    for name in judges:
        for entry in order_sensitivity(store.comparisons(name, since)):
            if entry["flip_rate"] is not None:
                out[(name, entry["dimension"])] = float(entry["flip_rate"])
    return out


def _pairs(dimension: str, rows: Sequence[Mapping[str, Any]]) -> list[Pair]:
    return [
        Pair(
            str(row["SpanId"]),
            int(row["JudgeScore"]),
            int(row["LabelScores"][dimension]),
            int(row["AnswerChars"]),
        )
        for row in rows
        if dimension in row["LabelScores"]
    ]
