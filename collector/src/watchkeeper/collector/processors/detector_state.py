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
import time
from typing import Any

from watchkeeper.collector.processors.detect import DetectorStage
from watchkeeper.collector.store.store import Store
from watchkeeper.detectors import Detector

log = logging.getLogger("watchkeeper.collector.state")
STATE_VERSION = 1
_SELECT = "SELECT Detector, DetectorKey, State FROM {db}.detector_state FINAL"


def state_rows(stage: DetectorStage) -> list[dict[str, Any]]:
    """One row per (detector, key) currently held."""
    now_ms = time.time_ns() // 1_000_000
    saved_at = f"{now_ms // 1000}.{now_ms % 1000:03d}"
    rows = []
    for keyed in stage.keyed:
        name = keyed.prototype.name
        for key, detector in keyed.items():
            blob = pickle.dumps((STATE_VERSION, detector), protocol=pickle.HIGHEST_PROTOCOL)
            rows.append(
                {
                    "SavedAt": saved_at,
                    "Detector": name,
                    "DetectorKey": key,
                    "State": base64.b64encode(blob).decode("ascii"),
                }
            )
    return rows


def save_state(stage: DetectorStage, store: Store) -> int:
    """Write every held detector's state; returns the number of rows written."""
    rows = state_rows(stage)
    store.backend.insert_rows(f"{store.database}.detector_state", rows)
    return len(rows)


def restore_state(stage: DetectorStage, store: Store) -> int:
    """Load saved state into ``stage``; returns how many (detector, key) were restored.

    States of detectors no longer configured, of another version or that fail to load are
    skipped with a warning: the detector then relearns for that key, as if new.
    """
    by_name = {keyed.prototype.name: keyed for keyed in stage.keyed}
    restored = 0
    for row in store.select(_SELECT):
        keyed = by_name.get(row["Detector"])
        if keyed is None:
            continue
        try:
            version, detector = pickle.loads(base64.b64decode(row["State"]))
        except Exception as exc:
            log.warning(
                "skipping saved state of %s/%s: %s", row["Detector"], row["DetectorKey"], exc
            )
            continue
        if version != STATE_VERSION or not isinstance(detector, type(keyed.prototype)):
            log.warning(
                "skipping saved state of %s/%s: incompatible", row["Detector"], row["DetectorKey"]
            )
            continue
        assert isinstance(detector, Detector)
        keyed.put(row["DetectorKey"], detector)
        restored += 1
    return restored
