"""Review queues in the order reviewers work them.

Queues and their routing rules are configuration (``review_queues``): their models live
with the settings (:mod:`watchkeeper.collector.settings.review_queues`).
"""

from __future__ import annotations

from collections.abc import Mapping

from watchkeeper.collector.settings.review_queues import (
    DEFAULT_QUEUES,
    NEGATIVE_FEEDBACK_LABELS,
    QUEUE_NAME_PATTERN,
    ReviewQueue,
    RouteRule,
    default_queues,
    merge_queues,
)

__all__ = [
    "DEFAULT_QUEUES",
    "NEGATIVE_FEEDBACK_LABELS",
    "QUEUE_NAME_PATTERN",
    "ReviewQueue",
    "RouteRule",
    "default_queues",
    "merge_queues",
    "ordered",
]


def ordered(queues: Mapping[str, ReviewQueue]) -> list[tuple[str, ReviewQueue]]:
    """Queues by priority, highest first (name breaks ties, so the order is stable).

    >>> [name for name, _ in ordered(default_queues())][:3]
    ['safety', 'feedback', 'alarms']
    """
    return sorted(queues.items(), key=lambda kv: (-kv[1].priority, kv[0]))
