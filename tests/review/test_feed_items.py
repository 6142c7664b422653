"""The review item a feed (coverage, versions) writes for a stored call."""

from __future__ import annotations

from watchkeeper.collector.review.feed_items import feed_rules, rule_priority, stored_call_item
from watchkeeper.collector.review.queues import ReviewQueue, RouteRule

ROW = {
    "TimestampNs": 1_700_000_000_000_000_042,
    "TraceId": "a" * 32,
    "SpanId": "b" * 16,
    "ServiceName": "shop",
    "Route": "support",
    "Model": None,
    "InputText": "How much is Plus?",
    "OutputText": "9 dollars.",
    "Contexts": ["Plus costs 9 dollars."],
}


def test_a_stored_call_becomes_a_review_item_of_the_queue() -> None:
    """The call's time as ``seconds.nanoseconds`` text, its ids and texts, a missing model
    as "", and the queue, reason, priority and reviewers given."""
    item = stored_call_item(ROW, queue="coverage", reason="novelty:0.9", priority=7, reviewers=2)
    assert item == {
        "Timestamp": "1700000000.000000042",
        "Queue": "coverage",
        "TraceId": "a" * 32,
        "SpanId": "b" * 16,
        "ServiceName": "shop",
        "Route": "support",
        "Reason": "novelty:0.9",
        "Priority": 7,
        "Model": "",
        "InputText": "How much is Plus?",
        "OutputText": "9 dollars.",
        "Contexts": ["Plus costs 9 dollars."],
        "RequiredLabels": 2,
    }


def test_a_rule_priority_overrides_the_queues() -> None:
    """Only the rules of the feed are taken; a rule's own priority wins over its queue's."""
    queue = ReviewQueue(
        priority=5,
        when=[RouteRule(feed="coverage"), RouteRule(feed="coverage", priority=9),
              RouteRule(feed="versions")],
    )  # fmt: skip
    rules = feed_rules({"q": queue}, "coverage")
    assert [rule_priority(q, rule) for _, q, rule in rules] == [5, 9]
