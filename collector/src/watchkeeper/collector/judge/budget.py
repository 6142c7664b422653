"""What a judge may spend: requests and tokens per hour, as two token buckets.

Each bucket holds up to an hour's allowance and refills continuously, so a judge that
was idle may spend a burst, and over any hour spends at most about twice its allowance
(once the burst and once the refill), on average its allowance.
A request's tokens are known only after it: it reserves an estimate, and the reply's
true count settles the difference (a bucket may go below zero until it refills).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class HourlyBudget:
    """Requests and tokens per hour; 0 for either means nothing may be spent.

    >>> budget = HourlyBudget(requests_per_hour=2, tokens_per_hour=1000, clock=lambda: 0.0)
    >>> budget.reserve(400), budget.reserve(400), budget.reserve(10), budget.spent()
    (True, True, False, True)
    """

    def __init__(
        self,
        requests_per_hour: int,
        tokens_per_hour: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_hour = requests_per_hour
        self.tokens_per_hour = tokens_per_hour
        self._clock = clock
        self._lock = threading.Lock()
        self._requests = float(requests_per_hour)
        self._tokens = float(tokens_per_hour)
        self._at = clock()

    def reserve(self, tokens: int) -> bool:
        """Take one request and ``tokens`` if both are available now."""
        with self._lock:
            self._refill()
            if self._requests < 1 or self._tokens < tokens:
                return False
            self._requests -= 1
            self._tokens -= tokens
            return True

    def spent(self) -> bool:
        """Whether not even one request is left now (checked before building a prompt)."""
        with self._lock:
            self._refill()
            return self._requests < 1 or self._tokens <= 0

    def settle(self, reserved: int, used: int) -> None:
        """Correct a reservation by what the reply said it used."""
        with self._lock:
            self._tokens += reserved - used

    def _refill(self) -> None:
        now = self._clock()
        hours = max(0.0, now - self._at) / 3600.0
        self._at = now
        self._requests = min(
            self.requests_per_hour, self._requests + hours * self.requests_per_hour
        )
        self._tokens = min(self.tokens_per_hour, self._tokens + hours * self.tokens_per_hour)
