"""Synthetic call streams for detector tests: small, seeded, and realistic enough."""

from __future__ import annotations

import random

from watchkeeper.detectors import Call, Detector

TOPICS = {
    "billing": ["invoice", "refund", "charge", "card", "subscription", "receipt", "plan"],
    "login": ["password", "login", "account", "reset", "email", "code", "locked"],
    "sync": ["sync", "notes", "device", "offline", "conflict", "backup", "upload"],
    "export": ["export", "pdf", "markdown", "file", "folder", "share", "print"],
}
#: Retrieved passages of a faithfulness stream: one plan's price and feature each.
PLAN_FACTS = [
    f"The {name} plan costs {price} dollars per month and includes {feature}."
    for name, price, feature in [
        ("Basic", 5, "two devices"),
        ("Plus", 9, "offline sync"),
        ("Pro", 15, "priority support"),
        ("Team", 25, "shared folders"),
        ("Studio", 40, "version history"),
    ]
]
FILLERS = ["how do I", "why does my", "can you help with", "what happens to", "where is the"]
ANSWER_WORDS = ["open", "settings", "tap", "choose", "account", "then", "select", "confirm"]


def question(rng: random.Random, topic: str) -> str:
    """A short support question about ``topic``."""
    words = rng.sample(TOPICS[topic], 3)
    return f"{rng.choice(FILLERS)} {' '.join(words)}?"


def calls(
    seed: int,
    n: int,
    *,
    topics: tuple[str, ...] = ("billing", "login"),
    error_rate: float = 0.01,
) -> list[Call]:
    """A stable stream: questions on ``topics``, answers, latencies, tokens, a few errors."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        q = question(rng, rng.choice(topics))
        a = " ".join(rng.choices(ANSWER_WORDS, k=rng.randint(6, 14))) + "."
        out.append(
            Call(
                q,
                a,
                model="m",
                duration_s=rng.lognormvariate(0.0, 0.4),
                is_error=rng.random() < error_rate,
                input_tokens=len(q) // 4,
                output_tokens=len(a) // 4,
                finish_reasons=["stop"],
            )
        )
    return out


def alarm_indices(
    detector: Detector, stream: list[Call], reasons: list[str] | None = None
) -> list[int]:
    """Feed ``stream`` to ``detector``: the indices of the calls after which it alarmed
    (and each alarm's reason appended to ``reasons`` when given)."""
    found = []
    for i, call in enumerate(stream):
        detector.update(call)
        if detector.drift_detected:
            found.append(i)
            if reasons is not None:
                reasons.append(detector.alarm_reason)
    return found
