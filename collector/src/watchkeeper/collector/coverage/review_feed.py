"""The most novel production inputs, put where the eval team looks: the queues with a
``feed = "coverage"`` rule (the built-in ``coverage`` queue). Each call is sent once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from watchkeeper.collector.review.feed_items import feed_rules, rule_priority, stored_call_item
from watchkeeper.collector.store.store import WriteBatch

if TYPE_CHECKING:
    from watchkeeper.collector.coverage.report import RouteCoverage
    from watchkeeper.collector.review.queues import ReviewQueue
    from watchkeeper.collector.store.store import Store

#: Inputs sent per route each time coverage is computed: the most novel first.
INPUTS_PER_ROUTE: Final = 20
_MAX_REMEMBERED: Final = 100_000


class CoverageReviewFeed:
    """Sends the least covered inputs of each route to the ``coverage`` feed's queues."""

    def __init__(
        self, store: Store, queues: Mapping[str, ReviewQueue], per_route: int = INPUTS_PER_ROUTE
    ) -> None:
        self.store = store
        self.per_route = per_route
        self.rules = feed_rules(queues, "coverage")
        self._sent: set[str] = set()

    def send(self, found: RouteCoverage) -> int:
        """Enqueue up to ``per_route`` of the route's novel inputs not sent before."""
        fresh = [(n, row) for n, row in found.novel if str(row["SpanId"]) not in self._sent]
        items = [
            stored_call_item(
                row,
                queue=name,
                # Rounded so the reason stays a small set of values (a low-cardinality column).
                reason=f"novelty:{novelty:.1f}",
                priority=rule_priority(queue, rule),
                reviewers=queue.reviewers,
            )
            for novelty, row in fresh[: self.per_route]
            for name, queue, rule in self.rules
            if rule.applies_to(str(row["Route"]), str(row["Model"] or ""), str(row["ServiceName"]))
        ]
        if items:
            self.store.write(WriteBatch(review_items=items))
        if len(self._sent) >= _MAX_REMEMBERED:
            self._sent.clear()
        self._sent.update(str(row["SpanId"]) for _, row in fresh[: self.per_route])
        return len(items)
