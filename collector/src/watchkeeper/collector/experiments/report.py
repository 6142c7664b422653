"""The text an experiment prints: a run's means, and the comparison with a baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

from watchkeeper.collector.experiments.compare import CaseRegression, MetricComparison
from watchkeeper.collector.experiments.results import CaseResult


def print_means(results: Sequence[CaseResult], metrics: Sequence[str], out: IO[str]) -> None:
    """Each metric's mean over the cases that carry it."""
    print(f"{'metric':<20} {'mean':>8} {'cases':>6}", file=out)
    for metric in metrics:
        values = [r.metrics[metric] for r in results if metric in r.metrics]
        if values:
            print(f"{metric:<20} {sum(values) / len(values):>8.3f} {len(values):>6}", file=out)


def print_comparison(compared: Sequence[MetricComparison], confidence: float, out: IO[str]) -> None:
    """One line per metric: means, difference, interval, tolerance, verdict."""
    ci = f"{confidence:.0%} CI"
    print(
        f"{'metric':<20} {'baseline':>8} {'candidate':>9} {'delta':>8} {ci:>20} "
        f"{'pairs':>6} {'tolerance':>9}  verdict",
        file=out,
    )
    for row in compared:
        interval = f"[{row.low:+.3f}, {row.high:+.3f}]"
        verdict = row.verdict.upper() if row.regressed else row.verdict
        print(
            f"{row.metric:<20} {row.baseline:>8.3f} {row.candidate:>9.3f} {row.delta:>+8.3f} "
            f"{interval:>20} {row.pairs:>6} {row.tolerance:>9.3f}  {verdict}",
            file=out,
        )


def print_worst(worst: Sequence[CaseRegression], inputs: dict[str, str], out: IO[str]) -> None:
    """The cases that got worse most, with what dropped."""
    if not worst:
        print("no case got worse", file=out)
        return
    print("cases that regressed most:", file=out)
    for case in worst:
        drops = ", ".join(f"{m} -{d:.3f}" for m, d in sorted(case.drops.items()))
        failed = f" (failed: {case.candidate_error})" if case.candidate_error else ""
        question = " ".join(inputs.get(case.case_id, "").split())[:70]
        print(f"  {case.case_id}: {drops}{failed}  {question!r}", file=out)
