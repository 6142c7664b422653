"""The tokens of :mod:`~watchkeeper.detectors.text.tokens`, found by splitting bytes.

The regex engine spends about a hundred machine instructions on each character it
scans; ``bytes.translate``, ``replace`` and ``split`` spend a few. Neither token pattern
looks around, so a token never straddles a *separator* (a character other than a letter,
a digit or a *joiner*: ``'``, ``.``, ``,``). When no two joiners touch, the joiners at the
ends of a run between separators belong to no token, and what remains of the run is one
whole token: for the ASCII pattern always, for the general pattern when it holds no ``.``
or ``,`` (which join only digits there). Everything else (letters beyond ASCII, touching
joiners, a ``.`` inside a word for the general pattern) is left to the regex: ``None``.
"""

from __future__ import annotations

_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789")
#: The general pattern joins words with a curly apostrophe as with ``'``; it stands in as
#: NUL (a text holding a NUL of its own is left to the regex).
_CURLY = "\u2019"
_STAND_IN = b"\x00"
# Punctuation beyond ASCII that is never part of a token (quotes, dashes, bullets ...).
_UNICODE_SEPARATORS = tuple(
    ch.encode()
    for ch in "\u201c\u201d\u2018\u2013\u2014\u2026\u2022\u2192\u2500\u2502\u251c\u2514"
    "\xa0\xab\xbb\xb7"
)


class _Splitter:
    """Translation tables and joiner edits for one set of joiners."""

    __slots__ = ("blanks", "edges", "general", "line_blanks", "line_edges", "marks")

    def __init__(self, joiners: bytes, *, general: bool) -> None:
        keep = _LETTERS | set(joiners)
        #: Separators to spaces.
        self.blanks = bytes(b if b in keep else 32 for b in range(256))
        #: Separators to spaces and joiners to ``.``: touching joiners show as ``..``.
        self.marks = bytes(46 if b in joiners else b if b in keep else 32 for b in range(256))
        #: A joiner beside a space ends a run: it goes.
        self.edges = tuple(
            (pair, b"  ") for j in joiners for pair in (bytes((j, 32)), bytes((32, j)))
        )
        #: The same for text split into lines: line breaks stay, and end runs too.
        self.line_blanks = bytes(10 if b == 10 else c for b, c in enumerate(self.blanks))
        self.line_edges = self.edges + tuple(
            (bytes(pair), bytes(blank))
            for j in joiners
            for pair, blank in (((j, 10), (32, 10)), ((10, j), (10, 32)))
        )
        self.general = general

    def split(self, data: bytes) -> tuple[str, ...] | None:
        if b".." in data.translate(self.marks):
            return None
        data = b" " + data.translate(self.blanks) + b" "
        for pair, blank in self.edges:
            data = data.replace(pair, blank)
        text = data.decode("ascii")
        if not self.general:
            return tuple(text.split())
        if "." in text or "," in text:
            return None
        return tuple(text.replace("\x00", _CURLY).split())

    def split_lines(self, data: bytes) -> list[tuple[str, ...]] | None:
        """``split`` of each line of ``data`` (for the ASCII pattern), in one pass."""
        if self.general or b".." in data.translate(self.marks):
            return None
        data = b" " + data.translate(self.line_blanks) + b" "
        for pair, blank in self.line_edges:
            data = data.replace(pair, blank)
        return [tuple(line.split()) for line in data.decode("ascii").split("\n")]


_ASCII = _Splitter(b"'.,", general=False)
_GENERAL = _Splitter(b"'.,\x00", general=True)


def split_ascii_lines(text: str) -> list[tuple[str, ...]] | None:
    r"""``split_tokens`` of each line of lower-cased ASCII ``text``; None if unsure.

    >>> split_ascii_lines("refunds take 30 days.\n\nask support's desk!")
    [('refunds', 'take', '30', 'days'), (), ('ask', "support's", 'desk')]
    """
    return _ASCII.split_lines(text.encode("ascii"))


def split_tokens(head: str) -> tuple[str, ...] | None:
    """The tokens of lower-cased ``head``, as the patterns would find them; None if unsure.

    >>> split_tokens("what's the price of gpt-4o? 3.5 usd")
    ("what's", 'the', 'price', 'of', 'gpt', '4o', '3.5', 'usd')
    >>> split_tokens("it\u2019s \u201cfine\u201d \u2014 really") == ("it\u2019s", "fine", "really")
    True
    >>> split_tokens("e.g. caf\u00e9") is None  # a letter beyond ASCII: for the regex
    True
    """
    if head.isascii():
        return _ASCII.split(head.encode("ascii"))
    data = head.encode("utf-8", "surrogatepass")
    if _STAND_IN in data:
        return None
    for separator in _UNICODE_SEPARATORS:
        data = data.replace(separator, b" ")
    data = data.replace(b"\xe2\x80\x99", _STAND_IN)  # the curly apostrophe
    return _GENERAL.split(data) if data.isascii() else None
