"""The shape shared by detectors that watch one number per call for a change."""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

from watchkeeper.detectors.base import CallView, Detector, DetectorBatch
from watchkeeper.detectors.change.rank_cusum import SelfStartingCusum

#: Default mean number of monitored calls between false alarms, per detector and key.
TARGET_ARL = 200_000
#: Default shift (in standard deviations of the per-call signal) detected fastest.
SHIFT = 0.3


class DescriptorDrift(Detector):
    """Change detection on one per-call number (a *descriptor*), calibrated.

    Subclasses say how to compute the descriptor; this class feeds it to a
    :class:`~watchkeeper.detectors.change.rank_cusum.SelfStartingCusum` and reports, per
    call, its normal score ``z``: how many standard deviations the call sits from what this
    key usually sees (``|z|`` for ``input_drift`` scores, signed for operational ones).
    Calls for which the descriptor is undefined (``None``) are skipped and get no score.
    The reported ``z`` places tied values at the middle of their ties, so equal calls get
    equal scores. The CUSUM scores a tied value by the expected normal score over its tie
    cell and sums, on each side, the log-likelihood ratio of the cell shares against the
    same shares shifted by ``shift`` (ties are broken at random only while a key's first
    256 values are kept exactly); its threshold is calibrated on those shares, which keeps
    the false-alarm rate at target on discrete descriptors.

    Parameters
    ----------
    target_arl
        Mean number of monitored calls between false alarms on a stable stream.
    shift
        Shift, in standard deviations of the descriptor, detected fastest.
    warmup
        Calls learned before alarms are possible.
    seed
        Seed for tie-breaking; equal seeds and streams give equal results.
    """

    #: ``both``, ``up`` or ``down``: which changes raise an alarm.
    direction: ClassVar[str] = "both"
    #: Report ``z`` (True) or ``|z|`` (False) as the score.
    signed: ClassVar[bool] = False
    #: What the descriptor is, for alarm messages ("input length").
    describes: str = "descriptor"
    change_signal = "the descriptor, in its own units (a call without one is skipped)"

    def __init__(
        self,
        target_arl: float = TARGET_ARL,
        *,
        shift: float = SHIFT,
        warmup: int = 100,
        seed: int = 0,
    ) -> None:
        self.target_arl = target_arl
        self.shift = shift
        self.warmup = warmup
        self.seed = seed
        self._cusum = SelfStartingCusum(
            target_arl=target_arl,
            shift=shift,
            direction=self.direction,
            warmup=warmup,
            seed=seed,
        )
        self._scores: dict[str, float] = {}
        self._drift = False
        self._reason = ""
        #: The descriptor of the last call (NaN when it was skipped).
        self.value = math.nan

    @abc.abstractmethod
    def descriptor(self, call: CallView) -> float | None:
        """The number this detector watches for ``call``, or None to skip the call."""

    def descriptors(self, calls: Sequence[CallView]) -> list[float | None]:
        """``descriptor`` of each call, in turn (``update_many`` reads them so; a subclass
        may answer for many calls at once, as long as the values and its state afterwards
        are what ``descriptor`` call by call gives)."""
        descriptor = self.descriptor
        return [descriptor(call) for call in calls]

    def update(self, call: CallView) -> None:
        """Score the call's descriptor against this key's history, then learn it."""
        x = self.descriptor(call)
        if x is None or not math.isfinite(x):
            self.value = math.nan
            self._scores = {}
            self._drift = False
            return
        self.value = x
        cusum = self._cusum
        cusum.update(x)
        z = cusum.z_mid
        self._scores = {self.score_name: z if self.signed else abs(z)}
        change = cusum.change if cusum.drift_detected else ""
        if self._change is not None:
            change = self._plugged_alarm(x, self.direction)
        self._drift = bool(change)
        if self._drift:
            self._reason = f"{self.describes} {'rose' if change == 'up' else 'fell'}"

    def update_many(self, calls: Sequence[CallView]) -> DetectorBatch:
        """``update`` with each call in turn: the descriptors, then the CUSUM over them."""
        if type(self).update is not DescriptorDrift.update:
            return super().update_many(calls)  # a subclass's own update decides
        values = self.descriptors(calls)
        cusum = self._cusum
        z_mids, changes = cusum.update_many(values)
        if self._change is not None:  # the plugged test decides the alarms
            plugged = self._plugged_alarm
            direction = self.direction
            found = ((i, plugged(x, direction)) for i, x in enumerate(values) if x is not None)
            changes = [(i, change) for i, change in found if change]
        column = z_mids if self.signed else list(map(abs, z_mids))
        alarms = [
            (i, f"{self.describes} {'rose' if change == 'up' else 'fell'}") for i, change in changes
        ]
        if values:  # describe the last call, as ``update`` would have
            last = values[-1]
            if last is None or not math.isfinite(last):
                self.value = math.nan
                self._scores = {}
                self._drift = False
            else:
                self.value = last
                self._scores = {self.score_name: column[-1]}
                self._drift = bool(alarms) and alarms[-1][0] == len(values) - 1
        if alarms:
            self._reason = alarms[-1][1]
        return DetectorBatch({self.score_name: column}, alarms, values)

    @property
    def scores(self) -> Mapping[str, float]:
        """``{score_name: z}`` (or ``|z|``) for the last call; empty if it was skipped."""
        return self._scores

    @property
    def drift_detected(self) -> bool:
        """True when the last call completed the detection of a shift."""
        return self._drift

    @property
    def alarm_reason(self) -> str:
        """Which way the descriptor moved, on the call that raised the alarm."""
        return self._reason if self._drift else ""

    @property
    def evidence(self) -> float:
        """Evidence of a change accumulated so far, as a fraction of the alarm threshold."""
        return self._cusum.statistic

    def _params(self) -> dict[str, object]:
        return {
            "target_arl": self.target_arl,
            "shift": self.shift,
            "warmup": self.warmup,
            "seed": self.seed,
        }
