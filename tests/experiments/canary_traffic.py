"""Simulated canary traffic for the live comparison: repeated runs, decisions counted.

A run sends ``horizon`` calls; each goes to the candidate with probability
``canary_share``, else to the baseline. Scores are drawn from a Beta distribution with
the version's mean (concentration 10, like faithfulness scores that are mostly high), or
from a Bernoulli for rates (``kind="rate"``: refusals, errors).
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass

from watchkeeper.collector.versions import IMPROVED, REGRESSED, VersionComparison


@dataclass(frozen=True)
class Scenario:
    """One kind of rollout."""

    name: str
    baseline_mean: float
    candidate_mean: float
    canary_share: float = 0.5
    kind: str = "score"  # "score" (Beta) or "rate" (Bernoulli)

    @property
    def higher_is_better(self) -> bool:
        """Scores: higher is better; rates (refusal, error): lower is."""
        return self.kind == "score"


@dataclass(frozen=True)
class Outcome:
    """What the repeated runs of a scenario decided."""

    runs: int
    regressed: int
    improved: int
    #: Calls (both versions) at each regressed decision.
    calls_to_regressed: list[int]

    @property
    def regressed_rate(self) -> float:
        """Share of runs that called the candidate regressed."""
        return self.regressed / self.runs

    @property
    def any_decision_rate(self) -> float:
        """Share of runs with any decision (the false-alarm rate when versions match)."""
        return (self.regressed + self.improved) / self.runs

    @property
    def median_calls(self) -> float:
        """Median calls to a regressed decision (NaN when none)."""
        return (
            statistics.median(self.calls_to_regressed) if self.calls_to_regressed else float("nan")
        )


def _draw(rng: random.Random, mean: float, kind: str) -> float:
    if kind == "rate":
        return float(rng.random() < mean)
    return rng.betavariate(10 * mean, 10 * (1 - mean))


def simulate(
    scenario: Scenario, *, runs: int, horizon: int, alpha: float = 0.05, seed: int = 0
) -> Outcome:
    """Run ``scenario`` ``runs`` times for ``horizon`` calls each."""
    regressed = improved = 0
    calls: list[int] = []
    for run in range(runs):
        rng = random.Random(f"{seed}:{scenario.name}:{run}")
        comparison = VersionComparison(alpha=alpha, higher_is_better=scenario.higher_is_better)
        for _ in range(horizon):
            if rng.random() < scenario.canary_share:
                comparison.add_candidate(_draw(rng, scenario.candidate_mean, scenario.kind))
            else:
                comparison.add_baseline(_draw(rng, scenario.baseline_mean, scenario.kind))
            if comparison.decided_at is not None:
                break
        if comparison.decided == REGRESSED:
            regressed += 1
            calls.append(comparison.decided_at or 0)
        elif comparison.decided == IMPROVED:
            improved += 1
    return Outcome(runs, regressed, improved, calls)
