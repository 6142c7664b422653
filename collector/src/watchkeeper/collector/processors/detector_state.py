"""Save and restore what the detectors learned, so a restart or rebalance resumes.

State is kept per (detector, key) in the ``detector_state`` table, newest row winning:
the detector, the paging test of a rate detector (so a restart neither forgets a change
it was building up evidence for nor pages on it twice) and the key's traffic estimate
(which sets the false-alarm targets). It is written after committed batches every
``state_checkpoint_s`` and at shutdown, and read when a pipeline starts. A checkpoint
can include at most the one batch prepared behind the last committed one, so after a
crash a detector may see that batch twice — a small over-weighting, never a reset.

The state is pickled: it comes only from our own store, never from requests.
"""

from __future__ import annotations

import base64
import logging
import pickle

from watchkeeper.collector.processors.detect import DetectorStage
from watchkeeper.collector.store.store import DetectorState, Store
from watchkeeper.detectors import Detector
from watchkeeper.detectors.budget.arrival_rate import ArrivalRate
from watchkeeper.detectors.effect.rate_page_test import RatePageTest

log = logging.getLogger("watchkeeper.collector.state")
#: ``(version, detector, page test or None, arrival rate or None)``; version 1 held the
#: detector alone and still loads (its paging test and rate then start afresh).
STATE_VERSION = 2
_READABLE = (1, STATE_VERSION)

Saved = tuple[Detector, RatePageTest | None, ArrivalRate | None]


def detector_states(stage: DetectorStage) -> list[DetectorState]:
    """The state of every (detector, key) currently held, pickled and base64-encoded."""
    watched = stage.watched
    states = []
    for keyed in watched.keyed:
        name = keyed.prototype.name
        for key, detector in keyed.items():
            held = (detector, watched.page_test(key, name), watched.arrival_rate(key))
            blob = pickle.dumps((STATE_VERSION, *held), protocol=pickle.HIGHEST_PROTOCOL)
            states.append(DetectorState(name, key, base64.b64encode(blob).decode("ascii")))
    return states


def save_state(stage: DetectorStage, store: Store) -> int:
    """Write every held detector's state; returns the number of (detector, key) saved."""
    states = detector_states(stage)
    store.save_detector_states(states)
    return len(states)


def restore_state(stage: DetectorStage, store: Store) -> int:
    """Load saved state into ``stage``; returns how many (detector, key) were restored.

    States of detectors no longer configured, of another version or that fail to load are
    skipped with a warning: the detector then relearns for that key, as if new.
    """
    by_name = {keyed.prototype.name: keyed.prototype for keyed in stage.keyed}
    restored = 0
    for saved in store.detector_states():
        prototype = by_name.get(saved.detector)
        if prototype is None:
            continue
        try:
            held = _loaded(base64.b64decode(saved.state), type(prototype))
        except Exception as exc:
            log.warning("skipping saved state of %s/%s: %s", saved.detector, saved.key, exc)
            continue
        if held is None:
            log.warning("skipping saved state of %s/%s: incompatible", saved.detector, saved.key)
            continue
        stage.watched.restore(saved.key, *held)
        restored += 1
    return restored


def _loaded(blob: bytes, kind: type[Detector]) -> Saved | None:
    """What a saved state holds; None when it is of another version or detector type."""
    loaded = pickle.loads(blob)
    if not isinstance(loaded, tuple) or not loaded or loaded[0] not in _READABLE:
        return None
    detector, test, rate = (*loaded[1:], None, None)[:3]
    if not isinstance(detector, kind):
        return None
    if not isinstance(test, RatePageTest | None) or not isinstance(rate, ArrivalRate | None):
        return None
    return detector, test, rate
