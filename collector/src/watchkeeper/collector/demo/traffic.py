"""Deterministic demo traffic: ordinary support questions, then a drift in what users send."""

from __future__ import annotations

import random
from dataclasses import dataclass

from watchkeeper.collector.demo.knowledge import ARTICLES

_OPENERS = ("", "", "hi, ", "quick question: ", "hello! ", "hey - ")
_LOG_LINES = (
    "ERROR sync.client: request to /v2/notes/batch failed status=502 retry=3",
    "WARN cache.store: evicting 1832 entries, quota exceeded",
    "INFO auth.session: token refreshed for device ios-17-iphone",
    "ERROR sync.merge: conflict on note 8f3a2c, keeping both versions",
    "DEBUG net.http: GET https://api.lumen.example/v2/delta took 4212 ms",
    "Traceback (most recent call last): File sync/worker.py, line 211, in run",
)


@dataclass(frozen=True)
class DemoRequest:
    """One simulated user request."""

    question: str
    user_id: str
    fail: bool
    delay_s: float
    phase: str


class DemoTraffic:
    """Yields requests: ``baseline`` questions first, then ``drifted`` ones.

    After ``drift_after`` requests, users start pasting sync logs into their questions, so
    inputs get about ten times longer: the input-length drift detector should raise an alarm
    soon after, and the alarmed calls land in the ``alarms`` review queue.
    """

    def __init__(self, seed: int = 7, drift_after: int = 300, error_rate: float = 0.02) -> None:
        self.rng = random.Random(seed)
        self.drift_after = drift_after
        self.error_rate = error_rate
        self.sent = 0

    def next(self) -> DemoRequest:
        """The next request."""
        rng = self.rng
        article = rng.choice(ARTICLES)
        question = rng.choice(_OPENERS) + rng.choice(article.questions)
        phase = "baseline" if self.sent < self.drift_after else "drifted"
        if phase == "drifted":
            lines = [rng.choice(_LOG_LINES) for _ in range(rng.randint(6, 14))]
            question = question + " Here is my log:\n" + "\n".join(lines)
        self.sent += 1
        return DemoRequest(
            question=question,
            user_id=f"user-{rng.randint(1, 40):03d}",
            fail=rng.random() < self.error_rate,
            delay_s=rng.uniform(0.002, 0.012),
            phase=phase,
        )
