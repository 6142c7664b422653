"""Reviewed items as evalset records: labels aggregated per call, duplicates removed.

One record per reviewed call. Several reviewers' labels are combined: scores are averaged,
pass/fail dimensions and the verdict go by majority (a tie counts as ``fail``: an item
reviewers disagree on is worth a regression test), the corrected answer is the newest one
given. Then duplicates go: a call that sits in two queues is one record, and calls with
the same input and contexts (after whitespace and case folding) are one record — the
one with a corrected answer, else the most recently labelled; ``duplicates`` counts the
others.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from watchkeeper.collector.evalset.trace_records import attach_traces
from watchkeeper.collector.review.rubric import Rubric

if TYPE_CHECKING:
    from watchkeeper.collector.store.store import Store

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


@dataclass
class EvalRecord:
    """One reviewed call, ready to become a test case."""

    id: str
    input: str
    contexts: list[str]
    output: str
    corrected_answer: str
    verdict: str
    scores: dict[str, float | str]
    comments: list[str]
    reviewers: list[str]
    trace_id: str
    span_id: str
    model: str
    service: str
    route: str
    queues: list[str]
    reasons: list[str]
    timestamp: str
    labelled_at: str
    labels: int
    required_labels: int
    duplicates: int = 0
    #: from the stored trace (``trace_records.py``): its steps, tool calls, the
    #: conversation up to this turn, and per-passage scores
    trajectory: list[dict[str, Any]] = field(default_factory=list)
    tools_called: list[dict[str, Any]] = field(default_factory=list)
    turns: list[dict[str, str]] = field(default_factory=list)
    passages: list[dict[str, Any]] = field(default_factory=list)
    _labelled_ms: int = field(default=0, repr=False)

    @property
    def expected_output(self) -> str:
        """The reviewers' reference answer: the correction, else the output if it passed."""
        if self.corrected_answer:
            return self.corrected_answer
        return self.output if self.verdict == "pass" else ""

    @property
    def content_key(self) -> str:
        """What makes two records the same test case: normalised input and contexts."""
        text = "\x00".join([_normal(self.input), *(_normal(c) for c in self.contexts)])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_evalset(
    store: Store,
    rubric: Rubric | None = None,
    *,
    queues: Sequence[str] = (),
    since_ms: int = 0,
    until_ms: int | None = None,
    dedupe: bool = True,
    with_traces: bool = True,
) -> list[EvalRecord]:
    """Records for calls labelled in ``[since_ms, until_ms)`` in ``queues`` (all if empty),
    oldest label first; ``with_traces``: with what their stored traces hold (trajectory,
    tool calls, turns, per-passage scores)."""
    rubric = rubric or Rubric()
    until_ms = until_ms if until_ms is not None else time.time_ns() // 1_000_000 + 1
    labels = store.labels_since(queues, since_ms, until_ms)
    items = store.labelled_items(queues, since_ms, until_ms)
    records = _records(items, labels, rubric)
    records = deduplicate(records) if dedupe else records
    if with_traces:
        attach_traces(store, records)
    return records


def deduplicate(records: Iterable[EvalRecord]) -> list[EvalRecord]:
    """One record per test case (see the module docstring), in labelling order."""
    best: dict[str, EvalRecord] = {}
    seen: Counter[str] = Counter()
    for record in records:
        key = record.content_key
        seen[key] += 1
        kept = best.get(key)
        if kept is None or _preferred(record, kept):
            best[key] = record
    for key, record in best.items():
        record.duplicates = seen[key] - 1
    return sorted(best.values(), key=lambda r: (r._labelled_ms, r.id))


def parse_time(text: str, now_ms: int | None = None) -> int:
    """Milliseconds since the epoch from ``7d``/``24h``/``30m`` (ago), an ISO date or
    date-time (UTC unless it says otherwise), or epoch seconds.

    >>> parse_time("2h", now_ms=10_000_000)
    2800000
    >>> parse_time("1970-01-02")
    86400000
    """
    text = text.strip()
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    match = _RELATIVE.match(text)
    if match:
        return now_ms - int(match.group(1)) * _UNIT_MS[match.group(2)]
    if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
        return int(float(text) * 1000)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use e.g. 7d, 24h, 2025-01-31 or 2025-01-31T12:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _records(
    items: Sequence[Mapping[str, Any]], labels: Sequence[Mapping[str, Any]], rubric: Rubric
) -> list[EvalRecord]:
    # Newest label per (call, reviewer): a call in two queues may carry two labels by one
    # reviewer, which are one judgement, not two.
    by_call: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for label in labels:
        span, reviewer = str(label["SpanId"]), str(label["Reviewer"])
        held = by_call[span].get(reviewer)
        if held is None or int(label["LabelledAtMs"]) >= int(held["LabelledAtMs"]):
            by_call[span][reviewer] = label
    calls: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in items:
        calls[str(item["SpanId"])].append(item)
    records = []
    for span, rows in calls.items():
        judged = sorted(by_call.get(span, {}).values(), key=lambda lb: int(lb["LabelledAtMs"]))
        if judged:
            records.append(_record(rows, judged, rubric))
    return sorted(records, key=lambda r: (r._labelled_ms, r.id))


def _record(
    rows: list[Mapping[str, Any]], judged: list[Mapping[str, Any]], rubric: Rubric
) -> EvalRecord:
    item = rows[0]
    verdicts = Counter(str(lb["Verdict"]) for lb in judged)
    corrected = [str(lb["CorrectedAnswer"]) for lb in judged if lb["CorrectedAnswer"]]
    scores: dict[str, float | str] = {}
    for name, dimension in rubric.dimensions.items():
        values = [int(lb["Scores"][name]) for lb in judged if name in lb["Scores"]]
        if not values:
            continue
        if dimension.kind == "pass_fail":
            passes = sum(values)
            scores[name] = "pass" if passes > len(values) - passes else "fail"
        else:
            scores[name] = round(sum(values) / len(values), 2)
    newest = int(judged[-1]["LabelledAtMs"])
    return EvalRecord(
        id=str(item["SpanId"]),
        input=str(item["InputText"]),
        contexts=[str(c) for c in item["Contexts"]],
        output=str(item["OutputText"]),
        corrected_answer=corrected[-1] if corrected else "",
        verdict="pass" if verdicts["pass"] > verdicts["fail"] else "fail",
        scores=scores,
        comments=[f"{lb['Reviewer']}: {lb['Comment']}" for lb in judged if lb["Comment"]],
        reviewers=[str(lb["Reviewer"]) for lb in judged],
        trace_id=str(item["TraceId"]),
        span_id=str(item["SpanId"]),
        model=str(item["Model"]),
        service=str(item["ServiceName"]),
        route=str(item["Route"]),
        queues=sorted({str(r["Queue"]) for r in rows}),
        reasons=sorted({str(r["Reason"]) for r in rows}),
        timestamp=_iso_ns(int(item["TimestampNs"])),
        labelled_at=_iso_ns(newest * 1_000_000),
        labels=len(judged),
        required_labels=max(int(r["RequiredLabels"]) for r in rows),
        _labelled_ms=newest,
    )


def _preferred(candidate: EvalRecord, kept: EvalRecord) -> bool:
    """A corrected answer beats none; then the newer label wins."""
    if bool(candidate.corrected_answer) != bool(kept.corrected_answer):
        return bool(candidate.corrected_answer)
    return candidate._labelled_ms >= kept._labelled_ms


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _iso_ns(ns: int) -> str:
    """An RFC 3339 UTC time with microseconds (what JSON consumers parse)."""
    seconds, rest = divmod(ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rest // 1000)
    return moment.isoformat().replace("+00:00", "Z")
