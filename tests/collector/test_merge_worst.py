"""One value per score name across detectors, as ``replay`` and ``experiment`` report
them: the worst, whichever way the score points."""

from __future__ import annotations

import doctest

from watchkeeper.collector import scores
from watchkeeper.collector.scores import merge_worst


def test_doctests() -> None:
    """The example in ``merge_worst``'s docstring is true."""
    result = doctest.testmod(scores)
    assert result.attempted > 0
    assert result.failed == 0


def test_the_worst_value_stays_in_either_order() -> None:
    """Lower faithfulness is worse, higher refusal is worse: the same result whichever
    detector reported first."""
    wide = [{"a.faithfulness": 0.7, "a.refusal": 0.0}, {"b.faithfulness": 0.2, "b.refusal": 1.0}]
    forward: dict[str, float] = {}
    backward: dict[str, float] = {}
    for one in wide:
        merge_worst(forward, one)
    for one in reversed(wide):
        merge_worst(backward, one)
    assert forward == backward == {"faithfulness": 0.2, "refusal": 1.0}
