"""What happens when the SDK itself fails: the app carries on, the failure is counted.

Modelled on logfire's ``HandleInternalErrors``: outside tests an SDK bug is logged once
per place and counted in ``stats()["internal_errors"]``; under pytest it is re-raised,
so our own test suite fails loudly instead of hiding bugs behind the safety net.
"""

from __future__ import annotations

import logging
import os
import sys

from watchkeeper.sdk.counters import COUNTERS

logger = logging.getLogger("watchkeeper.sdk")

_already_logged: set[str] = set()


def reraise_internal_errors() -> bool:
    """True when SDK failures should surface as exceptions (we run under pytest)."""
    return "pytest" in sys.modules or "PYTEST_CURRENT_TEST" in os.environ


def handle_internal_error(where: str) -> None:
    """Count and log the exception being handled; re-raise it under pytest.

    Call only from inside an ``except`` block, after the user's code has run or before
    it starts, never around it.
    """
    COUNTERS.internal_errors.increment()
    if reraise_internal_errors():
        raise  # noqa: PLE0704  # called from an except block: re-raises the active exception
    if where in _already_logged:
        logger.debug("watchkeeper internal error in %s", where, exc_info=True)
        return
    # One traceback per place is enough to diagnose; a log line per call would flood the app.
    _already_logged.add(where)
    logger.exception("watchkeeper internal error in %s; the app is unaffected", where)
