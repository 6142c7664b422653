"""BERT's tokenizer (lower-cased, accents stripped, punctuation split, then WordPiece)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

#: Longest word WordPiece splits; longer ones are unknown.
MAX_WORD_CHARS = 100


def _is_punctuation(ch: str) -> bool:
    code = ord(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def basic_tokens(text: str) -> list[str]:
    """Words and punctuation marks, lower-cased and without accents, as BERT splits them.

    >>> basic_tokens("Héllo, wörld! 東京")
    ['hello', ',', 'world', '!', '東', '京']
    """
    out: list[str] = []
    for raw in text.split():
        word = unicodedata.normalize("NFD", raw.lower())
        current = ""
        for ch in word:
            category = unicodedata.category(ch)
            if category == "Mn" or ch == "\ufffd" or category in ("Cc", "Cf", "Cs"):
                continue
            if _is_punctuation(ch) or _is_cjk(ord(ch)):
                if current:
                    out.append(current)
                out.append(ch)
                current = ""
            else:
                current += ch
        if current:
            out.append(current)
    return out


class WordPiece:
    """Greedy longest-match WordPiece over a BERT ``vocab.txt``.

    ``ids(text)`` gives ``[CLS] ... [SEP]`` token ids, cut to ``max_tokens``.
    """

    def __init__(self, vocab_file: Path, max_tokens: int = 256) -> None:
        words = vocab_file.read_text(encoding="utf-8").splitlines()
        self.vocab = {w: i for i, w in enumerate(words)}
        self.max_tokens = max_tokens
        self.unknown = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]

    def pieces(self, word: str) -> list[int]:
        """The ids of one word's pieces (``[UNK]`` alone when it cannot be split)."""
        if len(word) > MAX_WORD_CHARS:
            return [self.unknown]
        found = []
        start = 0
        while start < len(word):
            end = len(word)
            piece = None
            while start < end:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                piece = self.vocab.get(candidate)
                if piece is not None:
                    break
                end -= 1
            if piece is None:
                return [self.unknown]
            found.append(piece)
            start = end
        return found

    def ids(self, text: str) -> list[int]:
        """Token ids of ``text`` with ``[CLS]`` and ``[SEP]``, at most ``max_tokens``."""
        room = self.max_tokens - 2
        out = [self.cls]
        for word in basic_tokens(text):
            out.extend(self.pieces(word))
            if len(out) > room:
                del out[room + 1 :]
                break
        out.append(self.sep)
        return out
