"""The detector contract shared by every detector and by the collector that runs them."""

from __future__ import annotations

import abc
from typing import Protocol


class CallView(Protocol):
    """What a detector may read from one LLM call.

    The collector's call record satisfies this structurally, so this package never imports
    the collector (the light distributions must not pull the heavy one).
    """

    @property
    def input_text(self) -> str:
        """The user-facing input (prompt or last user message)."""

    @property
    def output_text(self) -> str:
        """The model's answer, joined if it was streamed."""

    @property
    def duration_s(self) -> float:
        """Wall-clock latency of the call in seconds."""

    @property
    def is_error(self) -> bool:
        """True when the call raised or the span status is ERROR."""


class Detector(abc.ABC):
    """A streaming detector: feed calls one at a time, then read what it found.

    Subclasses keep bounded state, are deterministic for a given input stream, and pickle
    round-trip so a restart or a Kafka rebalance does not forget what was learned.
    """

    #: Stable identifier used in stored scores, alarms and metric labels.
    name: str = ""
    #: The score family this detector contributes (``input_drift``, ``faithfulness`` ...).
    score_name: str = ""

    @abc.abstractmethod
    def update(self, call: CallView) -> None:
        """Learn from one call; afterwards ``score`` and ``drift_detected`` describe it."""

    @property
    @abc.abstractmethod
    def score(self) -> float:
        """Score of the call passed to the last ``update`` (meaning set by ``score_name``)."""

    @property
    @abc.abstractmethod
    def drift_detected(self) -> bool:
        """True when the last ``update`` completed the detection of a change in the stream."""

    def clone(self) -> Detector:
        """A fresh, untrained instance with the same parameters."""
        return type(self)(**self._params())

    def _params(self) -> dict[str, object]:
        return {}
