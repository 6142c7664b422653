"""What the overview, alarms and calls pages show, shaped once for the HTML and the API.

:class:`Monitor` turns the rows of :class:`~watchkeeper.collector.store.monitoring.MonitoringStore`
into plain dicts and lists (JSON as they are): series aligned on one time axis per page,
alarms with their reason in words and their state, calls with their texts and scores.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from watchkeeper.collector.overview.ranges import TimeRange
from watchkeeper.collector.review.workflow import (
    ItemConflictError,
    ItemNotFoundError,
    ReviewWorkflow,
)
from watchkeeper.collector.settings.pipeline import ModelPrice
from watchkeeper.collector.store.monitoring import CallSearch, KeyFilter, MonitoringStore
from watchkeeper.detectors import HIGHER_IS_BETTER

#: Lines drawn per chart: the busiest keys (the key table lists them all).
MAX_CHART_KEYS: Final = 8
#: The calls shown around an alarm: this long before and after its flagged call.
AROUND_BEFORE_NS: Final = 15 * 60 * 1_000_000_000
AROUND_AFTER_NS: Final = 5 * 60 * 1_000_000_000
#: Alarm actions, and the state each leaves the alarm in.
ALARM_ACTIONS: Final = {"acknowledge": "acknowledged", "resolve": "resolved", "reopen": "open"}
#: Quality scores first on the overview, in this order; operational ones after.
_SCORE_ORDER: Final = (
    "faithfulness",
    "consistency",
    "input_",
    "topic",
    "prompt_injection",
    "pii",
    "judge.",
)
_NS: Final = 1_000_000_000


def key_of(service: str, route: str, model: str) -> str:
    """The detector key of a service, route and model (as the pipeline makes it)."""
    return f"{service}|{route}|{model}"


def alarm_id(detector: str, span_id: str) -> str:
    """The path of an alarm under ``/ui/alarms/`` and ``/api/alarms/``."""
    return f"{detector}/{span_id}"


def reason_in_words(message: str, key: str) -> str:
    """What the detector said, without the detector and key the page shows beside it."""
    _, found, reason = message.partition(f" for {key}: ")
    return reason if found and reason else message


def higher_is_worse(score: str) -> bool:
    """Whether a bigger value of ``<detector>.<score>`` is worse (most scores)."""
    return score.rpartition(".")[2] not in HIGHER_IS_BETTER


class Monitor:
    """Reads for the overview, alarms and calls pages; alarm actions; sending to review."""

    def __init__(
        self,
        reads: MonitoringStore,
        workflow: ReviewWorkflow,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        self.reads = reads
        self.workflow = workflow
        #: Per model, what its tokens cost (``model_prices``); unpriced models show tokens.
        self.prices = dict(prices or {})

    # --- overview --------------------------------------------------------------------
    def overview(self, span: TimeRange, keys: KeyFilter) -> dict[str, Any]:
        """Per key: traffic, errors, latency and tokens; every score over time; alarms
        and deploys to mark on the charts; the filters' choices."""
        reads = self.reads
        times = list(range(span.from_s - span.from_s % span.step_s, span.to_s, span.step_s))
        alarms = self.alarms(span, keys, limit=500)
        counts: dict[str, int] = {}
        for alarm in alarms:
            counts[alarm["key"]] = counts.get(alarm["key"], 0) + 1
        table = [
            _key_row(row, counts, self.prices)
            for row in reads.traffic_by_key(span.from_s, span.to_s, keys, step_s=span.step_s)
        ]
        charted = [row["key"] for row in table[:MAX_CHART_KEYS]]
        seen = reads.keys_seen(span.from_s, span.to_s, span.step_s)
        return {
            "range": _range(span),
            "filters": {"service": keys.service, "route": keys.route, "model": keys.model},
            "choices": {
                name: sorted({str(row[column]) for row in seen})
                for name, column in (
                    ("services", "ServiceName"),
                    ("routes", "Route"),
                    ("models", "Model"),
                )
            },
            "times": times,
            "keys": table,
            "traffic": _traffic(
                reads.traffic_series(span.from_s, span.to_s, span.step_s, keys),
                times,
                charted,
                self.prices,
            ),
            "scores": _scores(
                reads.score_series(span.from_s, span.to_s, span.step_s, keys), times, charted
            ),
            "alarms": alarms,
            "annotations": _deploys(reads.versions(), span, keys),
        }

    # --- alarms ----------------------------------------------------------------------
    def alarms(
        self,
        span: TimeRange,
        keys: KeyFilter,
        *,
        detector: str = "",
        state: str = "",
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Alarms in the range, newest first."""
        rows = self.reads.alarms(
            span.from_ns, span.to_ns, keys, detector=detector, state=state, limit=limit
        )
        return [_alarm(row) for row in rows]

    def alarm(self, detector: str, span_id: str) -> dict[str, Any]:
        """One alarm: its reason, the flagged call, the worst-scoring calls of its key
        around it, and who acknowledged or resolved it when."""
        row = self.reads.alarm(detector, span_id)
        if row is None:
            raise ItemNotFoundError(f"no alarm of {detector!r} on call {span_id}")
        alarm = _alarm(row)
        at = int(row["TimestampNs"])
        flagged = self.reads.calls_by_id([span_id], at, at + 1)
        scores: Mapping[str, float] = flagged[0]["Scores"] if flagged else {}
        score = _alarm_score(detector, float(row["Score"]), scores)
        around: list[dict[str, Any]] = []
        if score:
            worst = self.reads.worst_around(
                key=alarm["key"],
                score=score,
                span_id=span_id,
                from_ns=at - AROUND_BEFORE_NS,
                to_ns=at + AROUND_AFTER_NS,
                higher_is_worse=higher_is_worse(score),
            )
            ids = [str(w["SpanId"]) for w in worst]
            full = {
                str(c["SpanId"]): c
                for c in self.reads.calls_by_id(
                    ids, at - AROUND_BEFORE_NS, at + AROUND_AFTER_NS + 1
                )
            }
            around = [_call(full[i]) for i in ids if i in full]
        return alarm | {
            "score_name": score,
            "higher_is_worse": higher_is_worse(score) if score else True,
            "flagged_call": _call(flagged[0]) if flagged else None,
            "calls_around": around,
            "actions": self._actions(f"alarm:{detector}:{span_id}"),
        }

    def act_on_alarm(
        self, detector: str, span_id: str, action: str, actor: str, comment: str = ""
    ) -> dict[str, Any]:
        """Acknowledge, resolve or reopen an alarm as ``actor``; kept in the audit log."""
        if action not in ALARM_ACTIONS:
            raise ItemConflictError(f"action must be one of {', '.join(ALARM_ACTIONS)}")
        if self.reads.alarm(detector, span_id) is None:
            raise ItemNotFoundError(f"no alarm of {detector!r} on call {span_id}")
        state = ALARM_ACTIONS[action]
        at_ms = self.reads.record_action(
            actor=actor, action=state, target=f"alarm:{detector}:{span_id}", detail=comment
        )
        return {"id": alarm_id(detector, span_id), "state": state, "by": actor, "at_ms": at_ms}

    # --- calls -----------------------------------------------------------------------
    def calls(
        self, span: TimeRange, keys: KeyFilter, search: CallSearch, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Calls matching the search, newest first, with excerpts of their texts."""
        found = self.reads.search_calls(span.from_ns, span.to_ns, keys, search, limit)
        if not found:
            return []
        stamps = [int(row["TimestampNs"]) for row in found]
        full = {
            str(c["SpanId"]): c
            for c in self.reads.calls_by_id(
                [str(row["SpanId"]) for row in found], min(stamps), max(stamps) + 1
            )
        }
        return [_call(full[str(row["SpanId"])]) for row in found if str(row["SpanId"]) in full]

    def call(self, span_id: str, at_ns: int | None = None) -> dict[str, Any]:
        """One call in full: texts, contexts, every score, its alarms and review state.
        ``at_ns`` (its start, when the link knows it) spares a search of every day."""
        if at_ns is not None:
            rows = self.reads.calls_by_id([span_id], at_ns, at_ns + 1)
        else:
            rows = self.reads.calls_by_id([span_id], 0, (time.time_ns() // _NS + 86400) * _NS)
        if not rows:
            raise ItemNotFoundError(f"no call {span_id} (it may have expired)")
        call = _call(rows[0], full=True)
        call["alarms"] = [
            {
                "id": alarm_id(str(a["Detector"]), span_id),
                "detector": a["Detector"],
                "reason": reason_in_words(str(a["Message"]), str(a["DetectorKey"])),
                "score": float(a["Score"]),
            }
            for a in self.reads.alarms_for_call(span_id)
        ]
        call["review"] = [
            {
                "queue": r["Queue"],
                "reason": r["Reason"],
                "labels": int(r["Labels"]),
                "required_labels": int(r["RequiredLabels"]),
                "verdicts": list(r["Verdicts"]),
            }
            for r in self.reads.call_review(span_id)
        ]
        call["actions"] = self._actions(f"call:{span_id}")
        return call

    def send_to_review(
        self, span_id: str, queue: str, actor: str, at_ns: int | None = None
    ) -> dict[str, Any]:
        """Put a stored call in a review queue by hand (``manual``), as ``actor``."""
        config = self.workflow.queue(queue)
        call = self.call(span_id, at_ns)
        if not call["has_body"]:
            raise ItemConflictError(
                f"call {span_id} has no stored texts (body sampling dropped them): "
                "there is nothing to review"
            )
        ns = int(call["timestamp_ns"])
        self.reads.enqueue(
            {
                "Timestamp": f"{ns // _NS}.{ns % _NS:09d}",
                "Queue": queue,
                "TraceId": call["trace_id"],
                "SpanId": span_id,
                "ServiceName": call["service"],
                "Route": call["route"],
                "Reason": "manual",
                "Priority": config.priority,
                "Model": call["model"],
                "InputText": call["input"],
                "OutputText": call["output"],
                "Contexts": call["contexts"],
                "RequiredLabels": config.reviewers,
            }
        )
        self.reads.record_action(
            actor=actor, action="sent_to_review", target=f"call:{span_id}", detail=queue
        )
        return {"span_id": span_id, "queue": queue, "by": actor}

    def _actions(self, target: str) -> list[dict[str, Any]]:
        return [
            {
                "at_ms": int(a["AtMs"]),
                "by": a["Actor"],
                "action": a["Action"],
                "detail": a["Detail"],
            }
            for a in self.reads.actions(target)
        ]


def _range(span: TimeRange) -> dict[str, Any]:
    return {
        "from_s": span.from_s,
        "to_s": span.to_s,
        "step_s": span.step_s,
        "preset": span.preset,
        "label": span.label,
    }


def _latency_ms(row: Mapping[str, Any], index: int) -> float | None:
    values = row.get("LatencyNs") or []
    value = float(values[index]) if len(values) > index else math.nan
    return round(value / 1e6, 2) if math.isfinite(value) else None


def _cost(row: Mapping[str, Any], prices: Mapping[str, ModelPrice]) -> float | None:
    """The USD cost of a row's tokens, None when its model has no price."""
    price = prices.get(str(row["Model"]))
    if price is None:
        return None
    return round(price.cost(float(row["TokensIn"]), float(row["TokensOut"])), 6)


def _key_row(
    row: Mapping[str, Any], alarm_counts: Mapping[str, int], prices: Mapping[str, ModelPrice]
) -> dict[str, Any]:
    key = key_of(str(row["ServiceName"]), str(row["Route"]), str(row["Model"]))
    stored, failed = int(row["Stored"]), int(row["Failed"])
    return {
        "key": key,
        "service": row["ServiceName"],
        "route": row["Route"],
        "model": row["Model"],
        "calls": round(float(row["Estimated"])),
        "stored": stored,
        "errors": failed,
        "error_rate": failed / stored if stored else 0.0,
        "latency_p50_ms": _latency_ms(row, 0),
        "latency_p95_ms": _latency_ms(row, 1),
        "tokens_in": round(float(row["TokensIn"])),
        "tokens_out": round(float(row["TokensOut"])),
        "cost_usd": _cost(row, prices),
        "alarms": alarm_counts.get(key, 0),
    }


def _traffic(
    rows: Iterable[Mapping[str, Any]],
    times: Sequence[int],
    charted: Sequence[str],
    prices: Mapping[str, ModelPrice],
) -> dict[str, dict[str, list[float | None]]]:
    """Per measure and charted key, one value per time bucket (None where no calls, and
    no cost where the model has no price)."""
    index = {t: i for i, t in enumerate(times)}
    measures = ("calls", "error_rate", "latency_p95_ms", "tokens", "cost_usd")
    out: dict[str, dict[str, list[float | None]]] = {
        m: {key: [None] * len(times) for key in charted} for m in measures
    }
    for row in rows:
        key = key_of(str(row["ServiceName"]), str(row["Route"]), str(row["Model"]))
        i = index.get(int(row["T"]))
        if i is None or key not in out["calls"]:
            continue
        stored = int(row["Stored"])
        out["calls"][key][i] = round(float(row["Estimated"]), 2)
        out["error_rate"][key][i] = int(row["Failed"]) / stored if stored else None
        out["latency_p95_ms"][key][i] = _latency_ms(row, 1)
        out["tokens"][key][i] = round(float(row["TokensIn"]) + float(row["TokensOut"]))
        out["cost_usd"][key][i] = _cost(row, prices)
    return out


def _score_rank(name: str) -> tuple[int, str]:
    for rank, prefix in enumerate(_SCORE_ORDER):
        if name.startswith(prefix) or f".{prefix}" in name or f"_{prefix}" in name:
            return rank, name
    return len(_SCORE_ORDER), name


def _scores(
    rows: Iterable[Mapping[str, Any]], times: Sequence[int], charted: Sequence[str]
) -> list[dict[str, Any]]:
    """One entry per score name: its mean per bucket for each charted key."""
    index = {t: i for i, t in enumerate(times)}
    series: dict[str, dict[str, list[float | None]]] = {}
    for row in rows:
        key = key_of(str(row["ServiceName"]), str(row["Route"]), str(row["Model"]))
        if key not in charted:
            continue
        values: list[float | None] = [None] * len(times)
        for t, mean in zip(row["Times"], row["Means"], strict=True):
            i = index.get(int(t))
            if i is not None and math.isfinite(float(mean)):
                values[i] = round(float(mean), 4)
        series.setdefault(str(row["Score"]), {})[key] = values
    return [
        {
            "name": name,
            "detector": name.partition(".")[0],
            "higher_is_better": not higher_is_worse(name),
            "series": series[name],
        }
        for name in sorted(series, key=_score_rank)
    ]


def _deploys(
    versions: Iterable[Mapping[str, Any]], span: TimeRange, keys: KeyFilter
) -> list[dict[str, Any]]:
    """A new model or prompt version of a service and route, first seen in the range."""
    first: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in versions:
        first.setdefault((str(row["ServiceName"]), str(row["Route"])), []).append(row)
    out = []
    for (service, route), rows in first.items():
        if (keys.service and service != keys.service) or (keys.route and route != keys.route):
            continue
        for earlier, row in itertools.pairwise(rows):
            at_s = int(row["FirstMs"]) // 1000
            if not span.from_s <= at_s < span.to_s:
                continue
            changed = (
                f"model {row['Model']}"
                if row["Model"] != earlier["Model"]
                else f"prompt version {row['PromptVersion'] or '(none)'}"
            )
            out.append({"time_s": at_s, "text": f"{service} {route}: {changed}"})
    return sorted(out, key=lambda a: a["time_s"])


def _alarm(row: Mapping[str, Any]) -> dict[str, Any]:
    detector, span_id, key = str(row["Detector"]), str(row["SpanId"]), str(row["DetectorKey"])
    score = float(row["Score"])
    return {
        "id": alarm_id(detector, span_id),
        "detector": detector,
        "key": key,
        "span_id": span_id,
        "trace_id": row["TraceId"],
        "timestamp_ns": int(row["TimestampNs"]),
        "time_s": int(row["TimestampNs"]) // _NS,
        "score": score if math.isfinite(score) else None,
        "reason": reason_in_words(str(row["Message"]), key),
        "message": row["Message"],
        "severity": row["Severity"],
        # The mean's shift since the change point (own units, 95% interval), in SDs.
        "effect": {
            "shift": float(row["EffectShift"]),
            "sd": None if row["EffectSd"] is None else float(row["EffectSd"]),  # unknown
            "low": float(row["EffectLo"]),
            "high": float(row["EffectHi"]),
            "calls_since_change": int(row["CallsSinceChange"]),
        },
        "state": row["State"],
        "state_by": row["StateBy"] or None,
        "state_at_ms": int(row["StateAtMs"]) or None,
    }


def _alarm_score(detector: str, value: float, scores: Mapping[str, float]) -> str:
    """The score of ``detector`` the alarm was raised on: the one with the alarm's value,
    else the detector's first."""
    own = sorted(name for name in scores if name.startswith(f"{detector}."))
    for name in own:
        if math.isclose(float(scores[name]), value, rel_tol=1e-9, abs_tol=1e-12):
            return name
    return own[0] if own else ""


def _call(row: Mapping[str, Any], *, full: bool = False) -> dict[str, Any]:
    """A call as pages and the API show it; ``full`` adds contexts and attributes."""
    scores = row.get("Scores") or {}
    call = {
        "trace_id": row["TraceId"],
        "span_id": row["SpanId"],
        "timestamp_ns": int(row["TimestampNs"]),
        "service": row["ServiceName"],
        "route": row["Route"],
        "model": row["Model"],
        "key": key_of(str(row["ServiceName"]), str(row["Route"]), str(row["Model"])),
        "status": row["StatusCode"],
        "error_type": row["ErrorType"],
        "duration_ms": round(int(row["Duration"]) / 1e6, 2),
        "tokens_in": int(row["InputTokens"]),
        "tokens_out": int(row["OutputTokens"]),
        "has_body": bool(int(row["HasBody"])),
        "input": row.get("InputText") or "",
        "output": row.get("OutputText") or "",
        "scores": {str(k): float(v) for k, v in sorted(scores.items())},
        # detector -> version of the model behind its scores (detectors that have one)
        "scorer_versions": {
            str(k): str(v) for k, v in sorted((row.get("ScorerVersions") or {}).items())
        },
    }
    if full:
        call |= {
            "contexts": list(row.get("Contexts") or []),
            "keep_reason": row.get("KeepReason") or "",
            "status_message": row["StatusMessage"],
            "user_id": row["UserId"],
            "conversation_id": row["ConversationId"],
            "sample_rate": float(row["SampleRate"]),
            "finish_reasons": list(row["FinishReasons"]),
            "attributes": dict(row.get("Attributes") or {}),
        }
    return call
