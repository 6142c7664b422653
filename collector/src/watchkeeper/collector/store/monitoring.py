"""Reads and writes of the web UI's overview, alarms and calls pages, over a :class:`Store`.

Apart from ``store.py`` so the pipeline's store stays about the pipeline; the SQL is in
``monitoring_queries.py``, the tables in migration ``0010_monitoring.sql``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watchkeeper.collector.store import monitoring_queries as q
from watchkeeper.collector.store.store import Store, WriteBatch

#: Filters of the calls search, in the order their SQL is added.
REVIEW_STATES = ("in_review", "labelled", "not_reviewed")
#: Buckets of at least an hour read the hourly rollups (migration 0011).
HOURLY_FROM_S = 3600


def _rollup(sql: str, step_s: int) -> str:
    """``sql`` on the hourly rollups when buckets are an hour or longer."""
    if step_s < HOURLY_FROM_S:
        return sql
    return sql.replace("{db}.calls_minutely", "{db}.calls_hourly").replace(
        "{db}.scores_minutely", "{db}.scores_hourly"
    )


@dataclass(frozen=True)
class KeyFilter:
    """Which service, route and model to show; an empty field means any."""

    service: str = ""
    route: str = ""
    model: str = ""

    def params(self) -> dict[str, str]:
        """The bound parameters of the queries' key filter."""
        return {"service": self.service, "route": self.route, "model": self.model}


@dataclass(frozen=True)
class CallSearch:
    """What the calls explorer looks for, besides time and key."""

    errors: bool = False
    score: str = ""
    score_min: float = float("-inf")
    score_max: float = float("inf")
    text: str = ""
    #: one of ``REVIEW_STATES``, or empty for any
    review: str = ""


class MonitoringStore:
    """The overview's rollups, alarms with their state, and calls by search or id."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- overview (rollups) ----------------------------------------------------------
    def traffic_series(
        self, from_s: int, to_s: int, step_s: int, keys: KeyFilter
    ) -> list[dict[str, Any]]:
        """Calls, errors, tokens and latency quantiles per ``step_s`` bucket and key."""
        return self.store.select(
            _rollup(q.TRAFFIC_SERIES, step_s),
            from_s=from_s,
            to_s=to_s,
            step_s=step_s,
            **keys.params(),
        )

    def traffic_by_key(
        self, from_s: int, to_s: int, keys: KeyFilter, limit: int = 100, step_s: int = 60
    ) -> list[dict[str, Any]]:
        """The same over the whole range per key, busiest first (from the hourly rollups,
        whole hours, when ``step_s`` is an hour or more)."""
        return self.store.select(
            _rollup(q.TRAFFIC_BY_KEY, step_s),
            from_s=from_s,
            to_s=to_s,
            limit=limit,
            **keys.params(),
        )

    def score_series(
        self, from_s: int, to_s: int, step_s: int, keys: KeyFilter
    ) -> list[dict[str, Any]]:
        """Every score's mean, lowest and highest per bucket and key."""
        return self.store.select(
            _rollup(q.SCORE_SERIES, step_s),
            from_s=from_s,
            to_s=to_s,
            step_s=step_s,
            **keys.params(),
        )

    def keys_seen(self, from_s: int, to_s: int, step_s: int = 60) -> list[dict[str, Any]]:
        """(ServiceName, Route, Model) of the calls in a range."""
        return self.store.select(_rollup(q.KEYS_SEEN, step_s), from_s=from_s, to_s=to_s)

    def versions(self) -> list[dict[str, Any]]:
        """Every (service, route, model, prompt version) with first and last seen (ms)."""
        return self.store.select(q.VERSIONS)

    # --- alarms ----------------------------------------------------------------------
    def alarms(
        self,
        from_ns: int,
        to_ns: int,
        keys: KeyFilter,
        *,
        detector: str = "",
        state: str = "",
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Alarms in ``[from_ns, to_ns)``, newest first, with their state."""
        return self.store.select(
            q.ALARMS,
            from_ns=from_ns,
            to_ns=to_ns,
            detector=detector,
            state=state,
            limit=limit,
            **keys.params(),
        )

    def alarm(self, detector: str, span_id: str) -> dict[str, Any] | None:
        """One alarm with its state; None when there is none."""
        rows = self.store.select(q.ALARM, detector=detector, span_id=span_id)
        return rows[0] if rows else None

    def alarms_for_call(self, span_id: str) -> list[dict[str, Any]]:
        """Alarms raised on one call."""
        return self.store.select(q.ALARMS_FOR_CALL, span_id=span_id)

    def worst_around(
        self,
        *,
        key: str,
        score: str,
        span_id: str,
        from_ns: int,
        to_ns: int,
        higher_is_worse: bool,
        limit: int = 20,
    ) -> list[dict[str, Any]]:
        """Calls of detector key ``key`` in a time window other than ``span_id``, worst
        ``score`` first."""
        return self.store.select(
            q.WORST_AROUND,
            key=key,
            score=score,
            span_id=span_id,
            from_ns=from_ns,
            to_ns=to_ns,
            sign=1 if higher_is_worse else -1,
            limit=limit,
        )

    # --- audit log -------------------------------------------------------------------
    def record_action(self, *, actor: str, action: str, target: str, detail: str = "") -> int:
        """Keep what someone did in the UI; returns its time (epoch ms)."""
        at_ms = time.time_ns() // 1_000_000
        self.store.backend.insert_rows(
            f"{self.store.database}.ui_actions",
            [
                {
                    "At": f"{at_ms // 1000}.{at_ms % 1000:03d}",
                    "Actor": actor,
                    "Action": action,
                    "Target": target,
                    "Detail": detail,
                }
            ],
        )
        return at_ms

    def actions(self, target: str) -> list[dict[str, Any]]:
        """Every recorded action on ``target``, oldest first."""
        return self.store.select(q.ACTIONS, target=target)

    # --- calls -----------------------------------------------------------------------
    def search_calls(
        self,
        from_ns: int,
        to_ns: int,
        keys: KeyFilter,
        search: CallSearch,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Calls in ``[from_ns, to_ns)`` matching ``keys`` and ``search``, newest first."""
        parts = []
        if search.errors:
            parts.append(q.CALL_FILTERS["errors"])
        if search.score:
            parts.append(q.CALL_FILTERS["score"])
        if search.text:
            parts.append(q.CALL_FILTERS["text"])
        if search.review:
            if search.review not in REVIEW_STATES:
                raise ValueError(f"review state must be one of {', '.join(REVIEW_STATES)}")
            parts.append(q.CALL_FILTERS[search.review])
        sql = q.CALL_SEARCH.replace("{filters}", "\n  ".join(parts))
        params: dict[str, Any] = {"from_ns": from_ns, "to_ns": to_ns, "limit": limit}
        params |= keys.params()
        if search.score:
            params |= {
                "score": search.score,
                "score_min": max(search.score_min, -1e300),
                "score_max": min(search.score_max, 1e300),
            }
        if search.text:
            params["text"] = search.text
        return self.store.select(sql, **params)

    def calls_by_id(
        self, span_ids: Sequence[str], from_ns: int, to_ns: int
    ) -> list[dict[str, Any]]:
        """Full rows (texts and scores) of ``span_ids`` started in ``[from_ns, to_ns)``."""
        if not span_ids:
            return []
        return self.store.select(
            q.CALLS_BY_ID, span_ids=",".join(span_ids), from_ns=from_ns, to_ns=to_ns
        )

    def call_review(self, span_id: str) -> list[dict[str, Any]]:
        """The queues a call is in, with its labels there."""
        return self.store.select(q.CALL_REVIEW, span_id=span_id)

    def enqueue(self, item: Mapping[str, Any]) -> None:
        """Add a ``review_items`` row (a call sent to a queue by hand)."""
        self.store.write(WriteBatch(review_items=[dict(item)]))
