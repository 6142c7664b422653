"""The review workflow: claim with a lease, label on the rubric, skip, release; agreement.

Claims live in ClickHouse (``review_claims``), so a restart keeps them, and ClickHouse has
no transactions, so deciding a claim is read -> decide -> write. Within one process a lock
makes that atomic. Across replicas (several UI/API processes on one ClickHouse) a claim
is written first and then checked: the live claims on the item are ranked by when each
began (then by reviewer name), and a claim ranked beyond the item's free slots withdraws
itself. Every replica ranks the same rows the same way, so two reviewers racing for the
last slot do not both keep it — unless their clocks disagree by more than the race
window, in which case the item gets one label more than asked for. No label is lost.

A lease that runs out frees its slot; a label from a reviewer whose lease expired is
still accepted while a slot is free, and refused (409) once someone else holds it.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from watchkeeper.collector.review.agreement import (
    category_counts,
    fleiss_kappa,
    krippendorff_alpha,
)
from watchkeeper.collector.review.calibration import Calibration, calibrate
from watchkeeper.collector.review.queues import ReviewQueue, default_queues, ordered
from watchkeeper.collector.review.rubric import VERDICT_DIMENSION, VERDICTS, Rubric

if TYPE_CHECKING:
    from watchkeeper.collector.metrics import PipelineMetrics
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import Store

CLAIMED, RELEASED, SKIPPED, LABELLED = "claimed", "released", "skipped", "labelled"
_DAY_MS = 24 * 3600 * 1000


class ReviewError(Exception):
    """A review request that cannot be done; ``status`` is the HTTP status to answer."""

    status = 400


class ItemNotFoundError(ReviewError):
    """No such queue or item."""

    status = 404


class ItemConflictError(ReviewError):
    """The item is not available to this reviewer (claimed or labelled by others)."""

    status = 409


class ClaimLimitError(ItemConflictError):
    """The reviewer already holds as many items of the queue as one may hold at once."""


class InvalidLabelError(ReviewError):
    """A label does not fit the rubric."""

    status = 422


@dataclass(frozen=True)
class ReviewConfig:
    """Queues, rubric and lease length the workflow enforces."""

    queues: Mapping[str, ReviewQueue] = field(default_factory=default_queues)
    rubric: Rubric = field(default_factory=Rubric)
    lease_s: float = 900.0
    #: Items one reviewer may hold in a queue at once, so nobody can take a whole queue.
    max_claims: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewConfig:
        """The configuration ``settings`` describe."""
        return cls(
            dict(settings.review_queues),
            Rubric(settings.review_rubric),
            settings.review_lease_s,
            settings.review_max_claims,
        )

    @property
    def queue_names(self) -> list[str]:
        """Queue names, highest priority first."""
        return [name for name, _ in ordered(self.queues)]


@dataclass(frozen=True)
class Claim:
    """A reviewer's lease on an item."""

    queue: str
    span_id: str
    reviewer: str
    since_ms: int
    until_ms: int


class ReviewWorkflow:
    """What reviewers do, checked against the queue configuration and the rubric."""

    def __init__(
        self,
        store: Store,
        config: ReviewConfig | None = None,
        metrics: PipelineMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config or ReviewConfig()
        self.metrics = metrics
        self._clock = clock
        self._lock = threading.Lock()

    # --- reads ------------------------------------------------------------------------
    def now_ms(self) -> int:
        """The workflow's clock in milliseconds (injectable for tests)."""
        return int(self._clock() * 1000)

    def queue(self, name: str) -> ReviewQueue:
        """A configured queue, or ``ItemNotFoundError`` listing the queues."""
        queue = self.config.queues.get(name)
        if queue is None:
            raise ItemNotFoundError(
                f"no queue {name!r}; queues: {', '.join(self.config.queue_names)}"
            )
        return queue

    def summaries(self) -> list[dict[str, Any]]:
        """Every queue with its configuration and backlog, highest priority first."""
        counts = self.store.queue_summary(self.now_ms())
        out = []
        for name, queue in ordered(self.config.queues):
            got = counts.get(name, {})
            out.append(
                {
                    "name": name,
                    "description": queue.description,
                    "priority": queue.priority,
                    "cap_per_hour": queue.cap_per_hour,
                    "reviewers": queue.reviewers,
                    "depth": got.get("Waiting", 0),
                    "claimed": got.get("Claimed", 0),
                    "done": got.get("Done", 0),
                    "labels": got.get("Labels", 0),
                }
            )
        return out

    def depths(self) -> dict[str, int]:
        """Items still needing labels per configured queue (0 when none)."""
        depths = self.store.queue_depths()
        return {name: depths.get(name, 0) for name in self.config.queue_names}

    def pending(self, queue: str, limit: int = 50) -> list[dict[str, Any]]:
        """Items of ``queue`` still needing labels, with who holds them."""
        self.queue(queue)
        return self.store.pending_items(queue, limit, self.now_ms())

    def item(self, queue: str, span_id: str, reviewer: str | None = None) -> dict[str, Any]:
        """An item with its labels, live claims and what ``reviewer`` may do with it."""
        self.queue(queue)
        row = self.store.review_item(queue, span_id)
        if row is None:
            raise ItemNotFoundError(f"no item {span_id} in queue {queue!r}")
        now = self.now_ms()
        labels = self.store.item_labels(queue, span_id)
        claims = [
            c
            for c in self.store.item_claims(queue, span_id)
            if c["State"] == CLAIMED and int(c["UntilMs"]) > now
        ]
        mine = next((c for c in claims if c["Reviewer"] == reviewer), None)
        return {
            "item": row,
            "labels": labels,
            "claims": claims,
            "needs": max(0, int(row["RequiredLabels"]) - len(labels)),
            "my_claim_until_ms": int(mine["UntilMs"]) if mine else None,
            "my_label": next((lb for lb in labels if lb["Reviewer"] == reviewer), None),
        }

    # --- claims -----------------------------------------------------------------------
    def claim_next(self, queue: str, reviewer: str) -> Claim | None:
        """Claim the best item ``reviewer`` may take (renewing one already held), or None."""
        self.queue(queue)
        with self._lock:
            now = self.now_ms()
            for held in self.store.reviewer_claims(queue, reviewer, now):
                claim = self._try_claim(queue, str(held["SpanId"]), reviewer, now)
                if claim is not None:
                    return claim
            for span_id in self.store.claim_candidates(queue, reviewer, now):
                claim = self._try_claim(queue, span_id, reviewer, now)
                if claim is not None:
                    self._count(queue, "claim")
                    return claim
        return None

    def claim(self, queue: str, span_id: str, reviewer: str) -> Claim:
        """Claim (or renew) one item; ``ItemConflictError`` when it is not available."""
        self.queue(queue)
        with self._lock:
            claim = self._try_claim(queue, span_id, reviewer, self.now_ms(), explicit=True)
        if claim is None:
            raise ItemConflictError(f"item {span_id} is claimed or labelled by other reviewers")
        self._count(queue, "claim")
        return claim

    def release(self, queue: str, span_id: str, reviewer: str) -> bool:
        """Give an item back; False when ``reviewer`` held no live claim on it."""
        self.queue(queue)
        with self._lock:
            now = self.now_ms()
            held = self._live_claim(queue, span_id, reviewer, now)
            if held is None:
                return False
            self._put(queue, span_id, reviewer, RELEASED, now, int(held["SinceMs"]), now)
        self._count(queue, "release")
        return True

    def skip(self, queue: str, span_id: str, reviewer: str) -> None:
        """Give an item back and never offer it to ``reviewer`` again."""
        self.queue(queue)
        if self.store.review_item(queue, span_id) is None:
            raise ItemNotFoundError(f"no item {span_id} in queue {queue!r}")
        with self._lock:
            now = self.now_ms()
            self._put(queue, span_id, reviewer, SKIPPED, now, now, now)
        self._count(queue, "skip")

    # --- labels -----------------------------------------------------------------------
    def label(
        self,
        queue: str,
        span_id: str,
        reviewer: str,
        *,
        verdict: str,
        scores: Mapping[str, object],
        comment: str = "",
        corrected_answer: str = "",
    ) -> dict[str, int]:
        """Store ``reviewer``'s label; returns the stored scores.

        Labelling claims the item first when needed (so a reviewer may label without an
        explicit claim while a slot is free). Labelling again replaces one's own label.
        """
        self.queue(queue)
        if verdict not in VERDICTS:
            raise InvalidLabelError("verdict must be 'pass' or 'fail'")
        stored, problems = self.config.rubric.parse_scores(scores)
        if problems:
            raise InvalidLabelError("; ".join(problems))
        with self._lock:
            now = self.now_ms()
            item = self.store.review_item(queue, span_id)
            if item is None:
                raise ItemNotFoundError(f"no item {span_id} in queue {queue!r}")
            labels = self.store.item_labels(queue, span_id)
            relabel = any(lb["Reviewer"] == reviewer for lb in labels)
            since = now
            if not relabel:
                # A label ends the claim it makes at once: no hold to limit.
                claim = self._try_claim(queue, span_id, reviewer, now, explicit=True, limited=False)
                if claim is None:
                    raise ItemConflictError(
                        f"item {span_id} already has its labels or is claimed by other "
                        "reviewers (your claim may have expired)"
                    )
                since = claim.since_ms
            self.store.add_label(
                queue=queue,
                span_id=span_id,
                trace_id=str(item["TraceId"]),
                reviewer=reviewer,
                verdict=verdict,
                scores=stored,
                comment=comment,
                corrected_answer=corrected_answer,
                at_ms=now,
            )
            self._put(queue, span_id, reviewer, LABELLED, now, since, now)
        if self.metrics is not None:
            self.metrics.review_labels.labels(queue, verdict).inc()
            outcomes = self.metrics.review_outcomes
            outcomes.labels(queue, VERDICT_DIMENSION, verdict).inc()
            for name, value in stored.items():
                passed = self.config.rubric.dimensions[name].passed(value)
                outcomes.labels(queue, name, "pass" if passed else "fail").inc()
        return stored

    # --- agreement and pass rates -----------------------------------------------------
    def agreement(self, queue: str, since_ms: int = 0) -> list[dict[str, Any]]:
        """Agreement between reviewers per rubric dimension (and the verdict) in ``queue``.

        ``alpha`` is Krippendorff's alpha (ordinal for scores, nominal for pass/fail and
        the verdict) over every item with two or more labels; ``fleiss_kappa`` treats
        values as categories and uses the items with the most common number of labels.
        """
        self.queue(queue)
        labels = self.store.labels_since([queue], since_ms, self.now_ms() + 1)
        return self._agreement_rows(labels)

    def pass_ratios(self, window_ms: int = _DAY_MS) -> dict[tuple[str, str], float]:
        """Share of passes per (queue, dimension) over labels of the last ``window_ms``."""
        now = self.now_ms()
        names = self.config.queue_names
        tallies: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for label in self.store.labels_since(names, now - window_ms, now + 1):
            queue = str(label["Queue"])
            tally = tallies[(queue, VERDICT_DIMENSION)]
            tally[0] += label["Verdict"] == "pass"
            tally[1] += 1
            for name, value in label["Scores"].items():
                dimension = self.config.rubric.dimensions.get(name)
                if dimension is not None:
                    tally = tallies[(queue, name)]
                    tally[0] += dimension.passed(int(value))
                    tally[1] += 1
        return {key: passes / total for key, (passes, total) in tallies.items() if total}

    def agreement_alphas(self, window_ms: int = 30 * _DAY_MS) -> dict[tuple[str, str], float]:
        """Krippendorff's alpha per (queue, dimension) over labels of the last ``window_ms``."""
        now = self.now_ms()
        by_queue: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for label in self.store.labels_since(self.config.queue_names, now - window_ms, now + 1):
            by_queue[str(label["Queue"])].append(label)
        out = {}
        for queue, labels in by_queue.items():
            for row in self._agreement_rows(labels):
                if row["alpha"] is not None:
                    out[(queue, row["dimension"])] = row["alpha"]
        return out

    def calibration(self, score_key: str, dimension: str, since_ms: int = 0) -> Calibration:
        """How a per-call score separates the calls reviewers failed on ``dimension``."""
        from watchkeeper.detectors import HIGHER_IS_BETTER

        if dimension != VERDICT_DIMENSION and dimension not in self.config.rubric.dimensions:
            raise InvalidLabelError(
                f"no dimension {dimension!r}; dimensions: "
                + ", ".join([VERDICT_DIMENSION, *self.config.rubric.dimensions])
            )
        pairs = []
        for row in self.store.scored_labels(score_key, since_ms):
            if dimension == VERDICT_DIMENSION:
                failed = row["Verdict"] == "fail"
            elif dimension in row["LabelScores"]:
                value = int(row["LabelScores"][dimension])
                failed = not self.config.rubric.dimensions[dimension].passed(value)
            else:
                continue
            pairs.append((float(row["Score"]), failed))
        score_name = score_key.split(".", 1)[1]
        return calibrate(pairs, flag_below=score_name in HIGHER_IS_BETTER)

    # --- internals --------------------------------------------------------------------
    def _agreement_rows(self, labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for label in labels:
            by_item[str(label["SpanId"])].append(label)
        dimensions: list[tuple[str, str]] = [(VERDICT_DIMENSION, "nominal")]
        dimensions += [(n, d.level) for n, d in self.config.rubric.dimensions.items()]
        rows = []
        for name, level in dimensions:
            units = []
            for item_labels in by_item.values():
                if name == VERDICT_DIMENSION:
                    values = [int(lb["Verdict"] == "pass") for lb in item_labels]
                else:
                    values = [int(lb["Scores"][name]) for lb in item_labels if name in lb["Scores"]]
                if len(values) >= 2:
                    units.append(values)
            alpha = krippendorff_alpha(units, "ordinal" if level == "ordinal" else "nominal")
            rows.append(
                {
                    "dimension": name,
                    "level": level,
                    "alpha": None if alpha is None else round(alpha, 4),
                    "fleiss_kappa": _fleiss(units),
                    "items": len(units),
                    "labels": sum(len(unit) for unit in units),
                }
            )
        return rows

    def _try_claim(
        self,
        queue: str,
        span_id: str,
        reviewer: str,
        now: int,
        *,
        explicit: bool = False,
        limited: bool = True,
    ) -> Claim | None:
        """Claim or renew under the lock; None when no slot is free (or lost a race)."""
        item = self.store.review_item(queue, span_id)
        if item is None:
            if explicit:
                raise ItemNotFoundError(f"no item {span_id} in queue {queue!r}")
            return None
        required = int(item["RequiredLabels"])
        labels = self.store.item_labels(queue, span_id)
        if any(lb["Reviewer"] == reviewer for lb in labels):
            if explicit:
                raise ItemConflictError(f"you already labelled item {span_id}")
            return None
        free = required - len(labels)
        held = self._live_claim(queue, span_id, reviewer, now)
        since = int(held["SinceMs"]) if held else now
        if held is None:
            if limited:
                self._check_claim_limit(queue, reviewer, now)
            others = self._live_claims(queue, span_id, now)
            if len(others) >= free:
                return None
        until = now + int(self.config.lease_s * 1000)
        self._put(queue, span_id, reviewer, CLAIMED, now, since, until)
        if held is None:
            # Write, then check: across replicas, the earliest claims keep the free slots.
            ranked = sorted(
                self._live_claims(queue, span_id, now),
                key=lambda c: (int(c["SinceMs"]), str(c["Reviewer"])),
            )
            winners = {str(c["Reviewer"]) for c in ranked[: max(free, 0)]}
            if reviewer not in winners:
                self._put(queue, span_id, reviewer, RELEASED, now, since, now)
                return None
        return Claim(queue, span_id, reviewer, since, until)

    def _check_claim_limit(self, queue: str, reviewer: str, now: int) -> None:
        holding = len(self.store.reviewer_claims(queue, reviewer, now))
        if holding >= self.config.max_claims:
            raise ClaimLimitError(
                f"you hold {holding} items of queue {queue!r} (the most one reviewer may hold "
                "at once): label or release some first"
            )

    def _live_claims(self, queue: str, span_id: str, now: int) -> list[dict[str, Any]]:
        return [
            c
            for c in self.store.item_claims(queue, span_id)
            if c["State"] == CLAIMED and int(c["UntilMs"]) > now
        ]

    def _live_claim(
        self, queue: str, span_id: str, reviewer: str, now: int
    ) -> dict[str, Any] | None:
        return next(
            (c for c in self._live_claims(queue, span_id, now) if c["Reviewer"] == reviewer),
            None,
        )

    def _put(  # noqa: PLR0917 - a claim row is these seven values; a private helper
        self, queue: str, span_id: str, reviewer: str, state: str, at: int, since: int, until: int
    ) -> None:
        self.store.put_claim(
            queue=queue,
            span_id=span_id,
            reviewer=reviewer,
            state=state,
            at_ms=at,
            since_ms=since,
            until_ms=until,
        )

    def _count(self, queue: str, action: str) -> None:
        if self.metrics is not None:
            self.metrics.review_actions.labels(queue, action).inc()


def _fleiss(units: list[list[int]]) -> float | None:
    """Fleiss' kappa over the items with the most common number of labels (>= 2)."""
    if not units:
        return None
    sizes: defaultdict[int, int] = defaultdict(int)
    for unit in units:
        sizes[len(unit)] += 1
    size = max(sizes, key=lambda n: (sizes[n], n))
    kappa = fleiss_kappa(category_counts([u for u in units if len(u) == size]))
    return None if kappa is None else round(kappa, 4)
