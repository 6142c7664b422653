"""The comparison's verdicts: a drop the cases cannot show is not called "no difference"."""

from __future__ import annotations

from watchkeeper.collector.experiments.compare import compare
from watchkeeper.collector.experiments.results import CaseResult


def _results(values: list[float]) -> list[CaseResult]:
    return [
        CaseResult(f"case-{i}", "t", "f", True, "x", None, 0.0, {"exact_match": v})
        for i, v in enumerate(values)
    ]


def _verdict(baseline: list[float], candidate: list[float]) -> str:
    (row,) = compare(_results(baseline), _results(candidate), {"exact_match": 0.01})
    return row.verdict


def test_a_halved_score_on_two_cases_is_undecided_not_equal() -> None:
    """One of two cases failing may be a regression; two cases cannot show it."""
    assert _verdict([1.0, 1.0], [1.0, 0.0]) == "no detectable difference"


def test_equal_results_show_no_difference() -> None:
    assert _verdict([1.0] * 10, [1.0] * 10) == "no difference"


def test_a_clear_drop_regresses() -> None:
    assert _verdict([1.0] * 20, [0.0] * 8 + [1.0] * 12) == "regressed"
