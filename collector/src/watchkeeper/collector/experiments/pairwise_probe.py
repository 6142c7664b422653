"""The baseline's and the candidate's answers to the same cases, compared pairwise by a
judge of the settings: which answer it prefers, asked in both orders (judge/pairwise.py).

``watchkeeper experiment run --baseline RESULTS --judge-name NAME`` asks the judge about
every case both runs answered (differently) on ``helpfulness``: the baseline's answer is
A, the candidate's B. The winners say which run the judge prefers; the verdicts that flip
with the order are the judge's order sensitivity. With ``--store`` the comparisons are
stored (``judge_comparisons``), so the judge's agreement report, its queue-page panel and
``watchkeeper_judge_order_flip_rate`` show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Final

from watchkeeper.collector.experiments.daemon_workers import asked
from watchkeeper.collector.experiments.results import CaseResult
from watchkeeper.collector.judge.pairwise import PairVerdict, compare, flip_rate
from watchkeeper.collector.judge.scorer import BudgetExhaustedError, Judge

#: The rubric dimension the answers are compared on.
DIMENSION: Final = "helpfulness"


@dataclass
class PairwiseOutcome:
    """The comparisons made, and what could not be compared."""

    #: ``(question, baseline answer, candidate answer, verdict)``.
    compared: list[tuple[str, str, str, PairVerdict]] = field(default_factory=list)
    #: Cases the judge gave up on (a failed request after its retries).
    given_up: int = 0
    #: Cases left out because the judge's budget ran out.
    over_budget: int = 0
    #: Cases not compared because the comparison was interrupted (Ctrl-C).
    cut_short: int = 0


def answer_pairs(
    baseline: Sequence[CaseResult], results: Sequence[CaseResult], inputs: dict[str, str]
) -> list[tuple[str, str, str]]:
    """``(question, baseline answer, candidate answer)`` of the cases both runs answered,
    with different answers, in the candidate's order."""
    before = {r.case_id: r.output for r in baseline if r.ok and r.output}
    pairs = []
    for result in results:
        old = before.get(result.case_id)
        if result.ok and result.output and old and old != result.output:
            pairs.append((inputs.get(result.case_id, ""), old, result.output))
    return pairs


def compare_runs(
    judge: Judge, pairs: Sequence[tuple[str, str, str]], workers: int
) -> PairwiseOutcome:
    """Ask ``judge`` about every pair in both orders (``workers`` pairs at once). Ctrl-C
    stops it at once: the pairs compared so far are kept, the rest counted as cut short."""
    outcome = PairwiseOutcome()

    def one(at: int) -> tuple[int, PairVerdict | BudgetExhaustedError | None]:
        try:
            return at, compare(judge, *pairs[at], dimension=DIMENSION)
        except BudgetExhaustedError as exc:
            return at, exc

    verdicts = asked(range(len(pairs)), one, workers, name="pairwise")
    answered: dict[int, PairVerdict] = {}
    try:
        for at, verdict in verdicts:
            if isinstance(verdict, PairVerdict):
                answered[at] = verdict
            elif verdict is None:
                outcome.given_up += 1
            else:
                outcome.over_budget += 1
    except KeyboardInterrupt:
        outcome.cut_short = len(pairs) - len(answered) - outcome.given_up - outcome.over_budget
    finally:
        verdicts.close()
    outcome.compared = [(*pairs[at], answered[at]) for at in sorted(answered)]
    return outcome


def print_pairwise(judge: str, outcome: PairwiseOutcome, out: IO[str]) -> None:
    """Two lines: which run the judge prefers, and how often the order swayed it."""
    verdicts = [v for *_, v in outcome.compared]
    wins = {w: sum(v.winner == w for v in verdicts) for w in ("A", "B", "tie")}
    left = ""
    if outcome.given_up or outcome.over_budget or outcome.cut_short:
        left = f"; not compared: {outcome.given_up} given up, {outcome.over_budget} over budget"
        left += f", {outcome.cut_short} cut short" if outcome.cut_short else ""
    print(
        f"pairwise ({judge}, {DIMENSION}): {len(verdicts)} cases compared, candidate "
        f"better {wins['B']}, baseline better {wins['A']}, tie {wins['tie']}{left}",
        file=out,
    )
    rate = flip_rate(verdicts)
    if rate is not None:
        flips = sum(v.flipped for v in verdicts)
        print(
            f"judge order sensitivity: {flips} of {len(verdicts)} verdicts changed with the "
            f"order the answers were shown in (flip rate {rate:.2f})",
            file=out,
        )
