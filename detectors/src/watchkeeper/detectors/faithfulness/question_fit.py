"""Whether a short answer states what its question asks about.

A question points at the part of the context its answer must come from: "Which version
added the walrus operator?" aligns with the sentence about the walrus operator, and an
answer naming a version from another sentence ("3.6", in the context but about something
else) is as wrong as one from nowhere, though every word of it is grounded. A short
answer is one claim whose support the claim scorer finds in the words of the contexts
alone; this check adds where those words must be.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from watchkeeper.detectors.faithfulness.source_index import SourceIndex
from watchkeeper.detectors.text.tokens import content_words_of, numbers_of, tokenize

#: Longest answer checked against its question (characters; one sentence at most):
#: longer answers make several claims, each aligned to its own source sentence by the
#: claim scorer.
MAX_ANSWER_CHARS = 300
#: Longest question read, once the contexts quoted in it are taken out: a longer prompt is
#: instructions or a conversation, not one question.
MAX_QUESTION_CHARS = 600
#: Factor on the score of an answer none of whose new words or numbers (those not in the
#: question) are in or next to the sentence the question aligns with.
OFF_QUESTION_FACTOR = 0.5
#: Content words a question needs, and how many of them the sentence it aligns with must
#: hold, for the alignment to say where the answer must be: "How does a computer work?"
#: points nowhere in particular.
MIN_QUESTION_WORDS = 3
MIN_ALIGNED_WORDS = 2
#: Words by which a question offers its answers ("A or B?", "whether A", "between A and
#: B"): an answer that repeats one of them adds nothing to the question, yet is an answer.
CHOICE_WORDS = frozenset({"or", "nor", "either", "whether", "between", "versus", "vs"})
#: How near (in tokens) a choice word must be to the option an answer repeats.
CHOICE_REACH = 3
#: Most content words and numbers of an answer checked for saying its question back.
MAX_REPEATED_WORDS = 3
#: What a word counts for when only a neighbour of the aligned sentence states it (a
#: question may be answered across two sentences).
NEIGHBOUR_WEIGHT = 0.5


def asked(prompt: str, contexts: Sequence[str]) -> str:
    """The question in ``prompt``: the prompt with the contexts it quotes taken out; ""
    when what is left is too long to be one question.

    >>> asked("Context: Refunds take 30 days. How long?", ["Refunds take 30 days."])
    'Context:  How long?'
    """
    for context in contexts:
        if context and context in prompt:
            prompt = prompt.replace(context, "")
    return prompt if len(prompt) <= MAX_QUESTION_CHARS else ""


def question_fit(question: str, answer: str, source: SourceIndex) -> float | None:
    """Factor in [OFF_QUESTION_FACTOR, 1] for where what ``answer`` adds to ``question``
    is stated: each new word or number counts by how many of the question's words the
    sentence stating it holds (or NEIGHBOUR_WEIGHT of its neighbour's), as a share of the
    most any sentence holds; None when there is nothing to check.

    >>> from watchkeeper.detectors.faithfulness.source_index import PassageIndex
    >>> source = SourceIndex([PassageIndex(
    ...     "The walrus operator came in Python 3.8. Dark gardens grow. Moon trips are long."
    ...     " Type hints were added in Python 3.5.")])
    >>> question_fit("Which Python version added type hints?", "3.5", source)
    1.0
    >>> question_fit("Which Python version added type hints?", "3.8", source)
    0.625
    """
    question_tokens = tokenize(question)
    asked_words = set(content_words_of(question_tokens))
    if len(asked_words) < MIN_QUESTION_WORDS:
        return None
    answer_tokens = tokenize(answer)
    new_words = [w for w in content_words_of(answer_tokens) if w not in asked_words]
    new_numbers = numbers_of(answer_tokens) - numbers_of(question_tokens)
    if not new_words and not new_numbers:
        return repeated_fit(question_tokens, answer_tokens)
    counts = source.sentence_counts(tuple(asked_words))
    top = max(counts.values(), default=0)
    if top < MIN_ALIGNED_WORDS:
        return None
    held = sum(
        _asked_at(counts, source.places_of(w) or source.places_of(w + "'s")) for w in new_words
    )
    held += sum(_asked_at(counts, source.places_of_number(n)) for n in new_numbers)
    share = held / (top * (len(new_words) + len(new_numbers)))
    return OFF_QUESTION_FACTOR + (1 - OFF_QUESTION_FACTOR) * share


def repeated_fit(question: tuple[str, ...], answer: tuple[str, ...]) -> float | None:
    """Factor for a short answer that only says words of its question back:
    OFF_QUESTION_FACTOR, since it adds nothing ("In Python, all exceptions derive from
    what?" answered "Python"), unless the question offers it as a choice ("A or B?",
    answered "A"); None when the answer has no content word or number, or more than
    MAX_REPEATED_WORDS (a sentence restating the question may name its answer with a
    question's word: "Exception is the base of all exceptions").

    >>> repeated_fit(tokenize("Which city hosts the festival?"), tokenize("The festival."))
    0.5
    >>> repeated_fit(tokenize("Is Oslo or Bergen bigger?"), tokenize("Oslo")) is None
    True
    """
    said = set(content_words_of(answer)) | numbers_of(answer)
    if not said or len(said) > MAX_REPEATED_WORDS:
        return None
    return None if offered(question, said) else OFF_QUESTION_FACTOR


def offered(question: tuple[str, ...], said: set[str]) -> bool:
    """Whether a word of ``said`` is next to a choice word of the question (within
    CHOICE_REACH tokens): "Oslo" in "Is Oslo or Bergen bigger?", not "World" in "The
    what Object Model, or DOM, is from the World Wide Web Consortium?".

    >>> offered(tokenize("Is Oslo or Bergen bigger?"), {"oslo"})
    True
    """
    choices = [i for i, token in enumerate(question) if token in CHOICE_WORDS]
    if not choices:
        return False
    forms = [content_words_of((token,)) or tuple(numbers_of((token,))) for token in question]
    return any(
        abs(i - j) <= CHOICE_REACH
        for i, form in enumerate(forms)
        if form and form[0] in said
        for j in choices
    )


def _asked_at(counts: Counter[int], places: list[int]) -> float:
    """The most question words any of ``places`` holds, or NEIGHBOUR_WEIGHT of what a
    neighbour of it holds (keys of one passage's sentences are consecutive)."""
    return max(
        (max(counts[at], NEIGHBOUR_WEIGHT * max(counts[at - 1], counts[at + 1])) for at in places),
        default=0.0,
    )
