"""Texts for the PII parity tests: every kind ``find_pii`` looks for in many formats, the
near misses around each (a digit too few or too many, a bad checksum, an octet out of
range, a word character where a boundary is needed), and random strings of digits,
separators and letters. Deterministic (seeded).
"""

from __future__ import annotations

import random
import string

#: Characters around and between the values: the pattern's own separators, characters the
#: patterns never hold, and characters beyond ASCII (some the core reads, ``é`` it leaves).
_GLUE = (" ", "-", ".", "/", "(", ")", "+", "_", "@", ",", ":", "#", "\u2014", "\u00a0", "é")
_WORDS = ("call", "Order", "on", "IBAN", "card", "mail", "ip", "x", "DE", "at", "v")

HAND_CASES = (
    "Mail ana@example.com or call +1 415-555-0100; card 4111 1111 1111 1111.",
    "Version 3.10.4 shipped on 2024-05-01 to 1,200 users.",
    "on 12/05/2024.",
    "on 12/05/2024 to GB82 WEST 1234 5698 7654 32",
    "on 12/05/2024 to GB83 WEST ABCD EFGH IJ, not GB83 WEST ABCD EFGH IK",
    "IBAN GB82WEST12345698765432 and DE89 3704 0044 0532 0130 00",
    "SSN 078-05-1120, not 078-05-11201 nor a078-05-1120",
    "ip 192.168.1.1 and 256.1.1.1 and 10.0.0.255.7 and 1.2.3.4a",
    "phones (415) 555-0100, 415.555.0100, +44 20 7946 0958, x415-555-0100, +415 555 0100",
    "cards 4111-1111-1111-1111 4111111111111112 41111111111111111111 5500 0000 0000 0004",
    "a@b.c a@b.co a.b+c@d-e.f.gh1 @x.com x@.com x@y..com x@y.c0m x@y.museum.z9",
    "12 34 567 890 (12) 345-6789 1(23)456 7890",
    "order #4810123456. 3f2a9c15/1234567 [3f2a9c15/12345]",
    "2024-05-01T10:20:30 1234567 123456 12-34-56-78",
)


def _luhn_digit(digits: str) -> str:
    """The check digit that makes ``digits`` + it pass Luhn."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


def _card(rng: random.Random) -> str:
    digits = "".join(rng.choices(string.digits, k=rng.randint(11, 19)))
    if rng.random() < 0.7:
        digits += _luhn_digit(digits)
    sep = rng.choice(("", " ", "-", ""))
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _iban(rng: random.Random) -> str:
    country = "".join(rng.choices(string.ascii_uppercase, k=2))
    alphabet = (
        string.digits * 3 + string.ascii_uppercase if rng.random() < 0.7 else string.ascii_uppercase
    )
    body = "".join(rng.choices(alphabet, k=rng.randint(10, 30)))
    moved = body + country + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in moved)) % 97
    if rng.random() < 0.2:
        check = (check + 1) % 100
    text = f"{country}{check:02d}{body}"
    if rng.random() < 0.5:
        text = " ".join(text[i : i + 4] for i in range(0, len(text), 4))
    return text


def _phone(rng: random.Random) -> str:
    sep = rng.choice(" .-")
    area = "".join(rng.choices(string.digits, k=rng.randint(1, 5)))
    area = f"({area})" if rng.random() < 0.4 else area + rng.choice(" .-")
    head = f"+{rng.randint(1, 9999)}{rng.choice(['', ' ', '-'])}" if rng.random() < 0.4 else ""
    a, b = (rng.randint(10 ** (k - 1), 10**k - 1) for k in rng.choices((2, 3, 4, 5), k=2))
    return f"{head}{area}{a}{sep}{b}"


def _other(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.2:
        widths = (3, 2, 4) if rng.random() < 0.7 else rng.choices((1, 2, 3, 4, 5), k=3)
        return "-".join("".join(rng.choices(string.digits, k=k)) for k in widths)
    if roll < 0.45:
        return ".".join(str(rng.choice((rng.randint(0, 300), rng.randint(0, 9)))) for _ in range(4))
    if roll < 0.6:
        user = "".join(
            rng.choices(string.ascii_letters + string.digits + "._+-", k=rng.randint(1, 8))
        )
        labels = ["".join(rng.choices(string.ascii_letters + "0-_", k=rng.randint(0, 5)))]
        labels += ["".join(rng.choices(string.ascii_lowercase + "1", k=rng.randint(0, 4)))]
        return f"{user}@{'.'.join(labels)}"
    if roll < 0.8:
        return f"{rng.randint(1, 12)}/{rng.randint(1, 31)}/{rng.randint(1990, 2030)}"
    return "".join(rng.choices(string.digits + " -./()+", k=rng.randint(1, 16)))


_MAKERS = (_card, _iban, _phone, _other, _other)


def pii_texts(n: int = 4000, seed: int = 20_261_207) -> list[str]:
    """The hand cases, then ``n`` texts of a few values, words and glue characters each."""
    rng = random.Random(seed)
    texts = list(HAND_CASES)
    for _ in range(n):
        pieces: list[str] = []
        for _ in range(rng.randint(1, 6)):
            roll = rng.random()
            if roll < 0.55:
                pieces.append(rng.choice(_MAKERS)(rng))
            elif roll < 0.75:
                pieces.append(rng.choice(_WORDS))
            else:
                pieces.append("".join(rng.choices(string.digits + string.ascii_uppercase, k=3)))
            pieces.append("".join(rng.choices(_GLUE, k=rng.randint(0, 2))))
        texts.append("".join(pieces))
    return texts
