"""Save and restore what the signal watch learned, beside the detectors' state.

Each (signal, key) is one row of the ``detector_state`` table, its detector named
``trace_signal:<signal>`` so it never meets a call detector's name; a restart or a
rebalance then resumes watching where it was instead of relearning each key's level.
Open traces and sessions are not saved: a trace or session cut by a restart is scored
from what comes after (a partial trace), as when a replica takes over a partition.

The state is pickled: it comes only from our own store, never from requests.
"""

from __future__ import annotations

import base64
import logging
import pickle
from collections.abc import Iterable
from typing import Final

from watchkeeper.collector.store.store import DetectorState
from watchkeeper.collector.traces.signals.watch import SignalWatch
from watchkeeper.detectors import Detector

log = logging.getLogger("watchkeeper.collector.state")

PREFIX: Final = "trace_signal:"
STATE_VERSION: Final = 1


def signal_states(watch: SignalWatch) -> list[DetectorState]:
    """Every (signal, key) the watch holds, pickled and base64-encoded."""
    states = []
    for signal, key, detector in watch.detectors():
        blob = pickle.dumps((STATE_VERSION, detector), protocol=pickle.HIGHEST_PROTOCOL)
        states.append(DetectorState(PREFIX + signal, key, base64.b64encode(blob).decode("ascii")))
    return states


def restore_signal_states(watch: SignalWatch, saved: Iterable[DetectorState]) -> int:
    """Put the saved signal states back in ``watch``; how many (signal, key) were restored.

    Rows of other detectors are passed over; a state that fails to load, or of a signal
    no longer watched, is skipped with a warning (that key relearns, as if new).
    """
    restored = 0
    for state in saved:
        if not state.detector.startswith(PREFIX):
            continue
        signal = state.detector.removeprefix(PREFIX)
        try:
            version, detector = pickle.loads(base64.b64decode(state.state))  # our own rows
        except Exception as exc:
            log.warning("skipping saved state of %s/%s: %s", state.detector, state.key, exc)
            continue
        if version != STATE_VERSION or not isinstance(detector, Detector):
            log.warning("skipping saved state of %s/%s: incompatible", state.detector, state.key)
            continue
        if watch.put(signal, state.key, detector):
            restored += 1
        else:
            log.warning("skipping saved state of %s/%s: not watched", state.detector, state.key)
    return restored
