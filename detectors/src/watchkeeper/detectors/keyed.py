"""One detector instance per key (app, route, model), with a bound on the number of keys."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from collections.abc import Iterator

from watchkeeper.detectors.base import Detector

#: Format version of ``snapshot`` bytes; bumped when restoring old snapshots would mislead.
SNAPSHOT_VERSION = 1


class KeyedDetectors:
    """Per-key instances cloned from a prototype, evicting the least recently used key.

    Keys come from traffic (route and model names), so their number must be bounded: a
    misbehaving client sending a fresh route per call must not grow memory without limit.
    Every detector pickles, so the whole set can be saved and restored
    (:meth:`snapshot`, :meth:`restore`) or moved one key at a time (:meth:`items`,
    :meth:`put`) when a restart or a rebalance hands keys to another process.

    >>> from watchkeeper.detectors import InputLengthDrift
    >>> keyed = KeyedDetectors(InputLengthDrift(), max_keys=2)
    >>> for key in ["a", "b", "c"]:
    ...     _ = keyed.get(key)
    >>> sorted(keyed.keys()), keyed.evicted
    (['b', 'c'], 1)
    >>> restored = KeyedDetectors.restore(keyed.snapshot())
    >>> sorted(restored.keys()), restored.max_keys
    (['b', 'c'], 2)
    """

    def __init__(self, prototype: Detector, max_keys: int = 1000) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, got {max_keys}")
        self.prototype = prototype
        self.max_keys = max_keys
        self.evicted = 0
        self._instances: OrderedDict[str, Detector] = OrderedDict()

    def get(self, key: str) -> Detector:
        """The detector for ``key``, created on first use."""
        detector = self._instances.get(key)
        if detector is None:
            detector = self.prototype.clone()
            self.put(key, detector)
        else:
            self._instances.move_to_end(key)
        return detector

    def put(self, key: str, detector: Detector) -> None:
        """Use ``detector`` (e.g. restored from saved state) for ``key`` from now on.

        Its change test becomes the prototype's when they differ (a fresh one: what the
        old test learned is dropped), so a configuration that changed since the state
        was saved applies to restored keys too.
        """
        wanted = self.prototype.change_test
        held = detector.change_test
        if self.prototype.change_signal and held is not wanted and repr(held) != repr(wanted):
            detector.use_change_test(wanted)
        self._instances[key] = detector
        self._instances.move_to_end(key)
        while len(self._instances) > self.max_keys:
            self._instances.popitem(last=False)
            self.evicted += 1

    def keys(self) -> list[str]:
        """Keys currently held, least recently used first."""
        return list(self._instances)

    def items(self) -> Iterator[tuple[str, Detector]]:
        """(key, detector) pairs, least recently used first."""
        return iter(list(self._instances.items()))

    def __len__(self) -> int:
        return len(self._instances)

    def snapshot(self) -> bytes:
        """Everything learned, as bytes (pickle): store it, then :meth:`restore` it."""
        return pickle.dumps((SNAPSHOT_VERSION, self), protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def restore(cls, data: bytes) -> KeyedDetectors:
        """The detectors saved by :meth:`snapshot` (trusted bytes only: this unpickles)."""
        version, keyed = pickle.loads(data)  # our own checkpoints, never user input
        if version != SNAPSHOT_VERSION or not isinstance(keyed, cls):
            raise ValueError(f"not a KeyedDetectors snapshot of version {SNAPSHOT_VERSION}")
        return keyed
