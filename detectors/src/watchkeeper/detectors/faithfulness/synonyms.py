"""Words of the same meaning, so a claim that paraphrases its source is not taken for one
that changes it.

The groups are WordNet 3.0's synsets of common words (built by
``training/faithfulness/synonyms.py``, shipped as ``synonyms.txt.gz``, about 0.3 MB).
"""

from __future__ import annotations

import gzip
from collections.abc import Container, Sequence
from functools import cache
from pathlib import Path

#: The shipped groups: one line per group, its words as content forms.
SYNONYMS_FILE = Path(__file__).with_name("synonyms.txt.gz")


class SynonymTable:
    """Groups of words of one meaning, and the groups of each word.

    >>> table = SynonymTable([["create", "make", "made"], ["big", "large"]])
    >>> table.substitute("made", frozenset({"create", "file"}))
    'create'
    >>> table.substitute("huge", frozenset({"large"})) is None
    True
    """

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self.groups = [tuple(g) for g in groups]
        self._of: dict[str, list[int]] = {}
        for at, group in enumerate(self.groups):
            for word in group:
                self._of.setdefault(word, []).append(at)

    def substitute(self, word: str, window: Container[str]) -> str | None:
        """The least (in code point order) word of ``window`` sharing a group with
        ``word``; None when there is none."""
        found = [w for at in self._of.get(word, ()) for w in self.groups[at] if w in window]
        return min(found) if found else None


@cache
def shipped_groups() -> tuple[tuple[str, ...], ...]:
    """The groups of the shipped file (empty when it is missing)."""
    if not SYNONYMS_FILE.is_file():
        return ()
    text = gzip.decompress(SYNONYMS_FILE.read_bytes()).decode()
    return tuple(tuple(line.split()) for line in text.splitlines() if line)


@cache
def shipped_table() -> SynonymTable:
    """The shipped groups as a table (read once)."""
    return SynonymTable(shipped_groups())
