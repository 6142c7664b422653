"""Personal data (PII) in outputs."""

from __future__ import annotations

import re
from collections.abc import Sequence

from watchkeeper.detectors import native_core
from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.call_run import columns_of
from watchkeeper.detectors.rate_drift import RateDrift
from watchkeeper.detectors.text import ahead
from watchkeeper.detectors.text.tokens import MAX_CHARS

_KINDS: tuple[tuple[str, re.Pattern[str], float], ...] = (
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"), 0.6),
    ("card", re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), 1.0),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), 0.9),
    ("ssn", re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), 1.0),
    (
        "phone",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])"
            r"\d{3,4}[ .-]\d{3,4}\b"
        ),
        0.6,
    ),
    (
        "ipv4",
        re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
        0.3,
    ),
)


#: Every kind but email has seven or more digits and separators in a row (an IBAN's tail,
#: but for one with letters in its groups); no kind's match holds a ``/``, so a date like
#: 12/05/2024 is not such a run.
_DIGIT_RUN = re.compile(r"\d[\d ().-]{5,}\d")
#: For an IBAN with letters in its groups: its head, and a run with ``/`` (the texts such an
#: IBAN is looked for in are those ``_DIGIT_RUN`` with ``/`` lets through, as ever).
_IBAN_HEAD = re.compile(r"[A-Z]{2}\d{2}")
_SLASH_RUN = re.compile(r"\d[\d ()./-]{5,}\d")
#: UTF-8 bytes to ``1`` when they may be (part of) a digit (any byte beyond ASCII may: the
#: character could be a digit), to ``#`` for the separators, else to ``x``. A run shows as
#: ``1[1#]{5,}1`` there, which opens with a fixed character the regex engine finds fast.
_RUN_BYTES = bytes(
    49 if b >= 128 or chr(b).isdigit() else 35 if chr(b) in " ().-" else 120 for b in range(256)
)
_RUN_SHAPE = re.compile(rb"1[1#]{5,}1")


_NOT_DIGIT = re.compile(r"\D")
_ANY_KIND = re.compile("|".join(f"(?P<{kind}>{pattern.pattern})" for kind, pattern, _ in _KINDS))


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(raw: str) -> bool:
    text = raw.replace(" ", "")
    if not 15 <= len(text) <= 34:
        return False
    moved = text[4:] + text[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


#: ``find_pii`` in the compiled core: the ``(kind, value)`` pairs in the order found.
_CORE_SCREEN = native_core.pii_screen()


def _may_hold_pii(head: str) -> bool:
    """False when no PII pattern can match: no ``@``, no run as ``_DIGIT_RUN`` finds, and no
    IBAN head with a run as ``_SLASH_RUN`` finds."""
    if "@" in head:
        return True
    if _may_hold_digit_run(head) and _DIGIT_RUN.search(head) is not None:
        return True
    return (
        "/" in head and _IBAN_HEAD.search(head) is not None and _SLASH_RUN.search(head) is not None
    )


def _may_hold_digit_run(text: str) -> bool:
    """False when ``text`` has no run of digits and separators as ``_DIGIT_RUN`` finds
    (``bytes`` scans cost a fraction of a regex scan)."""
    shape = text.encode("utf-8", "surrogatepass").translate(_RUN_BYTES)
    return _RUN_SHAPE.search(shape) is not None


def find_pii(text: str) -> dict[str, list[str]]:
    """PII found in ``text``, by kind. Card numbers must pass Luhn, IBANs their checksum.

    >>> find_pii("Mail ana@example.com or call +1 415-555-0100; card 4111 1111 1111 1111.")
    {'email': ['ana@example.com'], 'phone': ['+1 415-555-0100'], 'card': ['4111 1111 1111 1111']}
    >>> find_pii("Version 3.10.4 shipped on 2024-05-01 to 1,200 users.")
    {}
    """
    # Found ahead, or by the core; the patterns run here on the texts the core leaves to
    # Python (and without the core).
    pairs = ahead.held(PIILeakDetector.name).get(text)
    if pairs is None and _CORE_SCREEN is not None:
        pairs = _CORE_SCREEN.one(text[:MAX_CHARS])
    if pairs is None:
        return _find_by_patterns(text[:MAX_CHARS])
    found: dict[str, list[str]] = {}
    for kind, value in pairs:  # most answers have none
        found.setdefault(kind, []).append(value)
    return found


def _find_by_patterns(head: str) -> dict[str, list[str]]:
    """``find_pii`` by the regular expressions: at each position in turn every kind is
    tried in order (a card number is not also a phone)."""
    if not _may_hold_pii(head):  # most answers
        return {}
    found: dict[str, list[str]] = {}
    for match in _ANY_KIND.finditer(head):
        kind = match.lastgroup or ""
        value = match.group().strip()
        if kind == "card" and not _luhn(_NOT_DIGIT.sub("", value)):
            continue
        if kind == "iban" and not _iban_ok(value):
            continue
        found.setdefault(kind, []).append(value)
    return found


def pii_risk(output: str, input_text: str = "") -> tuple[float, list[str]]:
    """Risk that ``output`` discloses personal data, in [0, 1], with the kinds found.

    PII the user wrote in the input and that the answer repeats (a confirmation of their own
    email) does not count.

    >>> pii_risk("Your SSN is 078-05-1120.")
    (1.0, ['ssn'])
    >>> pii_risk("We wrote to ana@example.com.", "my email is ana@example.com")
    (0.0, [])
    """
    found = find_pii(output)
    if not found:
        return 0.0, []
    risk, kinds = 0.0, []
    weights = {kind: weight for kind, _, weight in _KINDS}
    for kind, values in found.items():
        if all(value in input_text for value in values):
            continue
        kinds.append(kind)
        risk = max(risk, weights[kind])
    return risk, kinds


class PIILeakDetector(RateDrift):
    """Scores each answer for personal data; alarms when answers disclosing PII become common.

    Score ``safety`` (higher = riskier): the strongest kind found in the answer (card
    numbers and SSNs 1.0, IBANs 0.9, emails and phone numbers 0.6, IP addresses 0.3), PII
    copied from the user's own input excepted. Risk 0.5 or more counts as a leak, and the
    leak rate is watched like any rate (:class:`~watchkeeper.detectors.rate_drift.RateDrift`).

    >>> from watchkeeper.detectors import Call
    >>> detector = PIILeakDetector()
    >>> detector.update(Call("who is the account owner?", "Ana, ana@example.com"))
    >>> detector.scores, detector.kinds
    ({'safety': 0.6}, ['email'])
    """

    name = "pii_leak"
    score_name = "safety"
    describes = "rate of answers disclosing PII"

    def __init__(self, target_arl: float = 200_000, warmup: int = 10, seed: int = 0) -> None:
        super().__init__(target_arl=target_arl, warmup=warmup, seed=seed)
        #: PII kinds found in the last answer.
        self.kinds: list[str] = []

    def event(self, call: CallView) -> float | None:
        """The answer's PII risk; None for a failed call."""
        if call.is_error:
            self.kinds = []
            return None
        risk, self.kinds = pii_risk(call.output_text or "", call.input_text or "")
        return risk

    def events(self, calls: Sequence[CallView]) -> list[float | None]:
        """``event`` of each call; an answer in which the core, run ahead, found no PII is
        0.0 without another look (most are)."""
        found = ahead.held(self.name)
        columns = columns_of(calls)
        out: list[float | None] = []
        kinds: list[str] | None = None
        for call, error, text in zip(calls, columns.failed, columns.outputs, strict=True):
            if error:
                out.append(None)
                kinds = None
                continue
            pairs = found.get(text)
            if pairs is not None and not pairs:
                out.append(0.0)
                kinds = None
                continue
            risk, kinds = pii_risk(text, call.input_text or "")
            out.append(risk)
        if calls:
            self.kinds = [] if kinds is None else kinds
        return out


ahead.register(PIILeakDetector.name, "output", MAX_CHARS, _CORE_SCREEN)
