"""Faithfulness: lexical groundedness, the length-only control, and drops in grounding."""

from __future__ import annotations

import math
import random

import pytest

from tests.detectors.streams import PLAN_FACTS, alarm_indices
from watchkeeper.detectors import Call, FaithfulnessDrift, LexicalGroundedness

#: Advice the contexts do not state: it lowers the score of the longer answers carrying it.
ADVICE = "Prices can change, so check the pricing page again before you subscribe."


@pytest.mark.parametrize(
    ("answer", "low", "high"),
    [
        ("The Plus plan costs 9 dollars per month.", 0.99, 1.0),
        ("The Plus plan costs 19 dollars per month.", 0.45, 0.55),  # wrong number
        ("The Plus plan was designed by Maria Lopez in Lisbon.", 0.0, 0.4),  # made up
        ("Offline sync is included in Plus.", 0.5, 1.0),  # reordered: words yes, pairs partly
    ],
)
def test_lexical_groundedness_catches_unsupported_words_numbers_and_names(
    answer: str, low: float, high: float
) -> None:
    """Supported answers score near 1; a wrong number halves; invented facts score low."""
    assert low <= LexicalGroundedness()(answer, PLAN_FACTS) <= high


def test_groundedness_is_not_applicable_without_content() -> None:
    """No contexts or no content words: NaN, and the detector reports nothing."""
    score = LexicalGroundedness()
    assert math.isnan(score("Yes.", PLAN_FACTS))
    assert math.isnan(score("The Plus plan.", []))
    detector = FaithfulnessDrift()
    detector.update(Call("q", "Yes.", PLAN_FACTS))
    assert detector.scores == {}


def _rag_stream(seed: int, n: int, long_share: float, hallucinated: float) -> list[Call]:
    """Answers quoting the retrieved facts; some long (with advice), some made up."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        contexts = rng.sample(PLAN_FACTS, 2)
        answer = contexts[0]
        if rng.random() < long_share:
            answer = f"{contexts[0]} {contexts[1]} {ADVICE}"
        if rng.random() < hallucinated:
            answer = answer.replace(
                "dollars", f"euros, founded by Ada in {rng.randint(1900, 2000)}"
            )
        out.append(Call("what does it cost?", answer, contexts))
    return out


def test_a_drop_in_grounding_is_detected_and_explained() -> None:
    """Made-up details in a fifth of the answers raise an alarm soon after they start."""
    detector = FaithfulnessDrift()
    stream = _rag_stream(1, 2000, 0.5, 0.0) + _rag_stream(2, 1000, 0.5, 0.2)
    reasons: list[str] = []
    alarms = alarm_indices(detector, stream, reasons)
    assert alarms
    assert 2000 <= alarms[0] < 2300
    assert "length-only control" in reasons[0]


def test_longer_answers_alone_are_not_mistaken_for_worse_grounding() -> None:
    """Answers getting longer (same grounding per length) lower the raw score, not alarms.

    The length-only control predicts the lower score, and the detector watches the
    difference: no alarm, while the mean raw faithfulness clearly fell.
    """
    detector = FaithfulnessDrift()
    before = _rag_stream(3, 2000, 0.2, 0.0)
    after = _rag_stream(4, 3000, 0.9, 0.0)
    assert alarm_indices(detector, before) == []
    raw_before, control_before = detector.recent_faithfulness, detector.recent_control
    assert alarm_indices(detector, after) == []
    assert detector.recent_faithfulness < raw_before - 0.03
    # The control fell by as much: length explains the drop.
    assert raw_before - detector.recent_faithfulness == pytest.approx(
        control_before - detector.recent_control, abs=0.03
    )


def test_a_stronger_scorer_plugs_in() -> None:
    """Any (answer, contexts) -> float callable replaces the lexical scorer."""
    detector = FaithfulnessDrift(scorer=_always_half)
    detector.update(Call("q", "anything", ["context"]))
    assert detector.scores == {"faithfulness": 0.5}


def _always_half(answer: str, contexts: object) -> float:
    return 0.5
