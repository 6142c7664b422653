"""The signals as score streams for the calibrated change detectors, per key.

Every signal value is fed, per (service, route, agent) key, to a
:class:`~watchkeeper.detectors.DescriptorDrift` watching the direction that means worse,
calibrated to ``target_arl`` values between false alarms on a stable stream like every
other detector. Events (0/1 per trace, turn or session) go to the same detector watching
for a rise: its scores of tied values keep the calibration on 0/1 values (at a target of
2,000, 53 and 47 false alarms in 100,000 values at 3% and 20% events, 50 expected), and
unlike the gap-based :class:`~watchkeeper.detectors.RateDrift` it catches an event that
never happened before (a retriever that starts returning nothing), which has no gaps yet
to compare.

>>> watch = SignalWatch()
>>> alarms = [a for i in range(1500) for a in watch.update(
...     "svc|route|agent", {"rag.context_relevance": 0.8 if i < 1000 else 0.2 + (i % 2) / 10})]
>>> [(a.signal, a.reason) for a in alarms][:1]
[('rag.context_relevance', 'context relevance fell')]
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar, Final, NamedTuple, overload

from watchkeeper.collector.traces.signals.value_columns import Column, value_columns
from watchkeeper.detectors import CallView, DescriptorDrift, Detector, KeyedDetectors
from watchkeeper.detectors.descriptor_drift import SHIFT, TARGET_ARL


class Signal(NamedTuple):
    """How one signal is watched: ``event`` (0/1, a rise of its rate), ``up``, ``down``
    or ``both``."""

    watch: str
    describes: str


#: Every signal, by its stored name, and how a change in it is looked for.
SIGNALS: Final[Mapping[str, Signal]] = {
    "trajectory.tool_error": Signal("event", "tool error rate"),
    "trajectory.tool_error_rate": Signal("up", "share of failing tool calls"),
    "trajectory.schema_violation": Signal("event", "tool calls breaking their schema"),
    "trajectory.repeated_tool_calls": Signal("up", "repeated tool calls"),
    "trajectory.tool_loop": Signal("event", "tool loops"),
    "trajectory.steps": Signal("both", "steps per task"),
    "trajectory.tokens": Signal("both", "tokens per task"),
    "trajectory.no_answer": Signal("event", "trajectories without an answer"),
    "trajectory.ended_after_tool_error": Signal("event", "trajectories ending on a tool error"),
    "trajectory.answer_after_tool_error": Signal("event", "answers after a failed tool call"),
    "rag.retrieval_empty": Signal("event", "empty retrievals"),
    "rag.retrieval_top_score": Signal("down", "top retrieval score"),
    "rag.context_relevance": Signal("down", "context relevance"),
    "rag.context_utilisation": Signal("down", "context utilisation"),
    "rag.rerank_disagreement": Signal("up", "rerank disagreement"),
    "conversation.rephrase": Signal("event", "rephrase rate"),
    "conversation.abandoned": Signal("event", "abandoned sessions"),
    "conversation.rephrase_rate": Signal("up", "rephrased turns per session"),
    "conversation.turns": Signal("up", "turns per session"),
    "conversation.turns_to_resolution": Signal("up", "turns to resolution"),
}


class SignalPoint:
    """One signal value, as the one call a detector sees (the rest of a call is empty).

    Not a :class:`~watchkeeper.detectors.Call`: the watch makes one per value, and a
    slotted class with the call's other fields empty on the class costs a tenth of it.
    """

    __slots__ = ("value",)
    input_text: Final = ""
    output_text: Final = ""
    contexts: Final[tuple[str, ...]] = ()
    model: Final = ""
    duration_s: Final = 0.0
    is_error: Final = False
    input_tokens: Final = 0
    output_tokens: Final = 0
    finish_reasons: Final[tuple[str, ...]] = ()

    def __init__(self, value: float) -> None:
        self.value = value


class SignalPoints(Sequence[SignalPoint]):
    """Finite values of one signal, given to a detector at once as the calls it sees: its
    :meth:`_SignalLevelDrift.descriptors` reads the values as they are, and a
    :class:`SignalPoint` is made only for a value read as a call."""

    __slots__ = ("values",)

    def __init__(self, values: list[float]) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, at: int) -> SignalPoint: ...

    @overload
    def __getitem__(self, at: slice) -> list[SignalPoint]: ...

    def __getitem__(self, at: int | slice) -> SignalPoint | list[SignalPoint]:
        if isinstance(at, slice):
            return [SignalPoint(v) for v in self.values[at]]
        return SignalPoint(self.values[at])


class _SignalLevelDrift(DescriptorDrift):
    """A shift of a signal's values in the direction that means worse."""

    direction: ClassVar[str] = "both"
    signed: ClassVar[bool] = True

    def __init__(
        self,
        signal: str,
        target_arl: float = TARGET_ARL,
        *,
        shift: float = SHIFT,
        warmup: int = 100,
        seed: int = 0,
    ) -> None:
        super().__init__(target_arl=target_arl, shift=shift, warmup=warmup, seed=seed)
        self.signal = signal
        self.name = self.score_name = signal
        self.describes = SIGNALS[signal].describes

    def descriptor(self, call: CallView) -> float | None:
        """The signal's value."""
        if type(call) is SignalPoint and math.isfinite(call.value):
            return call.value
        return None

    def descriptors(self, calls: Sequence[CallView]) -> list[float | None]:
        """:meth:`descriptor` of each call; the values themselves for :class:`SignalPoints`
        (finite, as the watch gives them)."""
        if type(calls) is SignalPoints:
            values: list[float | None] = list(calls.values)
            return values
        return super().descriptors(calls)

    def _params(self) -> dict[str, object]:
        return {"signal": self.signal, **super()._params()}


class SignalRiseDrift(_SignalLevelDrift):
    """A rise of a signal whose higher values are worse."""

    direction: ClassVar[str] = "up"


class SignalFallDrift(_SignalLevelDrift):
    """A fall of a signal whose lower values are worse."""

    direction: ClassVar[str] = "down"


class SignalShiftDrift(_SignalLevelDrift):
    """A shift either way of a signal where both are suspect (steps, tokens)."""


_DETECTORS: Final = {
    "event": SignalRiseDrift,
    "up": SignalRiseDrift,
    "down": SignalFallDrift,
    "both": SignalShiftDrift,
}


def signal_detector(signal: str, target_arl: float = TARGET_ARL, seed: int = 0) -> Detector:
    """A fresh detector watching ``signal`` (a key of :data:`SIGNALS`)."""
    cls = _DETECTORS[SIGNALS[signal].watch]
    return cls(signal, target_arl=target_arl, seed=seed)


class SignalAlarm(NamedTuple):
    """A change found in one signal of one key."""

    key: str
    signal: str
    value: float
    reason: str


class SignalWatch:
    """One detector per (signal, key), least recently used keys evicted past ``max_keys``
    per signal. Pickles, so what it learned survives a restart.

    Not thread-safe: feed it from one thread (values of a key in their order).
    """

    def __init__(self, target_arl: float = TARGET_ARL, max_keys: int = 1000, seed: int = 0) -> None:
        self.target_arl = target_arl
        # A seed per signal: signals that are constant while all is well (events that
        # never happen) would otherwise break their ties alike and alarm together.
        self._keyed = {
            name: KeyedDetectors(
                signal_detector(name, target_arl, seed * len(SIGNALS) + i), max_keys=max_keys
            )
            for i, name in enumerate(SIGNALS)
        }

    def detectors(self) -> Iterator[tuple[str, str, Detector]]:
        """``(signal, key, detector)`` for every key held (to checkpoint them)."""
        for name, keyed in self._keyed.items():
            for key, detector in keyed.items():
                yield name, key, detector

    def put(self, signal: str, key: str, detector: Detector) -> bool:
        """Watch ``signal`` of ``key`` with ``detector`` (restored from a checkpoint) from
        now on; False, and nothing done, when it is no signal's detector of this kind."""
        keyed = self._keyed.get(signal)
        if keyed is None or type(detector) is not type(keyed.prototype):
            return False
        if getattr(detector, "signal", None) != signal:
            return False
        keyed.put(key, detector)
        return True

    def update_many(
        self, items: Sequence[tuple[str, Mapping[str, float]]]
    ) -> list[tuple[int, SignalAlarm]]:
        """:meth:`update` with each ``(key, values)`` in turn, each detector going through
        its values at once; ``(item index, alarm)`` in item order, then signal order."""
        keys = [key for key, _ in items]
        return self.update_columns(keys, value_columns([values for _, values in items]))

    def update_columns(
        self, keys: Sequence[str], columns: Mapping[str, Column]
    ) -> list[tuple[int, SignalAlarm]]:
        """:meth:`update_many` of items given as their keys and their values turned into
        columns (:func:`.value_columns.value_columns`; values that are not finite are
        skipped)."""
        first_seen = {key: order for order, key in enumerate(dict.fromkeys(keys))}
        found: list[tuple[int, int, SignalAlarm]] = []
        for order, (name, keyed) in enumerate(self._keyed.items()):
            column = columns.get(name)
            if column is None:
                continue
            # Keys in the order they first came among all items (the least recently used
            # key is evicted first), each with its values in item order.
            split = _by_key(keys, column, one_key=len(first_seen) == 1)
            for key, (members, values) in sorted(
                split.items(), key=lambda entry: first_seen[entry[0]]
            ):
                for i, reason in _alarms(keyed.get(key), values):
                    found.append((members[i], order, SignalAlarm(key, name, values[i], reason)))
        found.sort(key=lambda entry: entry[:2])
        return [(at, alarm) for at, _, alarm in found]

    def update(self, key: str, values: Mapping[str, float]) -> list[SignalAlarm]:
        """Feed one trace's (or turn's, or session's) signal values; the alarms raised."""
        alarms = []
        for name, value in values.items():
            keyed = self._keyed.get(name)
            if keyed is None or not math.isfinite(value):
                continue
            detector = keyed.get(key)
            detector.update(SignalPoint(value))
            if detector.drift_detected:
                alarms.append(SignalAlarm(key, name, value, detector.alarm_reason))
        return alarms


def _by_key(keys: Sequence[str], column: Column, *, one_key: bool) -> dict[str, Column]:
    """A signal's finite values (``column``, over items of ``keys``) split by key
    (``one_key``: all items have the same)."""
    members, values = column
    if not all(map(math.isfinite, values)):
        kept = [(at, v) for at, v in zip(members, values, strict=True) if math.isfinite(v)]
        members, values = [at for at, _ in kept], [v for _, v in kept]
    if not members:
        return {}
    if one_key:
        return {keys[members[0]]: (members, values)}
    split: dict[str, Column] = {}
    for at, value in zip(members, values, strict=True):
        part = split.get(keys[at])
        if part is None:
            split[keys[at]] = ([at], [value])
        else:
            part[0].append(at)
            part[1].append(value)
    return split


def _alarms(detector: Detector, values: list[float]) -> list[tuple[int, str]]:
    """``values`` through ``detector``: ``(index, reason)`` of each alarm."""
    if len(values) == 1:  # update_many's set-up costs more than one value
        detector.update(SignalPoint(values[0]))
        return [(0, detector.alarm_reason)] if detector.drift_detected else []
    return detector.update_many(SignalPoints(values)).alarms
