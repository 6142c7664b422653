"""Live version comparison: false alarms and power over repeated simulated canary runs.

``python -m bench.quality version_comparison [-- --runs 500 --horizon 10000]``

For each scenario, ``runs`` rollouts of ``horizon`` calls; the verdict of
:class:`~watchkeeper.collector.versions.VersionComparison` is read after every call, and
the first "regressed" or "improved" is the run's decision. Printed: the share of runs
that decided each way (for identical versions, any decision is a false alarm) and the
median calls (both versions) until a regression was called.
"""

from __future__ import annotations

import argparse
import time

from tests.experiments.canary_traffic import Scenario, simulate

SCENARIOS = (
    Scenario("faithfulness identical, A/B 50 %", 0.80, 0.80),
    Scenario("faithfulness identical, canary 10 %", 0.80, 0.80, canary_share=0.1),
    Scenario("faithfulness -0.05, A/B 50 %", 0.80, 0.75),
    Scenario("faithfulness -0.10, A/B 50 %", 0.80, 0.70),
    Scenario("faithfulness -0.10, canary 10 %", 0.80, 0.70, canary_share=0.1),
    Scenario("refusals identical 5 %, canary 10 %", 0.05, 0.05, canary_share=0.1, kind="rate"),
    Scenario("refusals 5 % -> 10 %, canary 10 %", 0.05, 0.10, canary_share=0.1, kind="rate"),
)


def main(argv: list[str]) -> int:
    """Print one line per scenario."""
    parser = argparse.ArgumentParser(prog="bench.quality version_comparison")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--horizon", type=int, default=10_000)
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args(argv)
    print(
        f"version comparison: {args.runs} runs x {args.horizon} calls, alpha {args.alpha}, "
        "verdict read after every call"
    )
    print(f"{'scenario':<40} {'regressed':>9} {'improved':>8} {'median calls':>12} {'s':>6}")
    for scenario in SCENARIOS:
        started = time.perf_counter()
        outcome = simulate(scenario, runs=args.runs, horizon=args.horizon, alpha=args.alpha)
        print(
            f"{scenario.name:<40} {outcome.regressed_rate:>9.3f} "
            f"{outcome.improved / outcome.runs:>8.3f} {outcome.median_calls:>12.0f} "
            f"{time.perf_counter() - started:>6.1f}",
            flush=True,
        )
    return 0
