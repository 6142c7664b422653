"""Short answers checked against where their question points in the contexts."""

from __future__ import annotations

import math

import pytest
from training.faithfulness.dev_sets import build

from watchkeeper.detectors import Call
from watchkeeper.detectors.faithfulness.claims import ClaimGroundedness
from watchkeeper.detectors.faithfulness.faithfulness_drift import FaithfulnessDrift

PARAGRAPH = [
    "The Lumen Pro plan was launched in 2021 by Ada Byron in Lisbon. "
    "The Basic plan costs 5 dollars per month and has no offline sync. "
    "The support team moved to Porto in 2023 after the company grew."
]
QUESTION = "In which city was the Lumen Pro plan launched?"


def test_an_answer_from_elsewhere_in_the_context_scores_below_the_asked_one() -> None:
    """Both cities are in the context; only the question says Lisbon is the one asked for."""
    score = ClaimGroundedness()
    right = score("Lisbon", PARAGRAPH, question=QUESTION)
    wrong = score("Porto", PARAGRAPH, question=QUESTION)
    assert right == 1.0
    assert wrong < 0.6
    # Named only next to the asked sentence: half credit (an answer may span two).
    assert score("5 dollars", PARAGRAPH, question=QUESTION) == 0.75
    # Without the question both are grounded words of the context.
    assert score("Porto", PARAGRAPH) == 1.0


def test_a_bare_number_is_scored_with_its_question() -> None:
    """A year answer has no content words: with the question it is checked, not NaN."""
    score = ClaimGroundedness()
    asked = "In which year was the Lumen Pro plan launched by Ada Byron?"
    assert math.isnan(score("2021", PARAGRAPH))
    assert score("2021", PARAGRAPH, question=asked) == 1.0
    assert score("2023", PARAGRAPH, question=asked) < 1.0
    assert score("1999", PARAGRAPH, question=asked) <= 0.5


def test_vague_questions_and_long_answers_are_left_to_the_claims() -> None:
    """A question of few content words points nowhere, and an answer of several sentences
    is aligned claim by claim: the question changes neither score."""
    score = ClaimGroundedness()
    assert score("Porto", PARAGRAPH, question="Which city?") == score("Porto", PARAGRAPH)
    answer = "The support team moved to Porto in 2023. The Basic plan costs 5 dollars."
    assert score(answer, PARAGRAPH, question=QUESTION) == score(answer, PARAGRAPH)


def test_a_prompt_quoting_its_contexts_is_read_as_its_question() -> None:
    """FaithfulnessDrift passes the prompt; the contexts quoted in it are taken out."""
    detector = FaithfulnessDrift()
    prompt = f"Answer from this text: {PARAGRAPH[0]}\n{QUESTION}"
    detector.update(Call(prompt, "Porto", PARAGRAPH))
    assert detector.scores["faithfulness"] < 0.6
    detector.update(Call(prompt, "Lisbon", PARAGRAPH))
    assert detector.scores["faithfulness"] == 1.0
    assert detector.scorer_version == ClaimGroundedness.version


def test_on_the_question_set_the_question_helps() -> None:
    """On question/short-answer pairs from Python's help texts, reading the question
    ranks faithful answers above unfaithful ones better than the answer alone."""
    _, items = build("span_qa", 60, seed=1, source="pydoc")
    score = ClaimGroundedness()

    def auroc(with_question: bool) -> float:
        value = [
            score(i.answer, i.contexts, question=i.question if with_question else "") for i in items
        ]
        value = [0.0 if math.isnan(v) else v for v in value]
        good = [v for v, i in zip(value, items, strict=True) if i.faithful]
        bad = [v for v, i in zip(value, items, strict=True) if not i.faithful]
        return sum((g > b) + 0.5 * (g == b) for g in good for b in bad) / (len(good) * len(bad))

    assert len(items) == 120
    assert auroc(True) > auroc(False) + 0.03


@pytest.mark.parametrize(
    "question",
    [
        "",
        "x" * 1_000_000,
        "\ud800 which city launched the plan?",
        "Lumen plan city \x00\x01",
        "1 2 3",
    ],
)
@pytest.mark.parametrize("answer", ["Lisbon", "2021", "\ud800", "", "   ", "リスボン", "\x00\x00"])
def test_bad_questions_and_answers_get_a_score_or_nan(question: str, answer: str) -> None:
    """Empty, huge, binary-looking and lone-surrogate questions and answers never raise."""
    score = ClaimGroundedness()(answer, PARAGRAPH, question=question)
    assert math.isnan(score) or 0.0 <= score <= 1.0


def test_an_answer_that_says_its_question_back_scores_below_the_asked_one() -> None:
    """Naming what the question already names adds nothing ("Lumen" for where the plan was
    launched), unless the question offers it as a choice ("Lisbon or Porto?")."""
    score = ClaimGroundedness()
    assert score("Lisbon", PARAGRAPH, question=QUESTION) == 1.0
    assert score("Lumen Pro", PARAGRAPH, question=QUESTION) == 0.5
    choice = "Was the Lumen Pro plan launched in Lisbon or Porto?"
    assert score("Lisbon", PARAGRAPH, question=choice) == 1.0
    # A sentence restating the question is left to its claims.
    sentence = "The Lumen Pro plan was launched in Lisbon."
    assert score(sentence, PARAGRAPH, question=QUESTION) == score(sentence, PARAGRAPH)
