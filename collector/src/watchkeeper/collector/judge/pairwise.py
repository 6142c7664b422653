"""Pairwise comparison: which of two answers to one question a judge prefers, asked in
both orders, so that a judge swayed by position shows as verdicts that flip.

A comparison asks the judge twice, (A, B) and then (B, A), with the same retries, budget
and metrics as any of its requests. When the two verdicts name the same winner (or both a
tie) the comparison is consistent; when they do not, the verdict flipped with the order
and the comparison counts as a tie. The flip rate over a set of comparisons is the
judge's order sensitivity (0: order never sways it; a judge that always prefers the first
answer shown flips on every pair where it is not a tie both ways).

>>> flip_rate([PairVerdict("A", "A"), PairVerdict("A", "B"), PairVerdict("tie", "tie")])
0.3333
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from watchkeeper.collector.judge.prompt import PROMPT_VERSION, DimensionPrompt, JudgeInput, template
from watchkeeper.collector.judge.scorer import Judge, Spent
from watchkeeper.collector.settings.rubric import RubricDimension
from watchkeeper.collector.store.judges import JudgeStore

#: The reply's scale: 1 the first answer shown is better, 2 neither, 3 the second.
PREFERENCE: Final = RubricDimension(kind="score", min=1, max=3, description="")
_WINNER: Final = {1: "first", 2: "tie", 3: "second"}


@dataclass(frozen=True)
class PairwisePrompt(DimensionPrompt):
    """Asks which of two answers (the answer and the first context of the input) is better
    on one dimension."""

    description: str = ""

    def messages(self, call: JudgeInput) -> list[dict[str, str]]:
        """Chat messages (system, user): the question, then the two answers in order."""
        user = template("pairwise", self.version).format(
            dimension=self.dimension.replace("_", " "),
            description=self.description or "as the rubric describes it",
            question=call.question,
            first=call.answer,
            second=call.contexts[0] if call.contexts else "",
        )
        return [
            {"role": "system", "content": template("system", self.version).strip()},
            {"role": "user", "content": user},
        ]


@dataclass(frozen=True)
class PairVerdict:
    """The winner (``A``, ``B``, ``tie``) with A shown first, and with B shown first."""

    a_first: str
    b_first: str

    @property
    def flipped(self) -> bool:
        """Whether the order changed the winner."""
        return self.a_first != self.b_first

    @property
    def winner(self) -> str:
        """``A``, ``B``, or ``tie`` (a tie both ways, or a verdict that flipped)."""
        return "tie" if self.flipped else self.a_first


def compare(
    judge: Judge,
    question: str,
    answer_a: str,
    answer_b: str,
    *,
    dimension: str = "helpfulness",
    rubric: RubricDimension | None = None,
) -> PairVerdict | None:
    """Ask ``judge`` both orders; None when it gave up on either (or the budget is out:
    :class:`~watchkeeper.collector.judge.scorer.BudgetExhaustedError` propagates)."""
    prompt = PairwisePrompt(
        dimension, PREFERENCE, PROMPT_VERSION, rubric.description if rubric else ""
    )
    spent = Spent()
    first = judge.verdict(prompt, JudgeInput(question, answer_a, (answer_b,)), spent)
    second = judge.verdict(prompt, JudgeInput(question, answer_b, (answer_a,)), spent)
    if first is None or second is None:
        return None
    a_first = {"first": "A", "second": "B"}.get(_WINNER[int(first.score)], "tie")
    b_first = {"first": "B", "second": "A"}.get(_WINNER[int(second.score)], "tie")
    return PairVerdict(a_first, b_first)


def record(
    store: JudgeStore,
    judge: str,
    dimension: str,
    compared: Sequence[tuple[str, str, str, PairVerdict]],
) -> None:
    """Store comparisons ``(question, answer_a, answer_b, verdict)`` of one judge on one
    dimension, so that its order sensitivity is reported (``order_sensitivity``)."""
    now_ms = time.time_ns() // 1_000_000
    store.write_comparisons(
        [
            {
                "ComparedAt": f"{now_ms // 1000}.{now_ms % 1000:03d}",
                "Judge": judge,
                "PromptVersion": PROMPT_VERSION,
                "Dimension": dimension,
                "HashA": JudgeInput(question, answer_a).content_hash(),
                "HashB": JudgeInput(question, answer_b).content_hash(),
                "AFirst": verdict.a_first,
                "BFirst": verdict.b_first,
            }
            for question, answer_a, answer_b, verdict in compared
        ]
    )


def order_sensitivity(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per dimension, from stored comparisons (Dimension, AFirst, BFirst): how many, how
    many flipped with the order, and the flip rate.

    >>> order_sensitivity([{"Dimension": "tone", "AFirst": "A", "BFirst": "B"},
    ...                    {"Dimension": "tone", "AFirst": "A", "BFirst": "A"}])
    [{'dimension': 'tone', 'comparisons': 2, 'flips': 1, 'flip_rate': 0.5}]
    """
    by_dimension: dict[str, list[PairVerdict]] = {}
    for row in rows:
        verdict = PairVerdict(str(row["AFirst"]), str(row["BFirst"]))
        by_dimension.setdefault(str(row["Dimension"]), []).append(verdict)
    return [
        {
            "dimension": dimension,
            "comparisons": len(verdicts),
            "flips": sum(v.flipped for v in verdicts),
            "flip_rate": flip_rate(verdicts),
        }
        for dimension, verdicts in sorted(by_dimension.items())
    ]


def flip_rate(verdicts: Sequence[PairVerdict]) -> float | None:
    """The share of comparisons whose winner changed with the order (4 places); None for
    none."""
    if not verdicts:
        return None
    return round(sum(v.flipped for v in verdicts) / len(verdicts), 4)
