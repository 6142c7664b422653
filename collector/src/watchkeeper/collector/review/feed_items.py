"""What a review feed (``feed = "..."`` rules: coverage, versions) writes: the queues
that take the feed, and the ``review_items`` row of a stored call it sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from watchkeeper.collector.settings.review_queues import ReviewQueue, RouteRule

#: ``(queue name, queue, rule)``: one rule of one queue.
FeedRule = tuple[str, ReviewQueue, RouteRule]
_NS: Final = 1_000_000_000


def feed_rules(queues: Mapping[str, ReviewQueue], feed: str) -> list[FeedRule]:
    """Every rule of ``queues`` that takes ``feed``, with its queue.

    >>> from watchkeeper.collector.review.queues import default_queues
    >>> [(name, rule.feed) for name, _, rule in feed_rules(default_queues(), "versions")]
    [('versions', 'versions')]
    """
    return [
        (name, queue, rule)
        for name, queue in queues.items()
        for rule in queue.when
        if rule.feed == feed
    ]


def rule_priority(queue: ReviewQueue, rule: RouteRule) -> int:
    """The rule's priority where it sets one, else the queue's."""
    return queue.priority if rule.priority is None else rule.priority


def stored_call_item(
    row: Mapping[str, Any], *, queue: str, reason: str, priority: int, reviewers: int
) -> dict[str, Any]:
    """The ``review_items`` row that sends a stored call (a row of the store's calls
    reads: ``TimestampNs``, ``TraceId``, ``SpanId``, ``ServiceName``, ``Route``,
    ``Model``, ``InputText``, ``OutputText``, ``Contexts``) to ``queue``."""
    ns = int(row["TimestampNs"])
    return {
        "Timestamp": f"{ns // _NS}.{ns % _NS:09d}",
        "Queue": queue,
        "TraceId": row["TraceId"],
        "SpanId": row["SpanId"],
        "ServiceName": row["ServiceName"],
        "Route": row["Route"],
        "Reason": reason,
        "Priority": priority,
        "Model": row["Model"] or "",
        "InputText": row["InputText"],
        "OutputText": row["OutputText"],
        "Contexts": row["Contexts"],
        "RequiredLabels": reviewers,
    }
