"""The judge workers beside the pipeline: a bounded queue per judge, threads that drain
it, and what they write back.

The pipeline hands over a batch's calls after the batch is stored (:meth:`JudgeWorkers.
offer`, a few microseconds per call, never blocking: a full queue drops the call and
counts it). Each judge's threads (``concurrency``) take calls from its queue, reuse
stored verdicts of the same texts (the cache: judge, prompt version, content hash), ask
the endpoint for the rest, and write verdicts to ``judge_verdicts`` and the scores to the
call's ``call_scores`` row as ``judge.<name>.<dimension>``.

A restart loses no call: the backlog is re-derived from the store, not persisted. At
start, stored calls with texts from the last ``judge_backlog_lookback_s`` that the
judge's sampling picks (it is deterministic) and that have no verdict of that judge are
queued again. A call is never judged twice: a call already judged is skipped before any
request, and identical texts reuse the cached verdict.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from watchkeeper.collector.judge.metrics import JudgeMetrics
from watchkeeper.collector.judge.prompt import PROMPT_VERSION, dimensions_for
from watchkeeper.collector.judge.sampling import JudgeSampler, draw
from watchkeeper.collector.judge.scorer import BudgetExhaustedError, Judge, Spent
from watchkeeper.collector.judge.task import JudgeTask
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
    ) -> None:
        self.judges = {judge.name: judge for judge in judges}
        self.metrics = metrics
        self.samplers = {j.name: JudgeSampler(j.name, j.config) for j in judges}
        self.store = store
        self.rubric = dict(rubric)
        self.review_queue = review_queue
        #: Where judge scores go besides the store (the detector score histogram, so that
        #: alert rules on ``watchkeeper_detector_score`` see them).
        self.observe = observe
        #: Review routing for rules on judge scores (``judge.<name>.<dimension>``), applied
        #: when a call's verdict is written; None, or no such rule, routes nothing.
        self.router = router if router is not None and router.judge_rules() else None
        self.queues: dict[str, queue.Queue[JudgeTask]] = {
            name: queue.Queue(queue_size) for name in self.judges
        }
        self._pending: set[tuple[str, str]] = set()
        self._pending_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        #: Calls done (judged, cached, skipped or given up), for callers that wait.
        self.done = 0
        self._done_changed = threading.Condition()

    # --- the pipeline's side --------------------------------------------------------------
    def offer(
        self,
        calls: Iterable[CallRecord],
        routed: Collection[str] = (),
        flagged: Mapping[str, list[str]] | None = None,
    ) -> int:
        """Queue the calls each judge's sampling picks; returns how many were queued."""
        flagged = flagged or {}
        queued = 0
        for call in calls:
            if not call.output_text or call.is_error:
                continue
            span_id = call.span_id
            for name, sampler in self.samplers.items():
                reason = sampler.reason(
                    span_id,
                    call.route,
                    call.model,
                    routed=span_id in routed,
                    flagged_by=flagged.get(span_id, ()),
                )
                if reason is not None:
                    queued += self._put(JudgeTask.of_call(name, reason, call))
        return queued

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
        workers = max((j.config.concurrency for j in self.judges.values()), default=1)
        out: dict[str, dict[str, float]] = {}
        with ThreadPoolExecutor(workers, thread_name_prefix="judge-now") as pool:
            judged = pool.map(lambda t: self.judge_one(self.judges[t.judge], t), tasks)
            for task, scores in zip(tasks, judged, strict=True):
                out.setdefault(task.span_id, {}).update(scores)
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

    # --- start, stop ----------------------------------------------------------------------
    def start(self, lookback_s: float = 0.0) -> None:
        """Start every judge's threads; with ``lookback_s``, first queue the backlog."""
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
        for judge in self.judges.values():
            judge.stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for judge in self.judges.values():
            judge.endpoint.close()

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
            try:
                task = tasks.get(timeout=0.2)
            except queue.Empty:
                continue
            judge.metrics.queued.labels(name).dec()
            try:
                self.judge_one(judge, task)
            except Exception:
                log.exception("judge %s: could not judge call %s", name, task.span_id)
            finally:
                with self._pending_lock:
                    self._pending.discard((name, task.span_id))
                with self._done_changed:
                    self.done += 1
                    self._done_changed.notify_all()

    def judge_one(self, judge: Judge, task: JudgeTask) -> dict[str, float]:
        """Judge one call and store the outcome; returns the scores written."""
        content = task.text.content_hash()
        cached = self.store.cached(judge.name, PROMPT_VERSION, [content])
        if self.store.judged(judge.name, task.span_id):
            # Judged before: a batch stored again (a replay, a redelivery after a crash)
            # rewrote the call's scores row without them, so they are put back, no request.
            scores = {f"judge.{judge.name}.{dim}": float(v[0]) for (_, dim), v in cached.items()}
            if scores:
                self.store.add_scores(task.span_row(), scores)
            return scores
        prompts = dimensions_for(self.rubric, judge.config.dimensions, bool(task.text.contexts))
        verdicts: dict[str, tuple[int, str, bool]] = {}
        spent = Spent()
        for prompt in prompts:
            hit = cached.get((content, prompt.dimension))
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
        return self._write(judge, task, verdicts, spent, content)

    def _write(
        self,
        judge: Judge,
        task: JudgeTask,
        verdicts: dict[str, tuple[int, str, bool]],
        spent: Spent,
        content: str,
    ) -> dict[str, float]:
        if not verdicts:
            return {}
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
        self.store.add_scores(task.span_row(), scores)
        self.store.write_verdicts(rows)
        if self.observe is not None:
            self.observe({key: np.array([value]) for key, value in scores.items()})
        source = "request" if spent.requests else "cache"
        judge.metrics.judged.labels(judge.name, source).inc()
        if not self._route(task, scores):
            self._maybe_review(judge, task)
        return scores

    def _route(self, task: JudgeTask, scores: Mapping[str, float]) -> bool:
        """Route the call by the rules on judge scores; whether it went to a queue. A call
        judged because the pipeline routed it keeps its one queue."""
        if self.router is None or task.reason == "review":
            return False
        routing = self.router.route_judged(_review_item(task, ""), task.timestamp_ns, scores)
        if routing.items:
            self.store.add_review_items(routing.items)
        return bool(routing.items)

    def _maybe_review(self, judge: Judge, task: JudgeTask) -> None:
        share = judge.config.review_share
        if self.review_queue is None or task.reason == "review" or share <= 0:
            return
        if draw(judge.name, task.span_id, "review") >= share:
            return
        self.store.add_review_items([_review_item(task, self.review_queue)])


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
