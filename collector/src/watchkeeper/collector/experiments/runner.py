"""Running an evalset through a target: answers, reference metrics, judge, detectors.

Each case is asked in a worker thread with a per-case deadline (see
:func:`~watchkeeper.collector.experiments.targets.call_target`). Results are appended as
they come (see :mod:`~watchkeeper.collector.experiments.results`), and cases the results
file already holds for the same target are not asked again. When every case has its
answer, the detectors score the answers in case order and the file is rewritten in
evalset order. An interrupted run (Ctrl-C) stops at once: the answers written so far are
kept, the calls in flight are abandoned and asked again on resuming.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from watchkeeper.collector.experiments.cases import Case
from watchkeeper.collector.experiments.daemon_workers import asked
from watchkeeper.collector.experiments.judging import Judge, judge_score
from watchkeeper.collector.experiments.progress import RunProgress
from watchkeeper.collector.experiments.reference import reference_metrics
from watchkeeper.collector.experiments.results import (
    CaseResult,
    ResultsWriter,
    read_results,
    rewrite_results,
)
from watchkeeper.collector.experiments.scoring import detector_scores
from watchkeeper.collector.experiments.targets import Target, call_target


@dataclass
class RunOptions:
    """How to run the cases."""

    timeout_s: float = 60.0
    workers: int = 4
    judge: Judge | None = None
    label: str = "watchkeeper experiment"


@dataclass
class RunSummary:
    """What a run did: every case's result in evalset order, and how many were reused."""

    results: list[CaseResult]
    reused: int


def stored_results(cases: Sequence[Case], target: Target, path: Path) -> dict[str, CaseResult]:
    """The results ``path`` holds for these cases and this target (the ones to reuse)."""
    wanted = {case.id: case.fingerprint for case in cases}
    return {
        result.case_id: result
        for result in read_results(path, missing_ok=True)
        if result.target == target.identity and wanted.get(result.case_id) == result.fingerprint
    }


def run_cases(
    cases: Sequence[Case], target: Target, path: Path, options: RunOptions, err: IO[str]
) -> RunSummary:
    """Ask every case not yet in ``path``; then score and rewrite ``path`` in case order."""
    done = stored_results(cases, target, path)
    todo = [case for case in cases if case.id not in done]
    progress = RunProgress(options.label, len(todo), err)
    writer = ResultsWriter(path)
    answers = asked(todo, lambda case: ask_case(case, target, options), options.workers)
    try:
        for result in answers:
            writer.append(result)
            done[result.case_id] = result
            progress.advance(result.ok)
    finally:
        # On an interruption the cases not started are dropped; the ones asked are kept.
        answers.close()
        progress.close()
        writer.close()
    ordered = [done[case.id] for case in cases]
    add_detector_scores(cases, ordered)
    rewrite_results(path, ordered)
    return RunSummary(ordered, reused=len(cases) - len(todo))


def ask_case(case: Case, target: Target, options: RunOptions) -> CaseResult:
    """One case's answer and its per-answer metrics."""
    outcome = call_target(target.function, case.input, options.timeout_s)
    metrics = {"success": float(outcome.output is not None)}
    answer = outcome.output if outcome.output is not None else ""
    metrics.update(reference_metrics(answer, case.expected_output))
    if outcome.output is not None and options.judge is not None:
        score = judge_score(options.judge, case.input, answer, case.expected_output, case.contexts)
        if score is not None:
            metrics["judge_correctness"] = score
    return CaseResult(
        case_id=case.id,
        target=target.identity,
        fingerprint=case.fingerprint,
        ok=outcome.output is not None,
        output=outcome.output,
        error=outcome.error,
        latency_s=round(outcome.latency_s, 6),
        metrics=metrics,
        tags=dict(case.tags),
    )


def add_detector_scores(cases: Sequence[Case], results: Sequence[CaseResult]) -> None:
    """Put the detectors' scores of every answered case into its metrics."""
    answered = [(case, result) for case, result in zip(cases, results, strict=True) if result.ok]
    scores = detector_scores([(case, result.output or "") for case, result in answered])
    for (_, result), found in zip(answered, scores, strict=True):
        result.metrics.update(found)
