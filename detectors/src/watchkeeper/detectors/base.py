"""The detector contract shared by every detector and by the collector that runs them."""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Protocol

from watchkeeper.detectors.change.rank_cusum import SelfStartingCusum
from watchkeeper.detectors.change.river_test import ChangeTest
from watchkeeper.detectors.effect.severity import FoundAlarm, SeverityPolicy
from watchkeeper.detectors.effect.tracker import EffectTracker

if TYPE_CHECKING:
    from watchkeeper.detectors.text.ahead import AheadLookup


class CallView(Protocol):
    """What a detector may read from one LLM call.

    The collector's call record satisfies this structurally, so this package never imports
    the collector (the light distributions must not pull the heavy one). For tests, docs
    and benchmarks, :class:`watchkeeper.detectors.Call` is a plain record with defaults.
    """

    @property
    def input_text(self) -> str:
        """The user-facing input (prompt or last user message)."""

    @property
    def output_text(self) -> str:
        """The model's answer, joined if it was streamed."""

    @property
    def contexts(self) -> Sequence[str]:
        """Retrieved context passages (RAG), in retrieval order; empty when none."""

    @property
    def model(self) -> str:
        """The model that answered (or was asked)."""

    @property
    def duration_s(self) -> float:
        """Wall-clock latency of the call in seconds."""

    @property
    def is_error(self) -> bool:
        """True when the call raised or the span status is ERROR."""

    @property
    def input_tokens(self) -> int:
        """Prompt tokens reported by the provider (0 when unknown)."""

    @property
    def output_tokens(self) -> int:
        """Completion tokens reported by the provider (0 when unknown)."""

    @property
    def finish_reasons(self) -> Sequence[str]:
        """Why generation stopped (``stop``, ``length`` ...), one per choice."""


class DetectorBatch(NamedTuple):
    """What :meth:`Detector.update_many` found over a run of calls."""

    #: Score name -> one value per call, in call order; NaN where the call got none.
    scores: dict[str, list[float]]
    #: ``(index, alarm_reason)`` of each call that completed the detection of a change.
    alarms: list[tuple[int, str]]
    #: The per-call value whose change an alarm is about, in its own units (NaN where a
    #: call has none), when it is not the main score: the raw descriptor (seconds,
    #: tokens), 1/0 for an event. :meth:`Detector.measure` sizes alarms on it.
    signal: Sequence[float | None] | None = None


class Detector(abc.ABC):
    """A streaming detector: feed calls one at a time, then read what it found.

    Subclasses keep bounded state, are deterministic for a given input stream and seed,
    and pickle round-trip so a restart or a Kafka rebalance does not forget what was
    learned. After ``update``:

    - ``scores`` holds the per-call scores of that call, by score name (empty when the
      detector has nothing to say about it, e.g. no retrieved contexts);
    - ``drift_detected`` is True on the call that completed the detection of a change,
      and ``alarm_reason`` then says what changed.
    """

    #: Stable identifier used in stored scores, alarms and metric labels.
    name: str = ""
    #: The main score family this detector contributes (``input_drift``, ``faithfulness`` ...).
    score_name: str = ""
    #: How the size of a change decides its severity (see ``SeverityPolicy``): ``mean``,
    #: ``rate`` or ``latency``.
    effect_kind: ClassVar[str] = "mean"
    #: Unit of the signal an alarm's effect is measured in, for alarm messages.
    unit: ClassVar[str] = ""
    #: Mean number of calls between false alarms on a stable stream.
    target_arl: float = 200_000.0
    #: Follows the signal for the sizes of alarms (made by the first ``measure``).
    _effect_tracker: EffectTracker | None = None
    #: What a change test plugged in by :meth:`use_change_test` is fed, one value per
    #: call, for docs and errors; empty where the detector's own test cannot be replaced.
    change_signal: ClassVar[str] = ""
    #: The change test plugged in (a template, never fed), or None: the calibrated CUSUM.
    change_test: ChangeTest | None = None
    #: This instance's own copy of ``change_test``, the one fed.
    _change: ChangeTest | None = None

    @abc.abstractmethod
    def update(self, call: CallView) -> None:
        """Learn from one call; afterwards ``scores`` and ``drift_detected`` describe it."""

    def update_many(self, calls: Sequence[CallView]) -> DetectorBatch:
        """``update`` with each call in turn; what each call got, in columns.

        Exactly what calling ``update`` call by call gives (afterwards the detector
        describes the last call, as it would then); detectors override it where a run of
        calls is cheaper at once.
        """
        return self._update_each(calls, range(len(calls)))

    def _update_each(self, calls: Sequence[CallView], which: Iterable[int]) -> DetectorBatch:
        """``update`` with ``calls[i]`` for each ``i`` of ``which``, in order; what each
        got, in columns as ``update_many`` returns them (a subclass hands over only the
        calls ``update`` would change anything for)."""
        nan = math.nan
        columns: dict[str, list[float]] = {}
        alarms: list[tuple[int, str]] = []
        update = self.update
        for i in which:
            update(calls[i])
            for name, value in self.scores.items():
                column = columns.get(name)
                if column is None:
                    column = columns[name] = [nan] * len(calls)
                column[i] = float(value)
            if self.drift_detected:
                alarms.append((i, self.alarm_reason))
        return DetectorBatch(columns, alarms)

    @property
    @abc.abstractmethod
    def scores(self) -> Mapping[str, float]:
        """Finite per-call scores of the last call, by score name."""

    @property
    def score(self) -> float:
        """The main score (``score_name``) of the last call; NaN when it had none."""
        return self.scores.get(self.score_name, math.nan)

    @property
    @abc.abstractmethod
    def drift_detected(self) -> bool:
        """True when the last ``update`` completed the detection of a change in the stream."""

    @property
    def alarm_reason(self) -> str:
        """What changed, in a few words, when ``drift_detected`` (else empty)."""
        return ""

    @property
    def scorer_version(self) -> str | None:
        """Name and version of the model or scorer behind this detector's scores, stored
        beside each score (``call_scores.ScorerVersions``) so that a change of model shows
        in the data; None for a detector whose scores come from no model (the default)."""
        return None

    def measure(self, batch: DetectorBatch, policy: SeverityPolicy) -> list[FoundAlarm]:
        """The alarms of ``batch`` (what ``update_many`` just returned) with their effect
        sizes and severities; afterwards ``away`` says whether the signal is still away.

        The effect is measured on ``batch.signal``, else on the main score. Feed every
        batch here, in order, to keep the change points right.
        """
        tracker = self._effect_tracker
        if tracker is None:
            tracker = self._effect_tracker = EffectTracker()
        signal = batch.signal if batch.signal is not None else batch.scores.get(self.score_name)
        kind = self.effect_kind
        return tracker.measure(signal, batch.alarms, lambda effect: policy.severity(kind, effect))

    @property
    def away(self) -> str:
        """Severity of the last alarm while the signal has not come back to the reference
        it alarmed against (see ``measure``); empty when back or never alarmed."""
        tracker = self._effect_tracker
        return tracker.away_severity if tracker is not None else ""

    def set_target_arl(self, target_arl: float) -> None:
        """Recalibrate to ``target_arl`` calls between false alarms, keeping what was
        learned (a false-alarm budget moves it as the traffic estimate settles).

        Detectors built on one
        :class:`~watchkeeper.detectors.change.rank_cusum.SelfStartingCusum` hold it as
        ``_cusum``; others override this.
        """
        self.target_arl = target_arl
        cusum = getattr(self, "_cusum", None)
        if isinstance(cusum, SelfStartingCusum):
            cusum.set_target_arl(target_arl)

    def use_change_test(self, test: ChangeTest | None) -> None:
        """Decide alarms with ``test`` from now on instead of the calibrated CUSUM (None:
        back to it), e.g. a river detector through
        :class:`~watchkeeper.detectors.change.river_test.RiverChangeTest`.

        ``test`` is kept as a template: this instance and each of its clones (one per key)
        feed a fresh copy of their own. Scores are unchanged; only the alarms move, and
        their false-alarm rate is then whatever ``test`` gives on ``change_signal``.

        >>> from river.drift import ADWIN
        >>> from watchkeeper.detectors import InputLengthDrift
        >>> from watchkeeper.detectors.change.river_test import RiverChangeTest
        >>> detector = InputLengthDrift()
        >>> detector.use_change_test(RiverChangeTest(ADWIN()))
        >>> detector.clone().change_test is detector.change_test
        True
        """
        if test is not None and not self.change_signal:
            name = self.name or type(self).__name__
            raise TypeError(f"{name}: its change test cannot be replaced")
        self.change_test = test
        self._change = test.fresh() if test is not None else None

    def _plugged_alarm(self, x: float, direction: str, stratum: int = 0) -> str:
        """Feed ``x`` to the plugged change test: the side (``up``, ``down``) of the
        detection it completed on ``direction`` (``both``, ``up``, ``down``), else empty."""
        test = self._change
        if test is None:
            return ""
        test.update(x, stratum)
        if test.drift_detected and direction in ("both", test.change):
            return test.change
        return ""

    def ahead_lookups(self) -> Sequence[AheadLookup]:
        """Word tables to look up in the inputs of this instance's next calls ahead of
        them, on another thread (see :mod:`.text.ahead`); none by default."""
        return ()

    def clone(self) -> Detector:
        """A fresh, untrained instance with the same parameters (and change test)."""
        detector = type(self)(**self._params())
        if self.change_test is not None and detector.change_test is None:
            detector.use_change_test(self.change_test)
        return detector

    def _params(self) -> dict[str, object]:
        return {}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"
