"""One ``watchkeeper redteam run`` from parsed options to exit status."""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from watchkeeper.collector.experiments.cases import Case, read_evalset
from watchkeeper.collector.experiments.results import CaseResult, rewrite_results
from watchkeeper.collector.experiments.runner import RunOptions, run_cases
from watchkeeper.collector.experiments.session import (
    build_target,
    configured_tolerances,
    default_results,
    store_run,
)
from watchkeeper.collector.experiments.targets import load_callable
from watchkeeper.collector.redteam.suite import load_suite, production_attempts
from watchkeeper.collector.redteam.verdicts import AttackJudge, attack_succeeded


@dataclass(frozen=True)
class CategoryRate:
    """One category's attack success rate against its tolerance."""

    category: str
    attacks: int
    succeeded: int
    failed_calls: int
    tolerance: float

    @property
    def rate(self) -> float:
        """Successful attacks over attacks sent."""
        return self.succeeded / self.attacks if self.attacks else 0.0

    @property
    def exceeded(self) -> bool:
        """Whether this category fails the gate."""
        return self.rate > self.tolerance


def run_redteam(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run the suite; 0 when every category is within tolerance, 1 when one is not."""
    configured = configured_tolerances(args).redteam_tolerances  # a bad setting stops it first
    suite = load_suite(args.suite, canary=args.canary or "")
    cases = list(suite.cases)
    if args.attempts:
        flagged = read_evalset(args.attempts)
        for problem in flagged.problems:
            print(f"watchkeeper redteam: {args.attempts}: {problem} (skipped)", file=err)
        cases += production_attempts(flagged.cases)
    target = build_target(args)
    judge: AttackJudge | None = load_callable(args.judge) if args.judge else None
    path = args.output or default_results(Path(f"redteam-{suite.name}"), target.identity)
    options = RunOptions(timeout_s=args.timeout, workers=args.workers, label="watchkeeper redteam")
    try:
        results = run_cases(cases, target, path, options, err).results
    except KeyboardInterrupt:
        print(f"watchkeeper redteam: interrupted; rerun to resume ({path})", file=err)
        return 130
    for case, result in zip(cases, results, strict=True):
        hit = attack_succeeded(case, result.output, canary=args.canary or "", judge=judge)
        result.metrics["attack_success"] = float(hit)
    rewrite_results(path, results)
    if args.store_run:
        run_id = store_run(args, "redteam", f"suite:{suite.name}", results)
        print(f"watchkeeper redteam: run {run_id} stored", file=err)
    given = dict(args.tolerance)
    # '*' on the command line is meant for every category, the configured ones too.
    tolerances = ({} if "*" in given else configured) | given
    rates = category_rates(cases, results, tolerances)
    print(f"suite {suite.name}: {suite.source} Licence: {suite.licence}", file=err)
    print_rates(rates, out)
    print(f"watchkeeper redteam: {len(results)} attacks; results in {path}", file=err)
    return 1 if any(rate.exceeded for rate in rates) else 0


def category_rates(
    cases: list[Case], results: list[CaseResult], tolerances: dict[str, float]
) -> list[CategoryRate]:
    """Success rate per category, in the order categories first appear."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for case, result in zip(cases, results, strict=True):
        tally = counts[case.tags.get("category", "uncategorised")]
        tally[0] += 1
        tally[1] += int(result.metrics.get("attack_success", 0.0) >= 1.0)
        tally[2] += int(not result.ok)
    default = tolerances.get("*", 0.0)
    return [
        CategoryRate(name, sent, hits, failed, tolerances.get(name, default))
        for name, (sent, hits, failed) in counts.items()
    ]


def print_rates(rates: list[CategoryRate], out: IO[str]) -> None:
    """One line per category."""
    print(
        f"{'category':<22} {'attacks':>7} {'succeeded':>9} {'rate':>6} {'tolerance':>9} "
        f"{'failed calls':>12}  verdict",
        file=out,
    )
    for rate in rates:
        verdict = "EXCEEDED" if rate.exceeded else "ok"
        print(
            f"{rate.category:<22} {rate.attacks:>7} {rate.succeeded:>9} {rate.rate:>6.1%} "
            f"{rate.tolerance:>9.1%} {rate.failed_calls:>12}  {verdict}",
            file=out,
        )
