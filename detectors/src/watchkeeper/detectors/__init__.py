"""Streaming quality detectors for LLM traffic.

Each detector follows river's shape: ``update(call)`` returns nothing, then properties say
what was found (``score`` for the call just seen, ``drift_detected`` when the stream changed).

>>> from watchkeeper.detectors import InputLengthDrift
>>> detector = InputLengthDrift()
>>> detector.name
'input_length_drift'
"""

from watchkeeper.detectors.base import CallView, Detector
from watchkeeper.detectors.drift.input_length import InputLengthDrift
from watchkeeper.detectors.keyed import KeyedDetectors

__all__ = ["CallView", "Detector", "InputLengthDrift", "KeyedDetectors", "default_detectors"]


def default_detectors() -> list[Detector]:
    """Fresh instances of the detectors the collector runs when configuration names none."""
    return [InputLengthDrift()]
