"""The calls that show a regression, put where reviewers look: the queues with a
``feed = "versions"`` rule (the built-in ``versions`` queue).

When the live comparison finds a candidate version regressed on a route, its worst-scoring
calls that kept their texts go to those queues, once per regression (the
same regression seen at the next scrape adds nothing).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from watchkeeper.collector.review.feed_items import feed_rules, rule_priority, stored_call_item
from watchkeeper.collector.store.monitoring import MonitoringStore
from watchkeeper.collector.store.store import WriteBatch

if TYPE_CHECKING:
    from watchkeeper.collector.review.queues import ReviewQueue
    from watchkeeper.collector.store.store import Store

#: Calls sent per regression: enough to see the pattern, few enough to review.
CALLS_PER_REGRESSION: Final = 20
_NS: Final = 1_000_000_000
_MAX_REMEMBERED: Final = 10_000


class VersionReviewFeed:
    """Sends the worst calls of regressed candidates to the ``versions`` feed's queues."""

    def __init__(
        self,
        store: Store,
        queues: Mapping[str, ReviewQueue],
        per_regression: int = CALLS_PER_REGRESSION,
    ) -> None:
        self.store = store
        self.per_regression = per_regression
        self.rules = feed_rules(queues, "versions")
        self._sent: set[tuple[str, ...]] = set()

    @property
    def wanted(self) -> int:
        """How many worst calls a comparison should list (0 when no queue takes them)."""
        return 3 * self.per_regression if self.rules else 0

    def send(self, verdict: Mapping[str, Any], since_ns: int) -> int:
        """Enqueue the worst calls of a ``regressed`` verdict (of ``compare_stored``);
        returns how many items were written."""
        key = tuple(str(verdict[k]) for k in ("route", "dimension", "baseline", "candidate"))
        key += (str(verdict["score"]),)
        if verdict["verdict"] != "regressed" or not self.rules or key in self._sent:
            return 0
        worst = [str(c["span_id"]) for c in verdict["worst_candidate_calls"]]
        rows = MonitoringStore(self.store).calls_by_id(worst, since_ns, time.time_ns() + _NS)
        by_id = {str(row["SpanId"]): row for row in rows if int(row["HasBody"])}
        calls = [by_id[span] for span in worst if span in by_id][: self.per_regression]
        reason = f"version:{verdict['candidate']}<{verdict['baseline']}"
        items = [
            stored_call_item(
                call,
                queue=name,
                reason=reason,
                priority=rule_priority(queue, rule),
                reviewers=queue.reviewers,
            )
            for call in calls
            for name, queue, rule in self.rules
            if rule.applies_to(str(call["Route"]), str(call["Model"]), str(call["ServiceName"]))
        ]
        if items:
            self.store.write(WriteBatch(review_items=items))
        if len(self._sent) >= _MAX_REMEMBERED:
            self._sent.clear()
        self._sent.add(key)
        return len(items)
