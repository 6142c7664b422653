"""The app's own confidence against reviewers' verdicts: is an answer the app was 80%
sure of right 80% of the time?

A call's confidence is the SDK's ``watchkeeper.response.confidence`` (``exp`` of the mean
token log-probability, when the app asked its provider for logprobs); without it, the
answer's own words (:func:`phrase_confidence`: "I'm not sure" low, "definitely" high).
Calibration compares it with reviewers' pass/fail verdicts: expected calibration error
(ECE) over ten equal-width bins, a reliability table, per app model and by day. Below:
bin 0.9 holds 3 calls, 2 passed (|0.9 - 0.6667| x 3/4 = 0.175), bin 0.2 one failed call
(|0.2 - 0| x 1/4 = 0.05): ECE 0.225.

>>> report = calibration([(0.9, True), (0.9, True), (0.9, False), (0.2, False)])
>>> report["ece"], [(b["confidence"], b["passed"], b["n"]) for b in report["reliability"]]
(0.225, [(0.2, 0.0, 1), (0.9, 0.6667, 3)])
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

#: Words that say how sure an answer is, and the confidence each stands for: a fixed,
#: coarse reading of hedges and boosters, not fitted to any data set.
_HEDGES: Final = re.compile(
    r"\b(i'?m not (?:sure|certain)|i am not (?:sure|certain)|not sure|i don'?t know|"
    r"i do not know|i'?m unsure|uncertain|i think|i believe|possibly|perhaps|maybe|"
    r"might be|may be|probably|likely)\b",
    re.I,
)
_BOOSTERS: Final = re.compile(
    r"\b(definitely|certainly|without (?:a|any) doubt|i'?m (?:sure|certain|confident)|"
    r"i am (?:sure|certain|confident)|absolutely|clearly|undoubtedly)\b",
    re.I,
)
HEDGED: Final = 0.4
ASSERTED: Final = 0.9
BINS: Final = 10
#: The span attribute the SDK records (``watchkeeper.sdk.attributes.RESPONSE_CONFIDENCE``).
CONFIDENCE_ATTRIBUTE: Final = "watchkeeper.response.confidence"


def phrase_confidence(answer: str) -> float | None:
    """The confidence an answer's words express; None when they express none.

    >>> phrase_confidence("I'm not sure, maybe Lyon."), phrase_confidence("Definitely Paris.")
    (0.4, 0.9)
    >>> phrase_confidence("Paris.") is None
    True
    """
    if _HEDGES.search(answer):
        return HEDGED
    if _BOOSTERS.search(answer):
        return ASSERTED
    return None


def call_confidence(row: Mapping[str, Any]) -> tuple[float, str] | None:
    """A labelled call's confidence and where it came from (``logprobs``, ``phrases``)."""
    raw = str(row.get("Confidence") or "")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if 0.0 <= value <= 1.0:
        return value, "logprobs"
    phrased = phrase_confidence(str(row.get("OutputText") or ""))
    return None if phrased is None else (phrased, "phrases")


def calibration(points: Sequence[tuple[float, bool]]) -> dict[str, Any]:
    """ECE and the reliability table of (confidence, passed) points; ECE None when
    there are none."""
    bins: dict[int, list[tuple[float, bool]]] = {}
    for confidence, passed in points:
        bins.setdefault(min(int(confidence * BINS), BINS - 1), []).append((confidence, passed))
    table = []
    ece = 0.0
    for index in sorted(bins):
        members = bins[index]
        mean = sum(c for c, _ in members) / len(members)
        rate = sum(p for _, p in members) / len(members)
        ece += len(members) / len(points) * abs(mean - rate)
        table.append({"confidence": round(mean, 4), "passed": round(rate, 4), "n": len(members)})
    return {"ece": round(ece, 4) if points else None, "pairs": len(points), "reliability": table}


def app_confidence_report(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Calibration of the app's confidence over labelled calls (rows with Model, Day,
    Confidence, OutputText, Verdict), overall, per app model and by day."""
    points: list[tuple[str, str, float, bool]] = []
    sources = {"logprobs": 0, "phrases": 0}
    for row in rows:
        found = call_confidence(row)
        if found is None or row.get("Verdict") not in ("pass", "fail"):
            continue
        sources[found[1]] += 1
        points.append((str(row["Model"]), str(row["Day"]), found[0], row["Verdict"] == "pass"))
    report = calibration([(c, p) for _, _, c, p in points])
    models = sorted({m for m, _, _, _ in points})
    days = sorted({d for _, d, _, _ in points})
    report["sources"] = sources
    report["labelled_calls"] = len(rows)
    report["by_model"] = {
        m: calibration([(c, p) for mm, _, c, p in points if mm == m]) for m in models
    }
    report["trend"] = [
        {"day": d, **calibration([(c, p) for _, dd, c, p in points if dd == d])} for d in days
    ]
    return report
