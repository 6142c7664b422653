"""Texts beyond ASCII only by their marks and spaces, written in ASCII for the compiled core.

The core cuts and looks up the classifier's tokens of ASCII texts only; the others take
Python's tokens (``token_bytes``) and the core's sums of them, at about twice the cost.
Many inputs are beyond ASCII only by typographic punctuation (curly quotes, dashes, an
ellipsis) or spaces (no-break spaces). Such a mark is a token of its own, as an ASCII
control character is, and a space beyond ASCII separates tokens as a space does. So each
such character is replaced by a space, or by a control character that the core's lookup
(:attr:`AsciiForm.numbers`) numbers as the mark's own token: same tokens, same word
numbers, same totals. A text holding one of those control characters itself, or a letter
beyond ASCII, or a mark without a control character of its own, is left as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: ASCII control characters that are neither white space nor word characters: each is a
#: token of its own, as a mark beyond ASCII is.
_CONTROLS = [chr(code) for code in (*range(1, 9), *range(14, 28), 127)]
#: Marks beyond ASCII given a control character of their own when the classifier's words
#: hold them (commonest first; there are 22 controls for them and one for the rest).
#: (Right single and double quotes, ellipsis, em dash, bullet, guillemets, degree, middle
#: dot, times, euro, pound, copyright, registered, inverted ? and !, low quote, section,
#: acute, plus-minus, diaeresis.)
MARKS = (
    "\u2019\u201c\u201d\u2026\u2014\u2022\u00ab\u00bb\u00b0\u00b7\u00d7"
    "\u20ac\u00a3\u00a9\u00ae\u00bf\u00a1\u201e\u00a7\u00b4\u00b1\u00a8"
)


_ASCII = bytes(range(128))
#: Characters whose replacement is remembered (memory stays bounded whatever the inputs).
_SEEN = 4096


@dataclass
class AsciiForm:
    """How marks beyond ASCII are written for the core, given the classifier's words."""

    #: The words' numbers, with the control characters that stand for marks added.
    numbers: dict[bytes, int]
    #: mark among the words -> the control character standing for it
    stand_ins: dict[str, str]
    #: The control character no word holds, for every other mark (an unknown token).
    unknown: str
    #: Every byte but the stand-ins' (deleting them leaves the stand-ins a text holds).
    not_stand_ins: bytes = b""
    #: character beyond ASCII -> its replacement, or None (the text is left as it was)
    _seen: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def of(cls, numbers: Mapping[bytes, int]) -> AsciiForm:
        """The form for these word numbers (``FeatureLookup.numbers``)."""
        free = [c for c in _CONTROLS if c.encode() not in numbers]
        unknown = free.pop()
        stand_ins, added = {}, dict(numbers)
        for mark in MARKS:
            number = numbers.get(mark.encode("utf-8"))
            if number is not None and free:
                stand_ins[mark] = control = free.pop(0)
                added[control.encode()] = number
        taken = {ord(control) for control in stand_ins.values()}
        others = bytes(code for code in range(256) if code not in taken)
        return cls(added, stand_ins, unknown, others)

    def known_stand_ins(self) -> dict[str, str]:
        """Each character beyond ASCII met so far that has a replacement, with it: what
        :meth:`ascii` writes for it (a copy, safe to hand to another thread)."""
        return {char: written for char, written in self._seen.items() if written is not None}

    @property
    def taken(self) -> bytes:
        """The bytes that stand for marks (a text holding one is left as it was)."""
        return "".join(self.stand_ins.values()).encode()

    def ascii(self, text: str) -> str | None:
        """``text`` in ASCII with the same tokens under :attr:`numbers`, or None."""
        raw = text.encode("utf-8", "surrogatepass")
        beyond = set(raw.translate(None, _ASCII).decode("utf-8", "surrogatepass"))
        if not beyond or raw.translate(None, self.not_stand_ins):
            return None
        for char in beyond:
            replacement = self._seen.get(char, "")
            if replacement == "":
                replacement = self._replacement(char)
                if len(self._seen) < _SEEN:
                    self._seen[char] = replacement
            if replacement is None:
                return None
            text = text.replace(char, replacement)
        return text

    def _replacement(self, char: str) -> str | None:
        """A space for a space, a control character for a mark, None for the rest."""
        if char.isspace():
            return " "
        if char.isalnum() or char.lower() != char or "\ud800" <= char <= "\udfff":
            return None
        if char in self.stand_ins:
            return self.stand_ins[char]
        if char.encode("utf-8") in self.numbers:
            return None  # a word of the classifier's without a stand-in
        return self.unknown
