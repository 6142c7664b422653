"""Build the faithfulness scorer's synonym groups from WordNet 3.0 (Debian ``wordnet-base``).

``python -m training.faithfulness.synonyms`` writes
``detectors/src/watchkeeper/detectors/faithfulness/synonyms.txt.gz``: one line per WordNet
synset that has two or more one-word, lower-case lemmas (common words: names are checked
as names, never as synonyms), each lemma with its regular and irregular inflections
("rely": "rely relies relied relying"), every form as the scorer's content form (plural
"s" folded). The claim scorer credits a claim word the contexts never use when a word of
its group is in the aligned source sentence or a neighbour ("makes" for "creates").
WordNet 3.0 is under the WordNet licence (docs/data-sources.md); install the data with
``apt-get install wordnet-base``.
"""

from __future__ import annotations

import argparse
import gzip
import re
from collections.abc import Iterator
from pathlib import Path

from watchkeeper.detectors.faithfulness.synonyms import SYNONYMS_FILE
from watchkeeper.detectors.text.tokens import content_words_of, tokenize

WORDNET = Path("/usr/share/wordnet")
PARTS = ("noun", "verb", "adj", "adv")
_SIBILANT = ("s", "x", "z", "ch", "sh")


def _synsets(folder: Path, part: str) -> Iterator[list[str]]:
    """The one-word lower-case lemmas of each synset of ``data.<part>``."""
    for line in (folder / f"data.{part}").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):  # the licence at the top
            continue
        fields = line.split()
        count = int(fields[3], 16)
        lemmas = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]) for i in range(count)]
        yield [w for w in lemmas if w.isalpha() and w.islower() and len(w) >= 3]


def _irregular(folder: Path, part: str) -> dict[str, set[str]]:
    """lemma -> its irregular forms (``made`` for ``make``)."""
    forms: dict[str, set[str]] = {}
    for line in (folder / f"{part}.exc").read_text(encoding="latin-1").splitlines():
        inflected, *lemmas = line.split()
        for lemma in lemmas:
            forms.setdefault(lemma, set()).add(inflected)
    return forms


def inflections(lemma: str, part: str) -> set[str]:
    """The regular forms of ``lemma``: plural or third person, past, ``-ing``.

    >>> sorted(inflections("rely", "verb"))
    ['relied', 'relies', 'rely', 'relying']
    """
    forms = {lemma}
    if part not in ("noun", "verb"):
        return forms
    if lemma.endswith("y") and lemma[-2] not in "aeiou":
        forms.add(lemma[:-1] + "ies")
        past = lemma[:-1] + "ied"
    elif lemma.endswith(_SIBILANT):
        forms.add(lemma + "es")
        past = lemma + "ed"
    else:
        forms.add(lemma + "s")
        past = lemma + ("d" if lemma.endswith("e") else "ed")
    if part == "verb":
        stem = lemma[:-1] if lemma.endswith("e") and not lemma.endswith("ee") else lemma
        forms |= {past, stem + "ing"}
    return forms


def groups(folder: Path = WORDNET) -> list[list[str]]:
    """Each synset's content forms, sorted; synsets of fewer than two lemmas left out."""
    found: list[list[str]] = []
    for part in PARTS:
        irregular = _irregular(folder, part)
        for lemmas in _synsets(folder, part):
            if len(set(lemmas)) < 2:
                continue
            forms: set[str] = set()
            for lemma in lemmas:
                for form in inflections(lemma, part) | irregular.get(lemma, set()):
                    forms.update(content_words_of(tokenize(form)))
            if len(forms) > 1:  # stopwords are no content forms
                found.append(sorted(forms))
    return found


def main(argv: list[str] | None = None) -> int:
    """Write the synonym groups file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", type=Path, default=WORDNET)
    parser.add_argument("--out", type=Path, default=SYNONYMS_FILE)
    args = parser.parse_args(argv)
    made = groups(args.wordnet)
    text = "".join(" ".join(g) + "\n" for g in made)
    # mtime=0: the same WordNet gives the same bytes.
    args.out.write_bytes(gzip.compress(text.encode(), mtime=0))
    print(f"{len(made)} groups, {args.out.stat().st_size} bytes: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
