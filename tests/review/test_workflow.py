"""The review workflow on a real store: claims with leases, labels, skips, agreement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.review.conftest import FakeClock
from tests.review.support import record
from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.review.agreement import krippendorff_alpha
from watchkeeper.collector.review.queues import ReviewQueue
from watchkeeper.collector.review.workflow import (
    InvalidLabelError,
    ItemConflictError,
    ItemNotFoundError,
    ReviewConfig,
    ReviewWorkflow,
)
from watchkeeper.collector.scores import BatchScores
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.store import Store, WriteBatch

LEASE_S = 600.0


def _setup(
    store: Store, n: int, *, reviewers: int = 1, clock: FakeClock | None = None
) -> tuple[ReviewWorkflow, list[str]]:
    """``n`` items in queue ``q`` (item i has priority i), and a workflow over them."""
    queues = {"q": ReviewQueue.model_validate({"reviewers": reviewers, "when": [{"error": True}]})}
    router = ReviewRouter(queues)
    calls = [record(i, error=True) for i in range(n)]
    items = router.route(calls, {}, {}).items
    for index, item in enumerate(items):
        item["Priority"] = index
    store.write(WriteBatch(review_items=items))
    workflow = ReviewWorkflow(
        store, ReviewConfig(queues, lease_s=LEASE_S), PipelineMetrics(), clock or FakeClock()
    )
    return workflow, [c.span_id for c in calls]


def _label(workflow: ReviewWorkflow, span: str, who: str, **kwargs: Any) -> dict[str, int]:
    kwargs.setdefault("verdict", "pass")
    kwargs.setdefault("scores", {})
    return workflow.label("q", span, who, **kwargs)


def test_claims_go_by_priority_and_are_exclusive(store: Store) -> None:
    """The highest-priority item is claimed first; another reviewer gets the next one."""
    workflow, spans = _setup(store, 2)
    first = workflow.claim_next("q", "ana")
    second = workflow.claim_next("q", "bo")
    assert first is not None
    assert second is not None
    assert (first.span_id, second.span_id) == (spans[1], spans[0])
    assert workflow.claim_next("q", "cy") is None


def test_claiming_again_renews_the_same_item(store: Store) -> None:
    """A reviewer who asks again gets the item they hold, with a fresh lease."""
    clock = FakeClock()
    workflow, _ = _setup(store, 2, clock=clock)
    first = workflow.claim_next("q", "ana")
    clock.advance(60)
    again = workflow.claim_next("q", "ana")
    assert first is not None
    assert again is not None
    assert again.span_id == first.span_id
    assert again.since_ms == first.since_ms
    assert again.until_ms == first.until_ms + 60_000


def test_an_expired_lease_frees_the_item(store: Store) -> None:
    """After the lease, another reviewer may claim it; the first one's label is refused."""
    clock = FakeClock()
    workflow, spans = _setup(store, 1, clock=clock)
    assert workflow.claim_next("q", "ana") is not None
    assert workflow.claim_next("q", "bo") is None
    clock.advance(LEASE_S + 1)
    taken = workflow.claim_next("q", "bo")
    assert taken is not None
    assert taken.span_id == spans[0]
    with pytest.raises(ItemConflictError, match="expired"):
        _label(workflow, spans[0], "ana")
    _label(workflow, spans[0], "bo")
    assert store.queue_depths() == {}


def test_a_label_after_the_lease_is_kept_while_nobody_else_claimed(store: Store) -> None:
    """An expired lease is not a lost label: with the slot still free, it is accepted."""
    clock = FakeClock()
    workflow, spans = _setup(store, 1, clock=clock)
    workflow.claim_next("q", "ana")
    clock.advance(LEASE_S * 3)
    _label(workflow, spans[0], "ana", verdict="fail")
    assert [lb["Reviewer"] for lb in store.item_labels("q", spans[0])] == ["ana"]


def test_skip_hides_an_item_from_one_reviewer_only(store: Store) -> None:
    """A skipped item is not offered to that reviewer again, but is to others."""
    workflow, spans = _setup(store, 1)
    claim = workflow.claim_next("q", "ana")
    assert claim is not None
    workflow.skip("q", claim.span_id, "ana")
    assert workflow.claim_next("q", "ana") is None
    other = workflow.claim_next("q", "bo")
    assert other is not None
    assert other.span_id == spans[0]


def test_release_gives_the_item_back(store: Store) -> None:
    """A released item can be claimed by someone else at once; releasing twice is a no-op."""
    workflow, spans = _setup(store, 1)
    workflow.claim_next("q", "ana")
    assert workflow.release("q", spans[0], "ana") is True
    assert workflow.release("q", spans[0], "ana") is False
    assert workflow.claim_next("q", "bo") is not None


def test_an_item_wanting_two_labels_stays_until_both_are_given(store: Store) -> None:
    """With reviewers = 2, two reviewers hold it at once, a third does not, and it leaves
    the backlog after the second label. Labelling again replaces one's own label."""
    workflow, spans = _setup(store, 1, reviewers=2)
    assert workflow.claim_next("q", "ana") is not None
    assert workflow.claim_next("q", "bo") is not None
    assert workflow.claim_next("q", "cy") is None
    _label(workflow, spans[0], "ana")
    assert store.queue_depths() == {"q": 1}
    _label(workflow, spans[0], "bo", verdict="fail")
    assert store.queue_depths() == {}
    _label(workflow, spans[0], "bo", verdict="pass", comment="on reflection, fine")
    labels = store.item_labels("q", spans[0])
    assert sorted((lb["Reviewer"], lb["Verdict"]) for lb in labels) == [
        ("ana", "pass"),
        ("bo", "pass"),
    ]
    with pytest.raises(ItemConflictError):
        workflow.claim("q", spans[0], "cy")


def test_labels_are_checked_against_the_rubric(store: Store) -> None:
    """Unknown dimensions, out-of-range scores and bad verdicts are refused with reasons."""
    workflow, spans = _setup(store, 1)
    with pytest.raises(InvalidLabelError, match="tone must be between 1 and 5"):
        _label(workflow, spans[0], "ana", scores={"tone": 7})
    with pytest.raises(InvalidLabelError, match="safety must be 'pass' or 'fail'"):
        _label(workflow, spans[0], "ana", scores={"safety": 3})
    with pytest.raises(InvalidLabelError, match="verdict"):
        _label(workflow, spans[0], "ana", verdict="maybe")
    stored = _label(workflow, spans[0], "ana", scores={"tone": 4, "safety": "fail"})
    assert stored == {"tone": 4, "safety": 0}


def test_unknown_queues_and_items_are_not_found(store: Store) -> None:
    """Asking for a queue that is not configured, or an item not in it, is a 404."""
    workflow, _ = _setup(store, 1)
    with pytest.raises(ItemNotFoundError, match="queues: q"):
        workflow.claim_next("nope", "ana")
    with pytest.raises(ItemNotFoundError):
        workflow.claim("q", "0123456789abcdef", "ana")


def test_claims_survive_a_restart(store: Store, tmp_path: Path) -> None:
    """Claims are stored: after reopening the store the holder keeps the item."""
    workflow, spans = _setup(store, 1)
    workflow.claim_next("q", "ana")
    config = workflow.config
    store.close()
    reopened = Store(ChdbBackend(tmp_path / "chdb"))
    try:
        restarted = ReviewWorkflow(reopened, config, clock=FakeClock())
        assert restarted.claim_next("q", "bo") is None
        held = restarted.claim_next("q", "ana")
        assert held is not None
        assert held.span_id == spans[0]
    finally:
        reopened.close()


class _RacingStore:
    """A store through which another replica's claim lands just before ours."""

    def __init__(self, store: Store, rival: str, span_id: str, since_ms: int) -> None:
        self._store, self._rival, self._span, self._since = store, rival, span_id, since_ms
        self._raced = False

    def put_claim(self, **row: Any) -> None:
        if not self._raced and row["state"] == "claimed":
            self._raced = True
            self._store.put_claim(
                queue=row["queue"],
                span_id=self._span,
                reviewer=self._rival,
                state="claimed",
                at_ms=self._since,
                since_ms=self._since,
                until_ms=self._since + 600_000,
            )
        self._store.put_claim(**row)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_claim_that_lost_a_race_with_another_replica_withdraws(store: Store) -> None:
    """Two replicas granting the last slot at once: the earlier claim keeps it, the later
    one releases itself, so the item is worked on once."""
    clock = FakeClock()
    _, spans = _setup(store, 1, clock=clock)
    config = ReviewConfig(
        {"q": ReviewQueue.model_validate({"when": [{"error": True}]})}, lease_s=LEASE_S
    )
    racing = _RacingStore(store, "ana", spans[0], int(clock() * 1000) - 5)
    replica = ReviewWorkflow(racing, config, clock=clock)  # type: ignore[arg-type]
    assert replica.claim_next("q", "bo") is None
    states = {c["Reviewer"]: c["State"] for c in store.item_claims("q", spans[0])}
    assert states == {"ana": "claimed", "bo": "released"}


def test_agreement_per_dimension_matches_krippendorff(store: Store) -> None:
    """Per-queue agreement is Krippendorff's alpha of the stored labels, per dimension."""
    workflow, spans = _setup(store, 3, reviewers=2)
    ana, bo = [5, 3, 1], [4, 3, 2]
    for span, a, b in zip(spans, ana, bo, strict=True):
        _label(workflow, span, "ana", scores={"helpfulness": a}, verdict="pass")
        _label(workflow, span, "bo", scores={"helpfulness": b}, verdict="pass" if b > 2 else "fail")
    rows = {row["dimension"]: row for row in workflow.agreement("q")}
    expected = krippendorff_alpha([[a, b] for a, b in zip(ana, bo, strict=True)], "ordinal")
    assert expected is not None
    assert rows["helpfulness"]["alpha"] == round(expected, 4)
    assert rows["helpfulness"]["items"] == 3
    assert rows["verdict"]["level"] == "nominal"
    assert rows["tone"]["alpha"] is None  # nobody scored tone
    alphas = workflow.agreement_alphas()
    assert alphas[("q", "helpfulness")] == rows["helpfulness"]["alpha"]


def test_pass_ratios_per_dimension(store: Store) -> None:
    """Pass ratios count verdicts and each dimension against its pass threshold."""
    workflow, spans = _setup(store, 2)
    _label(workflow, spans[0], "ana", scores={"tone": 4, "safety": "pass"}, verdict="pass")
    _label(workflow, spans[1], "ana", scores={"tone": 2, "safety": "pass"}, verdict="fail")
    assert workflow.pass_ratios() == {
        ("q", "verdict"): 0.5,
        ("q", "tone"): 0.5,
        ("q", "safety"): 1.0,
    }
    exposition = workflow.metrics.exposition().decode()  # type: ignore[union-attr]
    assert (
        'watchkeeper_review_dimension_outcomes_total{dimension="tone",outcome="fail",queue="q"} 1.0'
        in exposition
    )
    assert 'watchkeeper_review_labels_total{queue="q",verdict="fail"} 1.0' in exposition


def test_calibration_finds_the_threshold_reviewers_agree_with(store: Store) -> None:
    """Detector scores beside reviewer verdicts suggest the threshold that separates them."""
    workflow, spans = _setup(store, 4)
    scores = [0.1, 0.3, 0.7, 0.9]
    calls = [record(i, error=True) for i in range(4)]
    assert [c.span_id for c in calls] == spans
    store.write(
        WriteBatch(
            scores=BatchScores.of(
                calls,
                {
                    call.span_id: {"faithfulness_drift.faithfulness": score}
                    for call, score in zip(calls, scores, strict=True)
                },
            )
        )
    )
    for span, score in zip(spans, scores, strict=True):
        _label(workflow, span, "ana", verdict="fail" if score < 0.5 else "pass")
    result = workflow.calibration("faithfulness_drift.faithfulness", "verdict")
    assert result.flag_below
    assert result.suggested is not None
    assert (result.suggested.threshold, result.suggested.f1) == (0.7, 1.0)
