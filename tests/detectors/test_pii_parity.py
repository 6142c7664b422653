"""``find_pii`` gives what its patterns, run over the whole text, give: with the compiled
core and without, on texts of every kind in many formats and the near misses around them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.detectors.pii_texts import pii_texts
from watchkeeper.detectors.safety import pii
from watchkeeper.detectors.text import ahead
from watchkeeper.detectors.text.tokens import MAX_CHARS

#: The texts the patterns are run on: an ``@`` or any run of digits and separators.
_RUN = re.compile(r"\d[\d ()./-]{5,}\d")


def reference(text: str) -> dict[str, list[str]]:
    """The patterns over the whole head, without screens or segments."""
    head = text[:MAX_CHARS]
    if "@" not in head and _RUN.search(head) is None:
        return {}
    found: dict[str, list[str]] = {}
    for match in pii._ANY_KIND.finditer(head):
        kind, value = match.lastgroup or "", match.group().strip()
        if kind == "card" and not pii._luhn(re.sub(r"\D", "", value)):
            continue
        if kind == "iban" and not pii._iban_ok(value):
            continue
        found.setdefault(kind, []).append(value)
    return found


@pytest.fixture(params=["core", "python"])
def path(request: pytest.FixtureRequest) -> Iterator[str]:
    """``find_pii`` with its core screen (when installed) and without it."""
    saved = pii._CORE_SCREEN
    if request.param == "python":
        pii._CORE_SCREEN = None
    elif saved is None:
        pytest.skip("the compiled core is not installed")
    ahead.forget()
    try:
        yield request.param
    finally:
        pii._CORE_SCREEN = saved


def test_the_corpus_holds_every_kind_and_near_misses() -> None:
    """The corpus finds every kind many times, and holds values that fail a check."""
    counts: dict[str, int] = {}
    for text in pii_texts():
        for kind, values in reference(text).items():
            counts[kind] = counts.get(kind, 0) + len(values)
    assert set(counts) == {"email", "card", "iban", "ssn", "phone", "ipv4"}
    assert min(counts.values()) >= 50, counts
    rejected = [t for t in pii_texts() if pii._ANY_KIND.search(t) and not reference(t)]
    assert len(rejected) >= 50


def test_find_pii_equals_the_patterns(path: str) -> None:
    """Kinds, values and their order, on every text of the corpus."""
    wrong = [(t, pii.find_pii(t), reference(t)) for t in pii_texts()]
    assert [w for w in wrong if w[1] != w[2]][:5] == []


def test_dates_with_slashes_are_not_looked_at(path: str) -> None:
    """No kind holds a ``/``: a date like 12/05/2024 is screened out (but an IBAN is found
    next to one)."""
    assert not pii._may_hold_pii("Delivered on 12/05/2024 at 10:20.")
    assert pii.find_pii("on 12/05/2024 to GB83 WEST ABCD EFGH IJ") == {
        "iban": ["GB83 WEST ABCD EFGH IJ"]
    }
    assert pii.find_pii("to GB83 WEST ABCD EFGH IJ") == {}
