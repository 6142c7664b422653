"""Bounds that keep review usable under abuse: the random queue's overall cap per window,
and how many items one reviewer may hold at once."""

from __future__ import annotations

import pytest

from tests.review.conftest import FakeClock
from tests.review.support import record
from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.review.queues import ReviewQueue
from watchkeeper.collector.review.workflow import (
    ClaimLimitError,
    ReviewConfig,
    ReviewWorkflow,
)
from watchkeeper.collector.store.store import Store, WriteBatch

WINDOW_NS = 60 * 10**9


def _call(i: int, route: str, window: int = 0) -> CallRecord:
    return CallRecord(f"{i * 7919:032x}", f"{i:016x}", window * WINDOW_NS + i, 0, route=route)


def test_many_routes_cannot_flood_the_random_queue() -> None:
    """8,000 calls on 8,000 unique routes in one window give at most ``max_per_window``
    picks, the ones with the smallest hashes over all routes; a window's cap also holds
    across several releases of it."""
    reservoir = ReviewReservoir(size=10, window_s=60, max_per_window=50, max_open=100)
    calls = [_call(i, f"junk-{i}") for i in range(8000)]
    for call in calls:
        reservoir.offer(call)
    picked = reservoir.drain()
    assert len(picked) == 50
    assert len({c.span_id for c in picked}) == 50
    # A window released early (max_open overflow) then again still stays within its cap.
    for i in range(8000, 8100):
        reservoir.offer(_call(i, f"late-{i}", window=1))
    keys, first = reservoir.due()
    reservoir.release(keys)
    assert len(first) + len(reservoir.drain()) <= 50


def test_the_cap_leaves_ordinary_traffic_alone() -> None:
    """Below the cap, each route still gets its own ``size`` picks, in the old order."""
    capped = ReviewReservoir(size=3, window_s=60, max_per_window=100)
    free = ReviewReservoir(size=3, window_s=60, max_per_window=10**9)
    for i in range(300):
        call = _call(i, f"route-{i % 5}")
        capped.offer(call)
        free.offer(call)
    assert [c.span_id for c in capped.drain()] == [c.span_id for c in free.drain()]


def test_a_store_failure_does_not_use_up_the_cap() -> None:
    """Picks handed out but not stored (unmark) do not count against the window's cap."""
    reservoir = ReviewReservoir(size=5, window_s=60, grace_s=0, max_per_window=5)
    for i in range(20):
        reservoir.offer(_call(i, f"r{i}"))
    reservoir.offer(_call(99, "r-late", window=3))
    keys, picked = reservoir.due()
    assert len(picked) == 5
    reservoir.unmark(keys)
    keys, again = reservoir.due()
    assert [c.span_id for c in again] == [c.span_id for c in picked]


def _queue_of(store: Store, n: int, *, max_claims: int) -> tuple[ReviewWorkflow, list[str]]:
    queues = {"q": ReviewQueue.model_validate({"reviewers": 1, "when": [{"error": True}]})}
    calls = [record(i, error=True) for i in range(n)]
    store.write(WriteBatch(review_items=ReviewRouter(queues).route(calls, {}, {}).items))
    config = ReviewConfig(queues, max_claims=max_claims)
    return ReviewWorkflow(store, config, PipelineMetrics(), FakeClock()), [c.span_id for c in calls]


def test_one_reviewer_cannot_hold_a_whole_queue(store: Store) -> None:
    """Claims beyond the per-reviewer limit are refused with a 409 that says what to do;
    renewing a held item, other reviewers, and labelling directly still work."""
    workflow, spans = _queue_of(store, 8, max_claims=3)
    for span in spans[:3]:
        workflow.claim("q", span, "ana")
    with pytest.raises(ClaimLimitError, match="label or release some first") as refused:
        workflow.claim("q", spans[3], "ana")
    assert refused.value.status == 409
    workflow.claim("q", spans[0], "ana")  # renewal
    next_one = workflow.claim_next("q", "ana")
    assert next_one is not None
    assert next_one.span_id in spans[:3]  # a held item, not a fourth
    assert workflow.claim("q", spans[3], "bo").reviewer == "bo"
    workflow.label("q", spans[4], "ana", verdict="pass", scores={})
    workflow.release("q", spans[0], "ana")
    workflow.claim("q", spans[5], "ana")
