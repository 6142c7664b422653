"""Judge against reviewers: worked examples with known answers."""

from __future__ import annotations

import pytest

from watchkeeper.collector.judge.agreement import (
    Pair,
    bootstrap_interval,
    confusion,
    kappa,
    length_bias,
    reliability,
    same_family,
)
from watchkeeper.collector.settings.rubric import RubricDimension

PASS_FAIL = RubricDimension(kind="pass_fail")


def _table(both_yes: int, judge_yes: int, human_yes: int, both_no: int) -> list[Pair]:
    cells = [(1, 1)] * both_yes + [(1, 0)] * judge_yes + [(0, 1)] * human_yes + [(0, 0)] * both_no
    return [Pair(str(i), j, h) for i, (j, h) in enumerate(cells)]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # The two-rater yes/no tables of the usual textbook presentation of Cohen's kappa:
        # p_o = 0.70, p_e = 0.50 -> 0.4; p_o = 0.60, p_e = 0.54 -> 0.1304.
        ((20, 5, 10, 15), 0.4),
        ((45, 15, 25, 15), 0.1304),
    ],
)
def test_kappa_matches_the_textbook_tables(
    cells: tuple[int, int, int, int], expected: float
) -> None:
    """Cohen's kappa of judge against reviewer on the worked 2x2 tables."""
    assert kappa(_table(*cells)) == pytest.approx(expected, abs=1e-4)


def test_the_bootstrap_interval_holds_kappa_and_is_fixed_by_its_seed() -> None:
    """The 95% interval around 0.4 contains it, is not a point, and repeats exactly;
    perfect agreement has the interval (1, 1)."""
    pairs = _table(20, 5, 10, 15)
    interval = bootstrap_interval(pairs)
    assert interval is not None
    assert interval[0] < 0.4 < interval[1]
    assert bootstrap_interval(pairs) == interval
    assert bootstrap_interval(_table(10, 0, 0, 10)) == (1.0, 1.0)


def test_the_confusion_matrix_has_reviewers_as_rows() -> None:
    """Rows are the reviewer's value, columns the judge's, on the dimension's scale."""
    matrix = confusion(_table(20, 5, 10, 15), PASS_FAIL)
    assert matrix == {"labels": ["fail", "pass"], "rows": [[15, 5], [10, 20]]}


def test_expected_calibration_error_of_a_worked_example() -> None:
    """Judge scores 2 and 4 on 1-5 read as confidences 0.25 and 0.75; reviewers pass one
    of four and two of four: ECE = 0.5 x 0 + 0.5 x 0.25 = 0.125, and the reliability table
    says so bin by bin."""
    pairs = [Pair(f"a{i}", 2, h) for i, h in enumerate((5, 1, 1, 1))]
    pairs += [Pair(f"b{i}", 4, h) for i, h in enumerate((5, 5, 1, 1))]
    ece, table = reliability(pairs, RubricDimension())
    assert ece == 0.125
    assert table == [
        {"score": 2, "confidence": 0.25, "passed": 0.25, "n": 4},
        {"score": 4, "confidence": 0.75, "passed": 0.5, "n": 4},
    ]


def test_length_bias_is_read_among_items_reviewers_scored_the_same() -> None:
    """A judge that scores longer answers higher when reviewers scored them equal has a
    length bias near 1; one that follows the reviewers only has none, even though longer
    answers there happen to be the better ones."""
    biased = [Pair(f"b{n}", 2 + n // 200, 3, n) for n in (100, 200, 400, 600)]
    assert length_bias(biased) == 1.0
    fair = [
        Pair(f"f{n}", h, h, n)
        for h, n in ((2, 100), (2, 300), (2, 200), (4, 900), (4, 700), (4, 800))
    ]
    assert length_bias(fair) is None


def test_self_preference_flags_one_family() -> None:
    """A GPT judge on a GPT app is flagged; on Claude or an unknown model it is not."""
    assert same_family("gpt-4o", "gpt-4o-mini")
    assert not same_family("gpt-4o", "claude-3-5-haiku")
    assert not same_family("my-judge", "my-judge")
