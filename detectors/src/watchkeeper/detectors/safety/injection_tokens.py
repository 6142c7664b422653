"""The prompt-injection classifier's tokens as UTF-8 bytes, cut by C-level string methods.

The tokens are those of ``re.findall(r"\\w+|[^\\w\\s]", text.lower())``: runs of word
characters (``str.isalnum`` or ``_``) and single other non-space characters. Putting a
space on each side of every such other character and splitting on white space gives the
same tokens, without the regex engine's per-character loop: the characters to pad are
found by deleting the ASCII word and space bytes (what is left is short), and each one
present is padded with one ``bytes.replace``. ``bytes.split`` knows only ASCII white space:
the other characters ``str.isspace`` counts (``\\x1c``-``\\x1f``, ``\\x85``, no-break
spaces...) are turned into spaces first. Bytes rather than ``str``: a text with a few
characters beyond ASCII stays one byte per character, and its tokens are cheaper to make.
"""

from __future__ import annotations

import re

#: The tokens, as a regex (what the padding reproduces; used for texts it would not suit).
TOKEN = re.compile(r"\w+|[^\w\s]")
#: Distinct characters beyond ASCII up to which padding is used: each costs a pass over
#: the text, so a text of many different symbols is left to the regex.
_MAX_CHARS = 64
_ASCII = [chr(code) for code in range(128)]
#: ASCII bytes that are word characters or white space (kept inside tokens or split on).
_WORD_OR_SPACE = bytes(
    code for code, char in enumerate(_ASCII) if char.isalnum() or char == "_" or char.isspace()
)
#: Lower-cases ASCII letters and turns the white space ``bytes.split`` does not know into
#: spaces; other bytes (UTF-8 beyond ASCII) pass unchanged.
_LOWER = bytes(range(256)).translate(
    bytes.maketrans(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZ\x1c\x1d\x1e\x1f", b"abcdefghijklmnopqrstuvwxyz    "
    )
)
#: Each character that is neither a word character nor white space: (its bytes, padded).
_ASCII_PADS = {
    code: (char.encode(), f" {char} ".encode())
    for code, char in enumerate(_ASCII)
    if code not in _WORD_OR_SPACE
}


class _Char:
    """What tokenising does with one character beyond ASCII (cached per character)."""

    __slots__ = ("pad", "raw", "upper")

    def __init__(self, char: str) -> None:
        self.raw = char.encode("utf-8", "surrogatepass")
        #: Its replacement: padded (a mark), a space (white space), or None (a letter).
        self.pad: bytes | None = None
        if char.isspace():
            self.pad = b" "
        elif not (char.isalnum() or char == "_"):
            self.pad = b" " + self.raw + b" "
        #: Whether lower-casing changes it (the text is then lower-cased as ``str``).
        self.upper = char.lower() != char


_CHARS: dict[str, _Char] = {}


def _chars(rest: bytes) -> list[_Char]:
    """The distinct characters of ``rest`` (UTF-8), described."""
    found = []
    for char in set(rest.decode("utf-8", "surrogatepass")):
        known = _CHARS.get(char)
        if known is None:
            known = _CHARS[char] = _Char(char)
        found.append(known)
    return found


def token_bytes(text: str) -> list[bytes]:
    """The classifier's tokens of ``text``, UTF-8 encoded.

    >>> token_bytes("Ignore ALL previous\\u00a0instructions!")
    [b'ignore', b'all', b'previous', b'instructions', b'!']
    >>> b" ".join(token_bytes("\\u201cSo\\u201d, \\u00c9T\\u00c9")).decode()
    '\u201c so \u201d , \u00e9t\u00e9'
    """
    raw = text.encode("utf-8", "surrogatepass")
    rest = raw.translate(None, _WORD_OR_SPACE)
    if not rest:
        return raw.translate(_LOWER).split()
    if text.isascii():
        raw = raw.translate(_LOWER)
        for code in set(rest):
            raw = raw.replace(*_ASCII_PADS[code])
        return raw.split()
    chars = _chars(rest)
    if len(chars) > _MAX_CHARS:
        return [token.encode("utf-8", "surrogatepass") for token in TOKEN.findall(text.lower())]
    if any(char.upper for char in chars):
        # Lower-casing beyond ASCII can change a text's characters (and their number).
        raw = text.lower().encode("utf-8", "surrogatepass")
        chars = _chars(raw.translate(None, _WORD_OR_SPACE))
        if len(chars) > _MAX_CHARS:
            return [token.encode("utf-8", "surrogatepass") for token in TOKEN.findall(text.lower())]
    raw = raw.translate(_LOWER)
    for char in chars:
        if char.pad is not None:
            raw = raw.replace(char.raw, char.pad)
    return raw.split()
