"""Faithfulness claim by claim: alignment, contradictions, pleasantries, bad input, dev sets."""

from __future__ import annotations

import math
import pickle

import pytest
from training.faithfulness.dev_sets import Item, build

from watchkeeper.detectors.faithfulness.claims import ClaimGroundedness
from watchkeeper.detectors.faithfulness.groundedness import LexicalGroundedness

ARTICLE = [
    "The Lumen Pro plan costs 12 dollars per month and includes offline sync. "
    "It was launched in 2021 by Ada Byron in Lisbon. "
    "The Basic plan does not include sync, and it is cheaper than Pro. "
    "Refunds are accepted within 30 days of purchase."
]


@pytest.mark.parametrize(
    ("answer", "low", "high"),
    [
        ("The Lumen Pro plan costs 12 dollars per month.", 1.0, 1.0),
        ("Refunds are accepted within 30 days. Hope this helps!", 1.0, 1.0),
        ("The Basic plan includes sync.", 0.0, 0.5),  # negation dropped
        ("The Basic plan is more expensive than Pro.", 0.0, 0.8),  # words absent
        (
            "The Basic plan is cheaper than Pro, and it does not include sync.",
            0.8,
            1.0,
        ),  # reordered
        ("It was launched in 2030 by Ada Byron in Lisbon.", 0.0, 0.5),  # unknown year
        ("Refunds are accepted within 2021 days of purchase.", 0.0, 0.75),  # year elsewhere
        ("It was launched in 2021 by Ada Byron in Porto.", 0.0, 0.65),  # unknown place
    ],
)
def test_claims_that_change_facts_score_low_and_copies_high(
    answer: str, low: float, high: float
) -> None:
    """Copies and restatements score high; negations, numbers and names that differ, low."""
    assert low <= ClaimGroundedness()(answer, ARTICLE) <= high


def test_one_made_up_sentence_lowers_a_long_answer_more_than_its_share() -> None:
    """A summary that adds an unsupported fact falls below the mean of its sentences."""
    faithful = (
        "The Lumen Pro plan costs 12 dollars per month. It was launched in 2021. "
        "Refunds are accepted within 30 days of purchase."
    )
    added = faithful + " The company employs 400 engineers in Berlin."
    score = ClaimGroundedness()
    assert score(faithful, ARTICLE) == 1.0
    assert score(added, ARTICLE) < 0.75 * 1.0
    assert LexicalGroundedness()(added, ARTICLE) > score(added, ARTICLE)


def test_opposite_words_of_the_aligned_sentence_are_caught() -> None:
    """'after' where the aligned source says 'before' is a contradiction, not a paraphrase."""
    contexts = ["Close the file before you open the archive."]
    score = ClaimGroundedness()
    assert score("Close the file before you open the archive.", contexts) == 1.0
    assert score("Close the file after you open the archive.", contexts) <= 0.5


def test_a_clause_left_out_does_not_read_as_a_dropped_negation() -> None:
    """Restating one clause of a sentence is compared with that clause only; a negation
    the claim itself drops still counts."""
    contexts = ["The cache keeps recent entries, but it does not keep expired ones."]
    score = ClaimGroundedness()
    assert score("The cache keeps recent entries.", contexts) == 1.0
    assert score("The cache keeps expired ones.", contexts) <= 0.5
    assert score("No, we keep them.", ["No, we keep them."]) == 1.0


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   ",
        "\ud800 lone surrogate \udfff",
        "\x00\x01\x02" * 1000,
        "x" * 1_000_000,
        "Prix: 12 € по месяцу 月額 12 ドル. Plan Pro!",
    ],
)
def test_bad_input_gets_a_score_or_nan_never_an_exception(answer: str) -> None:
    """Empty, binary-looking, huge and mixed-script answers: a number in [0, 1] or NaN."""
    got = ClaimGroundedness()(answer, [*ARTICLE, answer])
    assert math.isnan(got) or 0.0 <= got <= 1.0


def test_no_contexts_or_no_content_is_not_scored() -> None:
    """No contexts, or nothing checkable in the answer: NaN."""
    score = ClaimGroundedness()
    assert math.isnan(score("The Pro plan costs 12 dollars.", []))
    assert math.isnan(score("Hope this helps!", ARTICLE))


def test_the_scorer_pickles_without_its_cache() -> None:
    """Checkpoints hold the settings only; the restored scorer scores the same."""
    score = ClaimGroundedness(max_context_chars=500)
    before = score("It was launched in 2030.", ARTICLE)
    restored = pickle.loads(pickle.dumps(score))
    assert restored.max_context_chars == 500
    assert restored("It was launched in 2030.", ARTICLE) == before


def _auroc(items: list[Item], score: object) -> float:
    """P(a faithful item scores above an unfaithful one), ties counting half."""
    assert callable(score)
    value = {id(i): score(i.answer, i.contexts) for i in items}
    value = {k: 0.0 if math.isnan(v) else v for k, v in value.items()}
    good = [value[id(i)] for i in items if i.faithful]
    bad = [value[id(i)] for i in items if not i.faithful]
    wins = sum((g > b) + 0.5 * (g == b) for g in good for b in bad)
    return float(wins / (len(good) * len(bad)))


@pytest.mark.parametrize("style", ["qa", "summary"])
def test_on_a_dev_set_claims_beat_word_overlap_and_length_tells_nothing(style: str) -> None:
    """On pairs built from Python's own help texts, lengths matched: the claim scorer ranks
    faithful answers above unfaithful ones better than the lexical one, and answer length
    alone is close to chance."""
    _, items = build(style, 60, seed=1, source="pydoc")
    assert len(items) == 120
    claims = _auroc(items, ClaimGroundedness())
    lexical = _auroc(items, LexicalGroundedness())
    length = _auroc(items, lambda answer, _contexts: -len(answer.split()))
    assert claims > lexical + 0.03
    assert claims > 0.85
    assert 0.35 < length < 0.65


def test_synonyms_names_word_by_word_and_asides_are_read_as_the_source_says() -> None:
    """A paraphrase by synonyms scores as the copy (an unrelated word does not); a name
    of several words ("PyModule_ExecDef"), or in the possessive ("Python's"), repeated
    from the source is stated; leaving out an aside's negation "(not the keys)" is no
    dropped negation."""
    score = ClaimGroundedness()
    source = ["A new file is created in the folder. Values (not the keys) are copied."]
    copy = score("A new file is created in the folder.", source)
    assert score("A new file is made in the folder.", source) == copy == 1.0
    assert score("A new file is baked in the folder.", source) < 0.9
    without = [source[0].replace("not ", "")]
    assert score("Values are copied.", source) == score("Values are copied.", without)
    assert score("Values are not copied.", source) < score("Values are copied.", source)
    named = ["Both PyModule_FromDefAndSpec and PyModule_ExecDef must be called."]
    assert score(named[0], named) == 1.0
    # A name the contexts give only in the possessive is stated.
    owned = ["This module uses Python's import system."]
    assert score("Python", owned, question="Whose import system does the module use?") == 1.0
