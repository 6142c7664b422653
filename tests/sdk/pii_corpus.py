"""Synthetic PII for the redaction tests: values in the formats people type, in sentences.

Deterministic (seeded): :func:`pii_samples` returns ``(category, value, sentence)``
triples; a redactor succeeds on one when ``value`` no longer appears in the output.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Final

FIRST: Final = ("ana", "bo", "chen", "dmitri", "eve", "farah", "gus", "hiro", "ines", "jo")
LAST: Final = ("smith", "garcia", "li", "okafor", "novak", "tanaka", "silva", "muller")
DOMAINS: Final = (
    "example.com",
    "mail.example.org",
    "corp.example.co.uk",
    "example.io",
    "uni.example.edu",
)
TEMPLATES: Final = (
    "Please contact me at {v} as soon as possible.",
    "My details: {v}.",
    "{v} is what I used when I signed up",
    "Hi, I can't log in, the account is ({v}) and it says locked!",
    "Can you update it to {v}? Thanks",
    "log line: user={v} action=login status=failed",
    'The JSON was {{"contact": "{v}", "ok": true}}',
    "Here it is:\n{v}\nlet me know",
)


def _email(rng: random.Random) -> str:
    user = rng.choice(FIRST) + rng.choice(("", ".", "_", "+news.")) + rng.choice(LAST)
    if rng.random() < 0.3:
        user += str(rng.randint(1, 999))
    return f"{user}@{rng.choice(DOMAINS)}"


def _phone(rng: random.Random) -> str:
    d = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    area = str(rng.randint(201, 989))
    formats = (
        lambda: f"({area}) {d(3)}-{d(4)}",
        lambda: f"{area}-{d(3)}-{d(4)}",
        lambda: f"{area}.{d(3)}.{d(4)}",
        lambda: f"+1 {area} {d(3)} {d(4)}",
        lambda: f"+1-{area}-{d(3)}-{d(4)}",
        lambda: f"1-800-{d(3)}-{d(4)}",
        lambda: f"+44 20 {d(4)} {d(4)}",
        lambda: f"+44 7{d(3)} {d(6)}",
        lambda: f"020 {d(4)} {d(4)}",
        lambda: f"07{d(3)} {d(6)}",
        lambda: f"+49 30 {d(8)}",
        lambda: f"+49 151 {d(8)}",
        lambda: f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
        lambda: f"+91 {d(5)} {d(5)}",
        lambda: f"+61 4{d(2)} {d(3)} {d(3)}",
        lambda: f"+4915{d(9)}",
    )
    return rng.choice(formats)()


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return body + str((10 - total % 10) % 10)


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice(
        (("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
         ("6011", 16), ("65", 16), ("35", 16), ("4", 13), ("62", 19))
    )  # fmt: skip
    digits = _luhn_complete(prefix, length, rng)
    style = rng.choice(("plain", "spaces", "dashes"))
    if style == "plain":
        return digits
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    if length == 15:
        groups = [digits[:4], digits[4:10], digits[10:]]
    return (" " if style == "spaces" else "-").join(groups)


def _token(
    rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits
) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _secret(rng: random.Random) -> str:
    t = lambda n, a=string.ascii_letters + string.digits: _token(rng, n, a)  # noqa: E731
    upper = string.ascii_uppercase + string.digits
    formats = (
        lambda: f"sk-{t(48)}",
        lambda: f"sk-proj-{t(40)}_{t(20)}",
        lambda: f"sk-ant-api03-{t(80)}-{t(6)}AA",
        lambda: f"AKIA{t(16, upper)}",
        lambda: f"ghp_{t(36)}",
        lambda: f"github_pat_{t(22)}_{t(59)}",
        lambda: f"xoxb-{t(12, string.digits)}-{t(13, string.digits)}-{t(24)}",
        lambda: f"AIza{t(35)}",
        lambda: f"sk_live_{t(24)}",
        lambda: f"hf_{t(34)}",
        lambda: f"glpat-{t(20)}",
        lambda: f"eyJ{t(30)}.eyJ{t(60)}.{t(43)}",
        lambda: f"Authorization: Bearer {t(40)}",
        lambda: f"bearer {t(32)}.{t(12)}",
        lambda: f"api_key={t(32)}",
        lambda: f"OPENAI_API_KEY=sk-{t(48)}",
        lambda: f'"password": "{t(12)}!"',
        lambda: f"client_secret: {t(40)}",
    )
    return rng.choice(formats)()


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return ".".join([str(rng.randint(1, 223))] + [str(rng.randint(0, 255)) for _ in range(3)])
    groups = [format(rng.randint(0, 0xFFFF), "x") for _ in range(8)]
    if rng.random() < 0.5:
        return ":".join(groups)
    start = rng.randint(1, 5)
    return ":".join(groups[:start]) + "::" + ":".join(groups[start + 2 :])


GENERATORS: Final[dict[str, Callable[[random.Random], str]]] = {
    "email": _email,
    "phone": _phone,
    "card": _card,
    "secret": _secret,
    "ip": _ip,
}


def pii_samples(per_category: int = 400, seed: int = 2024) -> list[tuple[str, str, str]]:
    """``per_category`` sentences per category, each carrying one PII value."""
    rng = random.Random(seed)
    samples = []
    for category, generate in GENERATORS.items():
        for _ in range(per_category):
            value = generate(rng)
            samples.append((category, value, rng.choice(TEMPLATES).format(v=value)))
    return samples


def sensitive_part(category: str, value: str) -> str:
    """The part of ``value`` that must disappear (a secret's name may stay)."""
    if category == "secret":
        for separator in ("Bearer ", "bearer ", "=", '": "', ": "):
            if separator in value:
                return value.split(separator, 1)[1].rstrip('!"')
    return value


ORDINARY: Final = (
    "Version 3.11.2 was released on 2024-05-01 and fixes 12 bugs.",
    "The meeting is at 10:30 on 12/05/2024 in room 4B; bring 3 copies.",
    "Order #100234 shipped: 2 items, total $1,299.99 (tax 8.25%).",
    "Our revenue grew from 1,250,000 to 1,410,000 in Q3 2023.",
    "Pi is about 3.14159 and e is about 2.71828.",
    "Set max_tokens to 4096 and temperature to 0.7 for this task.",
    "The train leaves platform 9 at 14:05 and arrives at 18:47.",
    "Call the function with retries=5, timeout=30 and backoff=1.5.",
    "ISBN 978-0-13-468599-1 is the second edition.",
    "Mix 250 g flour, 2 eggs and 500 ml milk; bake at 180 C for 25-30 minutes.",
    "The API returns HTTP 429 when you exceed 60 requests per minute.",
    "Use the key on the left to open the door, then the token machine.",
    "My password manager suggested a passphrase, but I forgot where I saved it.",
    "The secret to good bread is patience and a hot oven.",
    "Bearer bonds were popular in the 1980s.",
    "Coordinates: 48.8584, 2.2945 (the Eiffel Tower).",
    "Build 2024.10.3 passed 1532 of 1540 tests in 12.4 s.",
    "Between 2010 and 2020 the population rose by 7 percent to 8,336,817.",
    "Press Ctrl+C then :wq to save in vim; ratio 16:9 is standard.",
    "Tracking number 1Z999AA10123456784 is with UPS.",
    "The invoice INV-2024-00042 is due in 30 days.",
    "Room temperature is 21.5 degrees; humidity 45%.",
    "std::vector<int> v; v.push_back(42); return v.size();",
    "Docs at https://docs.example.com/v2/guide?section=3#install",
    "Flight LH 400 departs 13:55, gate B44, seat 32A.",
    "SKU 4006381333931 is the 500 g pack.",
    "The year 1999 had 365 days and 52 weeks.",
    "Memory: 16 GB RAM, 512 GB SSD, 2.4 GHz 8-core CPU.",
    "Loss fell from 2.341 to 0.412 after 10000 steps at lr 3e-4.",
    "Please refund 3 of the 4 items from order 5521.",
)
"""Ordinary text with numbers, versions, dates, money and code: must come out unchanged."""
