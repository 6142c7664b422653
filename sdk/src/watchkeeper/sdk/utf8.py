"""Text made valid UTF-8 on its way out of the process.

Python strings may hold surrogate code points (U+D800-U+DFFF), which UTF-8 cannot
carry: bad decoders, ``surrogateescape``-decoded file names and environment variables,
and JSON with ``\\ud800`` escapes all produce them. OTLP's string fields must be valid
UTF-8, and a receiver rejects the whole request otherwise, so every string the SDK
encodes goes through :func:`to_utf8`: a surrogate pair becomes the character it
stands for, and a lone surrogate becomes U+FFFD (the replacement character).

>>> to_utf8("lone\\ud800x")
b'lone\\xef\\xbf\\xbdx'
>>> without_lone_surrogates("\\ud83d\\ude00 \\udc80")
'😀 �'
"""

from __future__ import annotations


def to_utf8(text: str) -> bytes:
    """``text`` encoded as UTF-8, surrogates repaired (see :func:`without_lone_surrogates`)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # rare: only surrogates fail, so repair only then
        return without_lone_surrogates(text).encode("utf-8")


def without_lone_surrogates(text: str) -> str:
    """``text`` with surrogate pairs joined and every lone surrogate replaced by U+FFFD.

    Text without surrogates comes back as it is (the same object).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # UTF-16 is where surrogates belong: written out with them as they are, then read
        # back, a pair decodes to its character and a lone one to U+FFFD.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
