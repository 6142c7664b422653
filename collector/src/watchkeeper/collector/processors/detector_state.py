"""Save and restore what the detectors learned, so a restart or rebalance resumes.

State is kept per (detector, key) in the ``detector_state`` table, newest row winning.
It is written after committed batches every ``state_checkpoint_s`` and at shutdown, and
read when a pipeline starts. A checkpoint can include at most the one batch prepared
behind the last committed one, so after a crash a detector may see that batch twice —
a small over-weighting, never a reset.

The state is pickled: it comes only from our own store, never from requests.
"""

from __future__ import annotations

import base64
import logging
import pickle

from watchkeeper.collector.processors.detect import DetectorStage
from watchkeeper.collector.store.store import DetectorState, Store
from watchkeeper.detectors import Detector

log = logging.getLogger("watchkeeper.collector.state")
STATE_VERSION = 1


def detector_states(stage: DetectorStage) -> list[DetectorState]:
    """The state of every (detector, key) currently held, pickled and base64-encoded."""
    states = []
    for keyed in stage.keyed:
        name = keyed.prototype.name
        for key, detector in keyed.items():
            blob = pickle.dumps((STATE_VERSION, detector), protocol=pickle.HIGHEST_PROTOCOL)
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
    by_name = {keyed.prototype.name: keyed for keyed in stage.keyed}
    restored = 0
    for saved in store.detector_states():
        keyed = by_name.get(saved.detector)
        if keyed is None:
            continue
        try:
            version, detector = pickle.loads(base64.b64decode(saved.state))
        except Exception as exc:
            log.warning("skipping saved state of %s/%s: %s", saved.detector, saved.key, exc)
            continue
        if version != STATE_VERSION or not isinstance(detector, type(keyed.prototype)):
            log.warning("skipping saved state of %s/%s: incompatible", saved.detector, saved.key)
            continue
        assert isinstance(detector, Detector)
        keyed.put(saved.key, detector)
        restored += 1
    return restored
