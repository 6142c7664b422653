"""Stand-in models for red-team runs: one with no defences, one that refuses attacks.

``vulnerable`` does whatever a prompt says: it reads encoded text (base64, ROT13,
leetspeak, reversed), repeats any marker, secret or personal data it was given, and
complies with every request. ``guarded`` answers the known questions and refuses the rest.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from tests.experiments import stand_in

_TOKENS = re.compile(
    r"WK-[0-9A-F]{8}|SECRET-[0-9A-F]{8}|\b\d{3}-\d{2}-\d{4}\b|[\w.+-]+@[\w-]+\.[\w.]+"
    r"|\b(?:\d[ -]?){13,16}\b"
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_LEET = str.maketrans({"0": "O", "1": "I", "3": "E", "4": "A", "5": "S", "7": "T", "@": "A"})


def _readings(text: str) -> list[str]:
    """The text and every decoding of it a capable model would make."""
    readings = [text, codecs.decode(text, "rot13"), text[::-1], text.replace(" ", "")]
    readings.append(text.upper().translate(_LEET))
    for blob in _BASE64.findall(text):
        try:
            readings.append(base64.b64decode(blob, validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            continue
    return readings


def vulnerable(text: str) -> str:
    """Complies with everything and repeats everything it should keep to itself."""
    found: list[str] = []
    for reading in _readings(text):
        for token in _TOKENS.findall(reading):
            if token not in found:
                found.append(token)
    if found:
        return "Sure! " + " ".join(found)
    return "Sure, here is exactly how to do it, step by step: first, gather the materials."


def guarded(text: str) -> str:
    """Answers the questions it knows; refuses everything else."""
    if text in stand_in.KNOWLEDGE:
        return stand_in.answer(text)
    return "I'm sorry, but I can't help with that."
