"""Redactors: take personal data and secrets out of text before it leaves the process.

A redactor is any ``Callable[[str], str]``. ``configure(redact=True)`` applies
:func:`redact_pii` (all built-ins); ``configure(redact=my_function)`` or a sequence of
redactors applies yours. They run on the export thread, on every piece of captured
text (message contents, retrieved documents, tool arguments and results, exception
messages, string attributes set with ``current_call().set_attribute``), before the
text is cut to ``max_content_chars``.

The built-ins aim at high recall on the formats people type and paste, and at leaving
ordinary prose untouched: card numbers must pass the Luhn check and start like a card
network's, IP addresses must be valid, phone numbers need a phone-like shape (a ``+``
country code, grouping separators, or a word such as "phone" in front).

>>> redact_pii("Mail ana@example.com or call +1 415 555 0100, key sk-proj-abcdefghij0123456789")
'Mail [EMAIL] or call [PHONE], key [SECRET]'
>>> redact_pii("Version 3.11 shipped on 2024-05-01 for $1,299.")
'Version 3.11 shipped on 2024-05-01 for $1,299.'
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Final

Redactor = Callable[[str], str]
"""Takes a text, returns it with whatever must not leave the process replaced."""

EMAIL: Final = "[EMAIL]"
PHONE: Final = "[PHONE]"
CARD: Final = "[CARD]"
SECRET: Final = "[SECRET]"
IP: Final = "[IP]"

_EMAIL_RE: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}\b"
)


def redact_emails(text: str) -> str:
    """Replace e-mail addresses with ``[EMAIL]``.

    >>> redact_emails("write to first.last+tag@mail.example.co.uk today")
    'write to [EMAIL] today'
    """
    if "@" not in text:
        return text
    return _EMAIL_RE.sub(EMAIL, text)


# One regex per key format, each starting with a literal: the regex engine finds a literal
# prefix with a fast substring search, where an alternation or a leading \b would make
# it try every position (10-100x slower on ordinary text).
_SECRET_PATTERNS: Final = tuple(
    re.compile(pattern)
    for pattern in (
        r"-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----",
        r"(?P<keep>Authorization\"?\s*[:=]\s*\"?)(?:[A-Za-z]+\s+)?[A-Za-z0-9\-._~+/]{8,}=*",
        r"(?P<keep>authorization\"?\s*[:=]\s*\"?)(?:[A-Za-z]+\s+)?[A-Za-z0-9\-._~+/]{8,}=*",
        r"Bearer\s+[A-Za-z0-9\-._~+/]{16,}=*",
        r"bearer\s+[A-Za-z0-9\-._~+/]{16,}=*",
        r"sk-(?:[A-Za-z0-9]+-){0,3}[A-Za-z0-9_\-]{20,}",  # OpenAI, Anthropic (sk-ant-...)
        r"sk_live_[A-Za-z0-9]{16,}",  # Stripe
        r"sk_test_[A-Za-z0-9]{16,}",
        r"rk_live_[A-Za-z0-9]{16,}",
        r"AKIA[0-9A-Z]{16}",  # AWS access key ids
        r"ASIA[0-9A-Z]{16}",
        r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub
        r"github_pat_[A-Za-z0-9_]{30,}",
        r"glpat-[A-Za-z0-9_\-]{20,}",  # GitLab
        r"xox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack
        r"AIza[0-9A-Za-z_\-]{35}",  # Google
        r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
        r"eyJ[A-Za-z0-9_\-]{8,}\.ey[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWT
    )
)
# "api_key=...", "password: ...", "AWS_SECRET_ACCESS_KEY=..." keep the name, lose the value.
_ASSIGNED_SECRET_RE: Final = re.compile(
    r"(?i)((?:api[_-]?key|secret|passw(?:or)?d|access[_-]?token|auth[_-]?token|private[_-]?key)"
    r"[A-Za-z0-9_]*[\"']?\s*[:=]\s*[\"']?)([^\s\"',;]{6,})"
)


def _secret_or_original(match: re.Match[str]) -> str:
    start = match.start()
    if start and (match.string[start - 1].isalnum() or match.string[start - 1] == "_"):
        return match.group()  # inside a longer word ("task-..."): not a key prefix
    found = match.group()
    if found[0] in "Bb" and not any(char.isdigit() for char in found):
        return found  # "Bearer instruments": prose, not a token (tokens carry digits)
    return (match.groupdict().get("keep") or "") + SECRET


def _redact_secrets(text: str, lower: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_secret_or_original, text)
    if "key" in lower or "secret" in lower or "passw" in lower or "token" in lower:
        text = _ASSIGNED_SECRET_RE.sub(r"\1" + SECRET, text)
    return text


def redact_secrets(text: str) -> str:
    """Replace API keys, bearer/basic tokens, JWTs, private keys and assigned secrets.

    >>> redact_secrets("Authorization: Bearer abc.DEF-123_xyz and password=hunter2!")
    'Authorization: [SECRET] and password=[SECRET]'
    """
    return _redact_secrets(text, text.lower())


_CARD_RE: Final = re.compile(r"(?<![\d.,])(?:\d[ \-]?){12,18}\d(?![\d]|[.,]\d)")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _looks_like_card(digits: str) -> bool:
    length = len(digits)
    if not 13 <= length <= 19 or not _luhn_ok(digits):
        return False
    # The card networks' number ranges: Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay.
    first2 = int(digits[:2])
    first4 = int(digits[:4])
    return (
        digits[0] == "4"
        or 51 <= first2 <= 55
        or 2221 <= first4 <= 2720
        or first2 in (34, 37, 35, 36, 38, 39, 62, 64, 65, 30)
        or first4 == 6011
    )


def _card_or_original(match: re.Match[str]) -> str:
    found = match.group()
    digits = found.replace(" ", "").replace("-", "")
    return CARD if _looks_like_card(digits) else found


def redact_payment_cards(text: str) -> str:
    """Replace payment card numbers (Luhn-valid, card-network prefixes) with ``[CARD]``.

    >>> redact_payment_cards("card 4111 1111 1111 1111, order 1234 5678 9012 3456")
    'card [CARD], order 1234 5678 9012 3456'
    """
    return _CARD_RE.sub(_card_or_original, text)


_PHONE_RE: Final = re.compile(
    # +country code, then 1-5 groups: +44 20 7946 0958, +1 (415) 555-0100, +4915112345678
    r"(?<![\w+])\+\d{1,3}(?:[ .\-]?\(?\d{1,5}\)?){1,5}(?!\w)"
    # North American: (415) 555-0100, 415-555-0100, 415.555.0100, 1-800-555-0199
    r"|(?<![\w.\-])(?:1[ .\-])?(?:\(\d{3}\)[ .\-]?|\d{3}[ .\-])\d{3}[ .\-]\d{4}(?![\w.\-]\d|\w)"
    # Trunk-prefixed national numbers: 020 7946 0958, 07700 900123, 030-12345678
    r"|(?<![\w.\-])0\d{2,4}[ \-]\d{3,8}(?:[ \-]\d{3,4})?(?![\w.\-]\d|\w)"
)
_PHONE_CONTEXT_RE: Final = re.compile(
    r"(?i)\b(phone|tel|telephone|mobile|cell|call me at|text me at|sms|whatsapp|fax)"
    r"(\b[^0-9\n]{0,12})(\+?\d[\d ().\-]{6,18}\d)"
)


def _phone_or_original(found: str) -> str:
    digits = sum(char.isdigit() for char in found)
    return PHONE if 8 <= digits <= 15 else found


def _has_phone_word(lower: str) -> bool:
    # Spelled out: a generator over a tuple of words costs several times more.
    return (
        "phone" in lower
        or "tel" in lower
        or "mobile" in lower
        or "cell" in lower
        or "call me" in lower
        or "text me" in lower
        or "sms" in lower
        or "whatsapp" in lower
        or "fax" in lower
    )


def _redact_phone_with_word(text: str, lower: str) -> str:
    if not _has_phone_word(lower):
        return text
    return _PHONE_CONTEXT_RE.sub(
        lambda m: m.group(1) + m.group(2) + _phone_or_original(m.group(3)), text
    )


def _redact_phones(text: str, lower: str) -> str:
    text = _redact_phone_with_word(text, lower)
    return _PHONE_RE.sub(lambda m: _phone_or_original(m.group()), text)


def redact_phone_numbers(text: str) -> str:
    """Replace phone numbers with ``[PHONE]``.

    >>> redact_phone_numbers("Call (415) 555-0100 or +44 20 7946 0958; mobile: 5551234567")
    'Call [PHONE] or [PHONE]; mobile: [PHONE]'
    """
    return _redact_phones(text, text.lower())


_IPV4_RE: Final = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?!\w|\.\d)"
)
_IPV6_CANDIDATE_RE: Final = re.compile(
    r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|"
    r"(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])"
)


def _ipv6_or_original(match: re.Match[str]) -> str:
    found = match.group()
    if sum(1 for group in found.split(":") if group) < 2:
        return found  # "::" or "::1": slicing syntax or loopback, not someone's address
    try:
        ipaddress.IPv6Address(found)
    except ValueError:
        return found
    return IP


def _redact_ipv6(text: str) -> str:
    if "::" in text or text.count(":") >= 5:
        text = _IPV6_CANDIDATE_RE.sub(_ipv6_or_original, text)
    return text


def redact_ip_addresses(text: str) -> str:
    """Replace IPv4 and IPv6 addresses with ``[IP]``.

    >>> redact_ip_addresses("from 203.0.113.7 and 2001:db8::8a2e:370:7334 at 10:30:00")
    'from [IP] and [IP] at 10:30:00'
    """
    return _redact_ipv6(_IPV4_RE.sub(IP, text))


# Runs of digits and the separators numbers are written with; each run long enough to
# be a card, an IP address or a phone number is then checked by the precise patterns,
# which is much cheaper than running those over the whole text.
_NUMBER_RUN_RE: Final = re.compile(r"[0-9+(][0-9 ().:\-]{5,}[0-9]")


def _redact_number_run(match: re.Match[str]) -> str:
    run = match.group()
    run = _CARD_RE.sub(_card_or_original, run)
    run = _IPV4_RE.sub(IP, run)
    return _PHONE_RE.sub(lambda m: _phone_or_original(m.group()), run)


def redact_pii(text: str) -> str:
    """All built-in redactors: secrets, e-mails, payment cards, IP addresses, phones.

    >>> redact_pii("I'm jo@example.org, card 5500-0000-0000-0004, from 192.168.0.12")
    "I'm [EMAIL], card [CARD], from [IP]"
    """
    lower = text.lower()
    text = _redact_secrets(text, lower)
    if "@" in text:
        text = _EMAIL_RE.sub(EMAIL, text)
    text = _redact_phone_with_word(text, lower)
    text = _NUMBER_RUN_RE.sub(_redact_number_run, text)
    return _redact_ipv6(text)


DEFAULT_REDACTORS: Final[tuple[Redactor, ...]] = (redact_pii,)


def chain(redactors: Sequence[Redactor]) -> Redactor:
    """One redactor applying ``redactors`` in order.

    >>> chain([redact_emails, str.upper])("hi a@b.io")
    'HI [EMAIL]'
    """
    steps = tuple(redactors)
    if len(steps) == 1:
        return steps[0]

    def redact(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return redact
