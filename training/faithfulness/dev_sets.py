"""Development sets for faithfulness: faithful and unfaithful answers, lengths matched.

Built deterministically (a seed) from prose that ships in packages (see
:mod:`training.faithfulness.sources`). Every item comes in a pair made from the same source
sentences: the faithful member restates them (extracted, lightly compressed or reworded);
the unfaithful member is the same text with one realistic fault, so length alone cannot
tell them apart:

- ``number``: a number changed; ``negation``: a claim negated or un-negated;
- ``antonym``: a word replaced by its opposite; ``name``: a name replaced by one from
  another document; ``swap``: two names of the sentence exchanged;
- ``word``: a content word replaced by one from another document;
- ``unsupported``: a sentence replaced by a plausible one of about the same length from
  another part of the same document (faithful member: another sentence of the source).

Two styles: ``qa`` (one paragraph of context, a one-sentence answer) and ``summary`` (an
article of two to four paragraphs, a summary of two to four of its sentences).

Run ``python -m training.faithfulness.dev_sets --out DIR`` to write them as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from training.faithfulness import perturb, span_qa
from training.faithfulness.sources import documents, prose_sentences

#: The sets: one-paragraph QA, QA with its question and short answers, summaries.
STYLES = ("qa", "span_qa", "summary")
IN_PLACE = ("number", "negation", "antonym", "name", "swap", "word")
_REWORDINGS = (
    ("for example", "for instance"), ("in order to", "to"), ("however", "but"),
    ("therefore", "so"), ("returns", "gives back"), ("contains", "holds"),
    ("allows", "lets"), ("uses", "relies on"), ("necessary", "needed"),
    ("function", "routine"), ("method", "call"), ("argument", "parameter"),
    ("specify", "give"), ("specified", "given"), ("provides", "offers"),
    ("create", "make"), ("created", "made"), ("useful", "handy"), ("currently", "now"),
    ("instead of", "rather than"), ("approximately", "about"), ("large", "big"),
    ("modify", "change"), ("modified", "changed"), ("obtain", "get"), ("display", "show"),
    ("additional", "extra"), ("several", "a few"), ("initially", "at first"),
)  # fmt: skip
#: Where a sentence may be cut to compress it: the clause after one of these goes.
_CLAUSE = re.compile(r", (?:which|and|but|so|because|although|while|since|as|unless) ")


@dataclass(frozen=True)
class Item:
    """One answer to check against its contexts; ``faithful`` is the label."""

    style: str
    pair: int
    faithful: bool
    fault: str
    contexts: list[str]
    answer: str
    document: str
    #: The question asked (the ``span_qa`` set; empty for the others).
    question: str = ""


class _Pools:
    """Sentences, names and words of the whole corpus, to draw foreign material from."""

    def __init__(self, docs: dict[str, list[str]]) -> None:
        self.docs = docs
        self.names = sorted(
            {m.group() for ps in docs.values() for p in ps for m in perturb.CAPITALISED.finditer(p)}
        )
        self.words = sorted(
            {w for ps in docs.values() for p in ps for w in re.findall(r"\b[a-z]{5,}\b", p)}
        )
        numbers = {
            m.group() for ps in docs.values() for p in ps for m in perturb.NUMBER.finditer(p)
        }
        #: Spans of each kind of the ``span_qa`` set, to draw wrong answers from.
        self.spans = {
            "name": self.names,
            "number": sorted(numbers),
            "term": [w for w in self.words if span_qa.TERM.fullmatch(w)],
        }

    def foreign_sentence(
        self, rng: random.Random, document: str, avoid: str, length: int
    ) -> str | None:
        """A sentence of ``document`` (else of any) outside ``avoid``, of about ``length`` words."""
        for candidates in (self.docs[document], [p for ps in self.docs.values() for p in ps]):
            options = [
                s
                for p in candidates
                for s in prose_sentences(p)
                if s not in avoid and abs(len(s.split()) - length) <= max(2, length // 5)
            ]
            if options:
                return rng.choice(options)
        return None


def _reword(sentence: str, rng: random.Random) -> str:
    """A faithful restatement: parentheses dropped, a trailing clause cut now and then,
    some words put differently."""
    sentence = re.sub(r"\s*\([^()]*\)", "", sentence)
    cut = _CLAUSE.search(sentence)
    if cut is not None and cut.start() > 30 and rng.random() < 0.4:
        sentence = sentence[: cut.start()] + "."
    for old, new in _REWORDINGS:
        # Whole words only: "created" is not "create" + "d" ("maked"), nor "largely" "bigly".
        word = re.compile(rf"\b{old}\b")
        if old in sentence and word.search(sentence) and rng.random() < 0.5:
            sentence = word.sub(new, sentence, count=1)
    return sentence


def _fault(kind: str, sentence: str, rng: random.Random, pools: _Pools) -> str | None:
    if kind == "number":
        return perturb.change_number(sentence, rng)
    if kind == "negation":
        return perturb.flip_negation(sentence, rng)
    if kind == "antonym":
        return perturb.swap_antonym(sentence, rng)
    if kind == "name":
        return perturb.replace_name(sentence, rng, pools.names)
    if kind == "swap":
        return perturb.swap_names(sentence, rng)
    return perturb.replace_word(sentence, rng, pools.words)


def _unfaithful(
    sentences: list[str], context: str, rng: random.Random, pools: _Pools, document: str
) -> tuple[list[str], list[str], str] | None:
    """``(faithful, unfaithful, fault)`` sentence lists for one pair, or None."""
    options: dict[str, list[tuple[int, str]]] = {}
    for at, sentence in enumerate(sentences):
        for kind in IN_PLACE:
            changed = _fault(kind, sentence, random.Random(rng.random()), pools)
            if changed is not None and changed != sentence:
                options.setdefault(kind, []).append((at, changed))
        foreign = pools.foreign_sentence(rng, document, context, len(sentence.split()))
        if foreign is not None:
            options.setdefault("unsupported", []).append((at, foreign))
    if not options:
        return None
    kind = rng.choice(sorted(options))
    at, changed = rng.choice(options[kind])
    return sentences, [*sentences[:at], changed, *sentences[at + 1 :]], kind
    return None


def _pair(style: str, index: int, rng: random.Random, pools: _Pools, document: str) -> list[Item]:
    paragraphs = pools.docs[document]
    if style == "qa":
        start, count, picks = rng.randrange(len(paragraphs)), 1, 1
    else:
        count = min(len(paragraphs), rng.randint(2, 4))
        start, picks = rng.randrange(len(paragraphs) - count + 1), rng.randint(2, 4)
    contexts = paragraphs[start : start + count]
    source = [s for p in contexts for s in prose_sentences(p) if len(s.split()) >= 6]
    if len(source) < picks:
        return []
    chosen = [source[i] for i in sorted(rng.sample(range(len(source)), picks))]
    reworded = [_reword(s, rng) for s in chosen]
    made = _unfaithful(reworded, " ".join(contexts), rng, pools, document)
    if made is None:
        return []
    good, bad, fault = made
    return [
        Item(style, index, True, "", contexts, " ".join(good), document),
        Item(style, index, False, fault, contexts, " ".join(bad), document),
    ]


def _span_pair(index: int, rng: random.Random, pools: _Pools, document: str) -> list[Item]:
    paragraph = rng.choice(pools.docs[document])
    found = span_qa.paragraph_spans(paragraph)
    if not found:
        return []
    # A kind first, then one of its spans: names and numbers are as frequent as terms.
    kind = rng.choice(sorted({span.kind for _, span in found}))
    sentence, span = rng.choice([(s, span) for s, span in found if span.kind == kind])
    question = span_qa.question_for(sentence, span, rng, _reword)
    others = [s for at, s in found if s.text != span.text]
    wrong = span_qa.wrong_spans(span, sentence, others, pools.spans[span.kind], rng)
    if rng.random() < 0.5:
        answer = span.text
        faults = dict(wrong)
    else:
        answer = _reword(sentence, rng)
        if not re.search(rf"\b{re.escape(span.text)}\b", answer):
            return []
        swap = re.compile(rf"\b{re.escape(span.text)}\b")
        faults = {k: swap.sub(v, answer, count=1) for k, v in wrong.items()}
        faults |= span_qa.relation_faults(answer, rng)
    if not question or not faults:
        return []
    fault = rng.choice(sorted(faults))
    made = (("", answer), (fault, faults[fault]))
    return [
        Item("span_qa", index, not kind, kind, [paragraph], text, document, question)
        for kind, text in made
    ]


def build(style: str, pairs: int, seed: int = 0, source: str = "auto") -> tuple[str, list[Item]]:
    """``(source name, items)``: ``pairs`` faithful/unfaithful pairs of ``style``."""
    name, docs = documents(source)
    pools = _Pools(docs)
    names = sorted(docs)
    rng = random.Random(f"{style}:{seed}")
    items: list[Item] = []
    attempts = 0
    while len(items) < 2 * pairs and attempts < 20 * pairs:
        attempts += 1
        make = _span_pair if style == "span_qa" else partial(_pair, style)
        items += make(len(items) // 2, rng, pools, rng.choice(names))
    return name, items


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``qa.jsonl`` and ``summary.jsonl`` to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=("auto", "debian", "pydoc"), default="auto")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for style in STYLES:
        name, items = build(style, args.pairs, args.seed, args.source)
        with (args.out / f"{style}.jsonl").open("w", encoding="utf-8") as out:
            for item in items:
                out.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
        print(f"{style}: {len(items)} items from {name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
