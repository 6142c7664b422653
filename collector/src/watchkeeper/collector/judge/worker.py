"""The judge workers beside the pipeline: a bounded queue per judge, threads that drain
it, and what they write back.

The pipeline hands over a batch's calls after the batch is stored (:meth:`JudgeWorkers.
offer`, a few microseconds per call, never blocking: a full queue drops the call and
counts it; a call the judge's spent budget cannot pay for is counted and dropped there,
before any task is made). Each judge's threads (``concurrency``) block on its queue, take
calls from it, reuse verdicts of the same texts (the cache: judge, prompt version, content
hash, held in memory and filled from the store at start, :mod:`.cache`), ask the endpoint
for the rest, and hand the outcome to one writer (:mod:`.writer`), which writes verdicts
to ``judge_verdicts`` in batches and routes the calls to review. The scores go to the
calls' ``call_scores`` rows as ``judge.<name>.<dimension>`` in the pipeline's next
batch (:mod:`.carry`), or from the writer when no batch takes them.
A call counts as done (:meth:`JudgeWorkers.wait_done`) once its outcome is written.

A restart loses no call: the backlog is re-derived from the store, not persisted. At
start, stored calls with texts from the last ``judge_backlog_lookback_s`` that the
judge's sampling picks (it is deterministic) and that have no verdict of that judge are
queued again. A call is never judged twice: a call already judged is skipped before any
request, and identical texts reuse the cached verdict. Between the pipeline's hand-over
and the writer, a judged call costs no store access.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from watchkeeper.collector.judge.cache import CAPACITY, VerdictCache
from watchkeeper.collector.judge.carry import Carried, CarriedRows, CarryJudgeRows
from watchkeeper.collector.judge.metrics import JudgeMetrics
from watchkeeper.collector.judge.prompt import PROMPT_VERSION, JudgeInput, dimensions_for
from watchkeeper.collector.judge.sampling import JudgeSampler, draw
from watchkeeper.collector.judge.scorer import BudgetExhaustedError, Judge, Spent
from watchkeeper.collector.judge.task import JudgeTask
from watchkeeper.collector.judge.writer import Finished, VerdictWriter
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.settings.rubric import RubricDimension
from watchkeeper.collector.store.judges import JudgeStore

log = logging.getLogger("watchkeeper.judge")

#: Where judged calls go for reviewers to label (the uniform sample's queue).
REVIEW_QUEUE: Final = "random"
#: Calls read per judge when re-deriving the backlog at start.
BACKLOG_LIMIT: Final = 100_000


class JudgeWorkers:
    """Every configured judge's queue and threads (see the module)."""

    def __init__(
        self,
        judges: Sequence[Judge],
        metrics: JudgeMetrics,
        store: JudgeStore,
        rubric: Mapping[str, RubricDimension],
        *,
        queue_size: int = 10_000,
        review_queue: str | None = REVIEW_QUEUE,
        observe: Callable[[Mapping[str, npt.NDArray[np.float64]]], None] | None = None,
        router: ReviewRouter | None = None,
        cache_calls: int = CAPACITY,
    ) -> None:
        self.judges = {judge.name: judge for judge in judges}
        self.metrics = metrics
        self.samplers = {j.name: JudgeSampler(j.name, j.config) for j in judges}
        self.caches = {j.name: VerdictCache(cache_calls) for j in judges}
        self.store = store
        self.rubric = dict(rubric)
        self.review_queue = review_queue
        #: Where judge scores go besides the store (the detector score histogram, so that
        #: alert rules on ``watchkeeper_detector_score`` see them).
        self.observe = observe
        #: Review routing for rules on judge scores (``judge.<name>.<dimension>``), applied
        #: when a call's verdict is written; None, or no such rule, routes nothing.
        self.router = router if router is not None and router.judge_rules() else None
        #: None in a queue wakes a thread to stop (the threads block on their queue: an
        #: idle judge costs no CPU and never takes the GIL from ingestion).
        self.queues: dict[str, queue.Queue[JudgeTask | None]] = {
            name: queue.Queue(queue_size) for name in self.judges
        }
        self._pending: set[tuple[str, str]] = set()
        self._pending_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        #: Calls done (judged, cached, skipped or given up), for callers that wait.
        self.done = 0
        self._done_changed = threading.Condition()
        self.writer = VerdictWriter(self._write_and_release, judging=self._judging)
        #: Scores and review items for the pipeline's next batch (:meth:`carry`); None:
        #: the writer writes them.
        self.carried: CarriedRows | None = None
        #: Counts review items the judges enqueue, as the pipeline counts its own.
        self.count_reviews: Callable[[Sequence[Mapping[str, Any]]], None] | None = None

    # --- the pipeline's side --------------------------------------------------------------
    def offer(
        self,
        calls: Iterable[CallRecord],
        routed: Collection[str] = (),
        flagged: Mapping[str, list[str]] | None = None,
        stored_scores: Callable[[str], dict[str, float]] | None = None,
    ) -> int:
        """Queue the calls each judge's sampling picks; returns how many were queued.
        ``stored_scores`` gives a call's stored scores row by span id: with one judge, its
        writer then adds the judge's scores without reading the row."""
        return self.queue_picked(self.pick(calls, routed, flagged), stored_scores)

    def pick(
        self,
        calls: Iterable[CallRecord],
        routed: Collection[str] = (),
        flagged: Mapping[str, list[str]] | None = None,
    ) -> list[Pick]:
        """The calls each judge's sampling picks, with why and their content hash."""
        texts = [call for call in calls if call.output_text and not call.is_error]
        hashes: dict[str, str] = {}
        picks = []
        for name, sampler in self.samplers.items():
            for call, reason in sampler.picked(texts, routed, flagged or {}):
                content = hashes.get(call.span_id)
                if content is None:
                    content = hashes[call.span_id] = content_hash(call)
                picks.append(Pick(name, reason, call, content))
        return picks

    def queue_picked(
        self,
        picks: Iterable[Pick],
        stored_scores: Callable[[str], dict[str, float]] | None = None,
    ) -> int:
        """Queue the picked calls the judges can pay for (see :meth:`offer`)."""
        if len(self.judges) != 1:
            stored_scores = None
        queued, unpaid = 0, Counter[str]()
        for pick in picks:
            if not self._affordable(pick):
                unpaid[pick.judge] += 1
                continue
            known = stored_scores(pick.call.span_id) if stored_scores else None
            queued += self._put(JudgeTask.of_call(pick.judge, pick.reason, pick.call, known))
        for name, count in unpaid.items():
            self.judges[name].metrics.skipped.labels(name, "budget").inc(count)
        return queued

    def _affordable(self, pick: Pick) -> bool:
        """Whether the judge can do anything for a call it picked: its budget has a request
        left, or it judged the call or its texts before (which costs no request). A call it
        cannot pay for is skipped (and counted) before its task is made and queued: a busy
        collector's judge spends its hour early, and most calls it picks after that are
        skipped."""
        if not self.judges[pick.judge].budget.spent():
            return True
        cache = self.caches[pick.judge]
        return cache.judged(pick.call.span_id) or bool(cache.held(pick.content))

    def answered(self, count: int) -> None:
        """``count`` picked calls were answered from the caches in the hand-over
        (``reuse.py``): done, as if judged."""
        with self._done_changed:
            self.done += count
            self._done_changed.notify_all()

    def judge_now(
        self, calls: Iterable[CallRecord], flagged: Mapping[str, list[str]] | None = None
    ) -> dict[str, dict[str, float]]:
        """Judge the calls the judges' sampling picks now, in this thread's pool, and
        return their scores by span id (``watchkeeper replay``)."""
        flagged = flagged or {}
        tasks = []
        for call in calls:
            if not call.output_text or call.is_error:
                continue
            for name, sampler in self.samplers.items():
                reason = sampler.reason(
                    call.span_id,
                    call.route,
                    call.model,
                    routed=False,
                    flagged_by=flagged.get(call.span_id, ()),
                )
                if reason is not None:
                    tasks.append(JudgeTask.of_call(name, reason, call))
        self._look_up(tasks)
        workers = max((j.config.concurrency for j in self.judges.values()), default=1)
        out: dict[str, dict[str, float]] = {}
        with ThreadPoolExecutor(workers, thread_name_prefix="judge-now") as pool:
            outcomes = list(pool.map(lambda t: self._outcome(self.judges[t.judge], t), tasks))
        finished = [f for f in outcomes if f is not None]
        self.flush(finished)
        for one in finished:
            out.setdefault(one.task.span_id, {}).update(one.scores)
        return out

    def _put(self, task: JudgeTask) -> int:
        key = (task.judge, task.span_id)
        with self._pending_lock:
            if key in self._pending:
                return 0
            self._pending.add(key)
        try:
            self.queues[task.judge].put_nowait(task)
        except queue.Full:
            with self._pending_lock:
                self._pending.discard(key)
            self.judges[task.judge].metrics.skipped.labels(task.judge, "queue_full").inc()
            return 0
        self.judges[task.judge].metrics.queued.labels(task.judge).inc()
        return 1

    def carry(self) -> CarryJudgeRows:
        """The store stage, for before the pipeline's ``Write``, that takes the judges'
        scores and review items into the batch's inserts (``carry.py``); with one judge
        (the scores row to add to is then known without a read)."""
        self.carried = CarriedRows(self._release)
        if len(self.judges) == 1:
            self.writer.arrived = self._carry
        return CarryJudgeRows(self.carried)

    def confirm_carried(self) -> None:
        """The batch that took the carried rows is stored."""
        if self.carried is not None:
            self.carried.confirm()

    # --- start, stop ----------------------------------------------------------------------
    def start(self, lookback_s: float = 0.0) -> None:
        """Fill the caches from the store and start every judge's threads; with
        ``lookback_s``, first queue the backlog."""
        self.warm()
        self.writer.start()
        if lookback_s > 0:
            thread = threading.Thread(
                target=self.resume, args=(lookback_s,), name="judge-resume", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        for name, judge in self.judges.items():
            for i in range(judge.config.concurrency):
                thread = threading.Thread(
                    target=self._run, args=(name,), name=f"judge-{name}-{i}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def warm(self) -> int:
        """Fill each judge's cache with its newest stored verdicts (one read per judge);
        returns the calls held."""
        rows_per_call = len(self.rubric) + 1
        for name, cache in self.caches.items():
            try:
                rows = self.store.recent_verdicts(
                    name, PROMPT_VERSION, cache.capacity * rows_per_call
                )
            except Exception:
                log.exception("judge %s: could not read its stored verdicts", name)
                continue
            cache.load(rows)
        return sum(len(cache) for cache in self.caches.values())

    def _look_up(self, tasks: Sequence[JudgeTask]) -> None:
        """Put the stored verdicts on these calls or their texts into the caches: one read
        per judge (``watchkeeper replay``, whose calls may be older than what is held)."""
        for name, cache in self.caches.items():
            mine = [task for task in tasks if task.judge == name]
            if not mine:
                continue
            cache.load(
                self.store.verdicts_for(
                    name,
                    PROMPT_VERSION,
                    [task.span_id for task in mine],
                    [task.text.content_hash() for task in mine],
                )
            )

    def resume(self, lookback_s: float) -> int:
        """Queue stored calls from the last ``lookback_s`` due a judge and not judged."""
        since_ns = time.time_ns() - int(lookback_s * 1e9)
        queued = 0
        for name, sampler in self.samplers.items():
            try:
                rows = self.store.stored_candidates(name, since_ns, BACKLOG_LIMIT)
            except Exception:
                log.exception("judge %s: could not read the backlog from the store", name)
                continue
            for row in rows:
                if self._stopping.is_set() or str(row.get("StatusCode")) == "ERROR":
                    continue
                reason = sampler.reason(
                    str(row["SpanId"]),
                    str(row["Route"]),
                    str(row["Model"]),
                    routed=bool(row.get("Queues")),
                    flagged_by=row.get("Detectors") or (),
                )
                if reason is not None and row["OutputText"]:
                    queued += self._put(JudgeTask.of_row(name, reason, row))
        if queued:
            log.info("judges: %d stored calls queued again from before the start", queued)
        return queued

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the threads (a call being judged is finished or left for the next start)."""
        self._stopping.set()
        for name, judge in self.judges.items():
            judge.stop.set()
            for _ in range(judge.config.concurrency):
                # A full queue's threads are not waiting: they see the stop after a call.
                with contextlib.suppress(queue.Full):
                    self.queues[name].put_nowait(None)
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.writer.stop(max(1.0, deadline - time.monotonic()))
        if self.carried is not None:
            self._write_and_release([], everything=True)
        for judge in self.judges.values():
            judge.endpoint.close()

    def _judging(self, gathered: int) -> bool:
        """Whether calls besides ``gathered`` finished ones wait in the writer's hands or
        are queued or being judged."""
        with self._pending_lock:
            pending = len(self._pending)
        return pending > gathered + self.writer.queue.qsize()

    def idle(self) -> bool:
        """Whether no call is queued or being judged."""
        with self._pending_lock:
            return not self._pending

    def wait_done(self, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` calls are done in all (tests, ``watchkeeper replay``)."""
        with self._done_changed:
            return self._done_changed.wait_for(lambda: self.done >= count, timeout_s)

    # --- the workers' side ----------------------------------------------------------------
    def _run(self, name: str) -> None:
        tasks = self.queues[name]
        judge = self.judges[name]
        while not self._stopping.is_set():
            task = tasks.get()
            if task is None:
                return
            judge.metrics.queued.labels(name).dec()
            finished = None
            try:
                finished = self._outcome(judge, task)
            except Exception:
                log.exception("judge %s: could not judge call %s", name, task.span_id)
            if finished is None:
                self._release([task])
            else:
                self.writer.put(finished)

    def _release(self, tasks: Sequence[JudgeTask]) -> None:
        """The calls are done: no longer pending, counted."""
        with self._pending_lock:
            for task in tasks:
                self._pending.discard((task.judge, task.span_id))
        with self._done_changed:
            self.done += len(tasks)
            self._done_changed.notify_all()

    def _write_and_release(self, batch: Sequence[Finished], everything: bool = False) -> None:
        """Write the writer's batch with the carried rows no pipeline batch took (with
        ``everything``, those in flight too), then release the calls."""
        left = self.carried.left(everything) if self.carried is not None else []
        try:
            self.flush(batch, left)
        finally:
            self._release([f.task for f in batch if not f.carried] + [c.task for c in left])
            if self.carried is not None:
                self.carried.written()

    def _carry(self, finished: Finished) -> None:
        """Hand a single judge's outcome's scores row to the pipeline's next batch (the
        writer's thread, as the outcome arrives)."""
        task = finished.task
        if self.carried is None or task.stored_scores is None:
            return
        rows = self.store.score_rows([(task.span_row(), finished.scores)])
        self.carried.put(Carried(rows, [task.timestamp_ns] * len(rows), task))
        finished.carried = True

    def judge_one(self, judge: Judge, task: JudgeTask) -> dict[str, float]:
        """Judge one call and store the outcome now; returns the scores written."""
        finished = self._outcome(judge, task)
        if finished is None:
            return {}
        self.flush([finished])
        return finished.scores

    def _outcome(self, judge: Judge, task: JudgeTask) -> Finished | None:
        """Judge one call (or reuse its verdicts); None when there is nothing to write."""
        content = task.text.content_hash()
        cache = self.caches[judge.name]
        cached = cache.verdicts(content)
        if cache.judged(task.span_id):
            # Judged before: a batch stored again (a replay, a redelivery after a crash)
            # rewrote the call's scores row without them, so they are put back, no request.
            scores = {f"judge.{judge.name}.{dim}": float(v[0]) for dim, v in cached.items()}
            return Finished(judge.name, task, scores) if scores else None
        prompts = dimensions_for(self.rubric, judge.config.dimensions, bool(task.text.contexts))
        verdicts: dict[str, tuple[int, str, bool]] = {}
        spent = Spent()
        for prompt in prompts:
            hit = cached.get(prompt.dimension)
            if hit is not None:
                verdicts[prompt.dimension] = (hit[0], hit[1], True)
                continue
            try:
                verdict = judge.verdict(prompt, task.text, spent)
            except BudgetExhaustedError:
                judge.metrics.skipped.labels(judge.name, "budget").inc()
                break
            if verdict is not None:
                verdicts[prompt.dimension] = (verdict.score, verdict.reason, False)
        if spent.failed:
            judge.metrics.given_up.labels(judge.name).inc()
        cache.remember(task.span_id, content, {d: (v[0], v[1]) for d, v in verdicts.items()})
        return _finished(judge, task, verdicts, spent, content)

    # --- the writer's side ----------------------------------------------------------------
    def flush(self, batch: Sequence[Finished], carried: Sequence[Carried] = ()) -> None:
        """Write a batch of outcomes, with ``carried`` rows no pipeline batch took: one
        scores read and one insert per table, then the histogram, the counts and the
        review routing of the judged calls."""
        direct = [(f.task.span_row(), f.scores) for f in batch if not f.carried]
        scores = [row for c in carried for row in c.scores]
        if direct:
            with self.store.scores_lock:
                scores += self.store.score_rows(direct)
        self.store.write_score_rows(scores)
        judged = [f for f in batch if f.rows]
        self.store.write_verdicts([row for f in judged for row in f.rows])
        reviews: list[dict[str, Any]] = []
        for one in judged:
            if self.observe is not None:
                self.observe({k: np.array([v]) for k, v in one.scores.items()})
            source = "request" if one.requested else "cache"
            self.judges[one.judge].metrics.judged.labels(one.judge, source).inc()
            reviews.extend(self._reviews(one))
        self._add_reviews(reviews)

    def _reviews(self, one: Finished) -> list[dict[str, Any]]:
        """The review items a judged call gets: by the rules on judge scores, else maybe
        the review share's."""
        return self._route(one.task, one.scores) or self._maybe_review(one)

    def _add_reviews(self, reviews: Sequence[Mapping[str, Any]]) -> None:
        if not reviews:
            return
        self.store.add_review_items(reviews)
        if self.count_reviews is not None:
            self.count_reviews(reviews)

    def _route(self, task: JudgeTask, scores: Mapping[str, float]) -> list[dict[str, Any]]:
        """The review items the rules on judge scores give the call. A call judged because
        the pipeline routed it keeps its one queue."""
        if self.router is None or task.reason == "review":
            return []
        routing = self.router.route_judged(_review_item(task, ""), task.timestamp_ns, scores)
        return list(routing.items)

    def _maybe_review(self, one: Finished) -> list[dict[str, Any]]:
        judge, task = self.judges[one.judge], one.task
        share = judge.config.review_share
        if self.review_queue is None or task.reason == "review" or share <= 0:
            return []
        if draw(judge.name, task.span_id, "review") >= share:
            return []
        return [_review_item(task, self.review_queue)]


class Pick(NamedTuple):
    """A call a judge's sampling picked, why, and the hash of its texts (the cache key)."""

    judge: str
    reason: str
    call: CallRecord
    content: str


def content_hash(call: CallRecord) -> str:
    """The cache key of a call's texts (:meth:`JudgeInput.content_hash`)."""
    return JudgeInput(call.input_text, call.output_text, tuple(call.contexts)).content_hash()


def _finished(
    judge: Judge,
    task: JudgeTask,
    verdicts: dict[str, tuple[int, str, bool]],
    spent: Spent,
    content: str,
) -> Finished | None:
    """The outcome to write: verdict rows and scores; None without verdicts."""
    if not verdicts:
        return None
    now_ms = time.time_ns() // 1_000_000
    rows = [
        _verdict_row(judge, task, content, now_ms)
        | {
            "Dimension": dimension,
            "Score": score,
            "Reason": reason,
            "Cached": int(cached),
        }
        for dimension, (score, reason, cached) in verdicts.items()
    ]
    if rows:
        rows[0]["InputTokens"] = spent.input_tokens
        rows[0]["OutputTokens"] = spent.output_tokens
    scores = {
        f"judge.{judge.name}.{dimension}": float(score)
        for dimension, (score, _, _) in verdicts.items()
    }
    return Finished(judge.name, task, scores, rows, requested=bool(spent.requests))


def _verdict_row(judge: Judge, task: JudgeTask, content: str, now_ms: int) -> dict[str, Any]:
    """The columns of a verdict row all dimensions of one call share."""
    return {
        "JudgedAt": f"{now_ms // 1000}.{now_ms % 1000:03d}",
        "Judge": judge.name,
        "PromptVersion": PROMPT_VERSION,
        "ContentHash": content,
        "TraceId": task.trace_id,
        "SpanId": task.span_id,
        "InputTokens": 0,
        "OutputTokens": 0,
        "AnswerChars": len(task.text.answer),
        "AppModel": task.model,
        "JudgeModel": judge.config.model or str(judge.config.callable),
    }


def _review_item(task: JudgeTask, queue_name: str) -> dict[str, Any]:
    ns = task.timestamp_ns
    return {
        "Timestamp": f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}",
        "Queue": queue_name,
        "TraceId": task.trace_id,
        "SpanId": task.span_id,
        "ServiceName": task.service_name,
        "Route": task.route,
        "Reason": "judge",
        "Priority": 0,
        "Model": task.model,
        "InputText": task.text.question,
        "OutputText": task.text.answer,
        "Contexts": list(task.text.contexts),
        "RequiredLabels": 1,
    }
