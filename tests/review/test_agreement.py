"""Agreement statistics against published worked examples."""

from __future__ import annotations

import pytest

from watchkeeper.collector.review.agreement import (
    category_counts,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
)

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the worked example
# with 4 observers, 12 units and missing values (None).
_KRIPPENDORFF_OBSERVERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _units() -> list[list[int]]:
    return [[row[i] for row in _KRIPPENDORFF_OBSERVERS if row[i] is not None] for i in range(12)]


@pytest.mark.parametrize(
    ("level", "expected"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_matches_the_published_example(level: str, expected: float) -> None:
    """Alpha of Krippendorff's own example, with missing values, at every level."""
    alpha = krippendorff_alpha(_units(), level)  # type: ignore[arg-type]
    assert alpha is not None
    assert round(alpha, 3) == expected


def test_krippendorff_alpha_is_undefined_without_variation_or_pairs() -> None:
    """All values equal, or no item with two values: alpha is None, not a number."""
    assert krippendorff_alpha([[3, 3], [3, 3, 3]]) is None
    assert krippendorff_alpha([[1], [2], []]) is None


def test_krippendorff_alpha_accepts_a_mapping_of_items() -> None:
    """Items keyed by id give the same alpha as a list."""
    units = _units()
    assert krippendorff_alpha(dict(enumerate(units)), "ordinal") == krippendorff_alpha(
        units, "ordinal"
    )


def test_fleiss_kappa_matches_the_wikipedia_example() -> None:
    """Fleiss' kappa of the 10 subjects x 14 raters x 5 categories example: 0.210."""
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    kappa = fleiss_kappa(table)
    assert kappa is not None
    assert round(kappa, 3) == 0.210


def test_fleiss_kappa_refuses_unequal_rating_counts() -> None:
    """Rows with different numbers of ratings are an error, not a silent wrong number."""
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[2, 0], [1, 2]])


def test_cohen_kappa_matches_the_wikipedia_example() -> None:
    """Two raters, 50 items: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa 0.4."""
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    kappa = cohen_kappa(first, second)
    assert kappa is not None
    assert round(kappa, 3) == 0.4


def test_category_counts_feed_fleiss() -> None:
    """Raw ratings per item become the count table Fleiss' kappa reads."""
    assert category_counts([[1, 1, 0], [0, 0, 0]]) == [[1, 2], [3, 0]]
