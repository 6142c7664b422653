"""QA with the question: short answers (a name, a number, a term) and one-sentence answers.

Closer to question answering over a knowledge paragraph than the ``qa`` set: each item
has a question about one sentence of a paragraph, and the answer is either the asked-for
span alone ("3.8", "Windows", "exception") or one sentence stating it. The unfaithful
member of a pair names another span of the same kind:

- ``span_here``: one from another place of the same paragraph (plausible, and its words
  are all in the context: only the question tells it is wrong);
- ``span_elsewhere``: one from another document;
- ``number``: a near number (for number spans);
- ``swap`` / ``negation``: the relation reversed (one-sentence answers only).

The question is built from the sentence (the span replaced by "what", a trailing clause
cut now and then, some words put differently), so it shares words with the sentence it
asks about, as a reader's question does, without copying it whole.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from training.faithfulness import perturb
from training.faithfulness.sources import prose_sentences

#: A faithful restatement of a sentence (``dev_sets`` rewording).
Reword = Callable[[str, random.Random], str]
#: A lower-case noun-like term ("exception", "interpreter", "encoding"): endings of nouns
#: for things and concepts, so a span reads as an answer, not as a verb.
TERM = re.compile(
    r"\b[a-z]{3,}(?:tion|sion|ment|ness|ity|ism|ance|ence|ure|age|ory|ter|ser|tor)s?\b"
)


@dataclass(frozen=True)
class Span:
    """An answerable span of a sentence: its kind, text and place."""

    kind: str
    text: str
    start: int
    end: int


def spans_of(sentence: str) -> list[Span]:
    """The numbers, names and terms of a sentence, in order.

    >>> [(s.kind, s.text) for s in spans_of("Since Python 3.8 the parser reads it.")]
    [('name', 'Python'), ('number', '3.8'), ('term', 'parser')]
    """
    found = [
        Span("number", m.group(), m.start(), m.end()) for m in perturb.NUMBER.finditer(sentence)
    ]
    found += [
        Span("name", m.group(), m.start(), m.end()) for m in perturb.CAPITALISED.finditer(sentence)
    ]
    found += [Span("term", m.group(), m.start(), m.end()) for m in TERM.finditer(sentence)]
    return sorted(found, key=lambda s: s.start)


def question_for(sentence: str, span: Span, rng: random.Random, reword: Reword) -> str:
    """The sentence as a question about ``span``: it replaced by "what"."""
    asked = sentence[: span.start] + "what" + sentence[span.end :]
    asked = reword(asked, rng)
    asked = asked.rstrip(" .!?")
    # A question that states its own answer elsewhere ("Widget hierarchy what are arranged
    # in a hierarchy?") asks nothing: a reader would not write it.
    said = re.search(rf"\b{re.escape(span.text)}\b", asked, re.IGNORECASE)
    if "what" not in asked or said is not None:
        return ""
    return asked[:1].upper() + asked[1:] + "?"


def _closest(options: list[str], text: str, rng: random.Random) -> str | None:
    """One of the options nearest ``text`` in length (keeps the pair's lengths matched)."""
    same = text.lower().rstrip("s")
    options = sorted({o for o in options if o.lower().rstrip("s") != same})
    if not options:
        return None
    options.sort(key=lambda o: abs(len(o) - len(text)))
    return rng.choice(options[:5])


def wrong_spans(
    span: Span, sentence: str, paragraph: list[Span], elsewhere: list[str], rng: random.Random
) -> dict[str, str]:
    """fault -> the wrong span of that kind, for the kinds that apply."""
    found: dict[str, str] = {}
    here = _closest([s.text for s in paragraph if s.kind == span.kind], span.text, rng)
    if here is not None:
        found["span_here"] = here
    far = _closest(rng.sample(elsewhere, min(200, len(elsewhere))), span.text, rng)
    if far is not None:
        found["span_elsewhere"] = far
    if span.kind == "number":
        near = perturb.change_number(span.text, rng)
        if near is not None and near != span.text:
            found["number"] = near
    return found


def relation_faults(answer: str, rng: random.Random) -> dict[str, str]:
    """fault -> the one-sentence answer with its relation reversed."""
    found = {}
    for kind, change in (("swap", perturb.swap_names), ("negation", perturb.flip_negation)):
        changed = change(answer, rng)
        if changed is not None and changed != answer:
            found[kind] = changed
    return found


def paragraph_spans(paragraph: str) -> list[tuple[str, Span]]:
    """Every (sentence, span) of a paragraph, for sentences of at least six words."""
    return [
        (sentence, span)
        for sentence in prose_sentences(paragraph)
        if len(sentence.split()) >= 6
        for span in spans_of(sentence)
    ]
