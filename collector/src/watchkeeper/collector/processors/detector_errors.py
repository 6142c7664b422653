"""A detector's exceptions, contained: counted, and logged at most once a minute each."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

log = logging.getLogger("watchkeeper.collector")

#: Seconds between two log lines about the same detector (the counter counts them all).
LOG_EVERY_S = 60.0


class DetectorErrors:
    """Exceptions raised by detectors (or by the detect stage itself), per detector.

    A detector that raises on every run would otherwise write a line per run of calls:
    :meth:`record` logs the first, then one line per ``log_every_s`` per detector with the
    number left out since, so the log says what went wrong without drowning in it.
    """

    def __init__(
        self, log_every_s: float = LOG_EVERY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.log_every_s = log_every_s
        self._clock = clock
        self._logged_at: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    def record(
        self, detector: str, error: BaseException, what: str, *, traceback: bool = False
    ) -> None:
        """Log that ``detector`` raised ``error``; ``what`` says what became of it (with
        ``traceback``, the line carries it: for a bug of the stage rather than a detector)."""
        now = self._clock()
        last = self._logged_at.get(detector)
        if last is not None and now - last < self.log_every_s:
            self._unlogged[detector] += 1
            return
        self._logged_at[detector] = now
        more = self._unlogged.pop(detector, 0)
        since = f" ({more} more since the last such line)" if more else ""
        log.warning(
            "%s raised %s: %s; %s%s",
            detector,
            type(error).__name__,
            error,
            what,
            since,
            exc_info=error if traceback else None,
        )
