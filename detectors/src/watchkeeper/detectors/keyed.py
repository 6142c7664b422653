"""One detector instance per key (app, route, model), with a bound on the number of keys."""

from __future__ import annotations

from collections import OrderedDict

from watchkeeper.detectors.base import Detector


class KeyedDetectors:
    """Per-key instances cloned from a prototype, evicting the least recently used key.

    Keys come from traffic (route and model names), so their number must be bounded: a
    misbehaving client sending a fresh route per call must not grow memory without limit.

    >>> from watchkeeper.detectors import InputLengthDrift
    >>> keyed = KeyedDetectors(InputLengthDrift(), max_keys=2)
    >>> for key in ["a", "b", "c"]:
    ...     _ = keyed.get(key)
    >>> sorted(keyed.keys()), keyed.evicted
    (['b', 'c'], 1)
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
            self._instances[key] = detector
            if len(self._instances) > self.max_keys:
                self._instances.popitem(last=False)
                self.evicted += 1
        else:
            self._instances.move_to_end(key)
        return detector

    def keys(self) -> list[str]:
        """Keys currently held, least recently used first."""
        return list(self._instances)
