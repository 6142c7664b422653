"""Run the detectors over each call, keyed per service/route/model."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from watchkeeper.collector.processors.detector_errors import DetectorErrors
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.scores import BatchScores, Column
from watchkeeper.collector.settings import Settings
from watchkeeper.detectors import Detector, KeyedDetectors
from watchkeeper.detectors.budget.budgeted_detectors import BudgetedDetectors
from watchkeeper.detectors.budget.false_alarm_budget import FalseAlarmBudget
from watchkeeper.detectors.call_run import CallRun
from watchkeeper.detectors.effect.severity import SEVERITIES, FoundAlarm, SeverityPolicy
from watchkeeper.detectors.text.prefetch import TextPrefetch
from watchkeeper.detectors.text.tokens import forget_texts

#: Calls of a key that each detector goes through at once: the memo of their texts'
#: analysis (shared by the detectors) holds a run's texts, contexts included.
RUN = 256


def detector_budget(settings: Settings) -> FalseAlarmBudget | None:
    """The false-alarm budget the settings give the detectors (None: fixed targets)."""
    if settings.pipeline.detector_calibration == "fixed":
        return None
    return FalseAlarmBudget(settings.alerting.false_pages_per_week)


def severity_policy(settings: Settings) -> SeverityPolicy:
    """When an alarm pages rather than goes to a ticket, from the settings."""
    pipeline = settings.pipeline
    return SeverityPolicy(
        pipeline.detector_page_sd,
        pipeline.detector_page_rate_ratio,
        pipeline.detector_page_latency_factor,
    )


@dataclass
class Detection:
    """What the detectors produced for a batch of calls."""

    #: Every call's finite scores, by ``<detector>.<score name>`` (a NaN or infinite score
    #: is no score: stored scores, metrics and JSON output hold numbers only).
    by_score: BatchScores = field(default_factory=BatchScores)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    #: span id -> names of detectors that flagged that call
    flagged: dict[str, list[str]] = field(default_factory=dict)
    #: detector -> the version of the model or scorer behind its scores, for the detectors
    #: that have one (the same for every batch: see ``DetectorStage.scorer_versions``)
    scorer_versions: dict[str, str] = field(default_factory=dict)
    #: detector -> runs of calls on which it raised (its scores for them are absent)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def scores(self) -> list[tuple[CallRecord, dict[str, float]]]:
        """(call, its scores as ``{"<detector>.<score name>": value}``), in call order;
        calls no detector scored are left out."""
        return list(self.by_score.per_call())


class DetectorStage:
    """Feeds every call to one instance per key of each configured detector.

    With a ``budget`` (the default: one false page per service and week), each key's
    detectors are calibrated from its traffic so that the service's false alarms stay
    within it; with ``budget=None`` every detector keeps its own fixed target. Alarms come
    with the size of the change and a severity from ``policy``
    (:class:`~watchkeeper.detectors.budget.budgeted_detectors.BudgetedDetectors`).

    A detector that raises on a run of a key's calls is contained: its scores for those
    calls are absent (never guessed), the other detectors and the batch go on, and the
    key's instance of it starts afresh from the prototype, since a half-applied update may
    have left its state inconsistent (a corrupt reference could page, or never again);
    the fresh one relearns its reference as a new key's would. ``Detection.errors`` counts
    them, and :class:`DetectorErrors` logs them, rate-limited.

    Not thread-safe: the pipeline calls it under its own lock, because detector state is
    order-dependent and must see calls one at a time.
    """

    def __init__(
        self,
        detectors: Sequence[Detector],
        max_keys: int = 1000,
        *,
        prefetch: bool = True,
        budget: FalseAlarmBudget | None = FalseAlarmBudget(),  # noqa: B008 - frozen, shared
        policy: SeverityPolicy = SeverityPolicy(),  # noqa: B008 - frozen, shared
    ) -> None:
        self._watched = BudgetedDetectors(detectors, budget, policy, max_keys=max_keys)
        self._keyed = self._watched.keyed
        #: ``(detector, severity) -> keys`` still away after an alarm, as of the last batch;
        #: every pair is there (0 when none), so the gauge's series exist from the start.
        self._none_away = {(d.name, severity): 0 for d in detectors for severity in SEVERITIES}
        self._away = self._none_away
        #: Analyses the texts of the runs ahead (``prefetch``, with the compiled core).
        self._prefetch = (
            TextPrefetch([d.name for d in detectors]) if detectors and prefetch else None
        )
        if detectors:
            # Their calibrations import numpy when a key's first references fill: do it at
            # start rather than stall that batch by the ~0.2 s an import takes.
            import numpy  # noqa: F401
        #: detector -> its model's or scorer's version, asked once: the per-key instances
        #: are copies of these, and every stored scores row carries it.
        self.scorer_versions = {
            d.name: version for d in detectors if (version := d.scorer_version) is not None
        }
        # (detector, score name) -> "<detector>.<score name>", made once
        self._score_names: dict[tuple[str, str], str] = {}
        self._error_log = DetectorErrors()

    def close(self) -> None:
        """Stop the thread that analyses texts ahead (the detectors' state is kept)."""
        if self._prefetch is not None:
            self._prefetch.close()

    @property
    def keyed(self) -> list[KeyedDetectors]:
        """The per-key instances of each detector (to save and restore learned state)."""
        return list(self._keyed)

    @property
    def watched(self) -> BudgetedDetectors:
        """The detectors per key with their paging tests and traffic estimates (to save,
        restore or reset them: call under the pipeline's lock)."""
        return self._watched

    def keys_away(self) -> dict[tuple[str, str], int]:
        """``(detector, severity) -> keys`` whose signal has not come back to the reference
        their last alarm was measured against, as of the last batch (safe to read from
        another thread: a new dict each batch)."""
        return self._away

    @property
    def alarming_tests(self) -> int:
        """Tests per key that may raise a false alarm at their target: every detector,
        and each rate detector's paging test beside it."""
        return sum(2 if k.prototype.effect_kind == "rate" else 1 for k in self._keyed)

    @property
    def detector_names(self) -> list[str]:
        """Names of the detectors this stage runs."""
        return [keyed.prototype.name for keyed in self._keyed]

    def run(self, calls: Sequence[CallRecord]) -> Detection:
        """Update detectors with ``calls``; return scores, alarms and flags, in call order.

        Each key's instances see that key's calls in order (keys are independent), so
        the calls are grouped by key first, and each detector goes through a run of a
        key's calls at once (``update_many``: one Python call per run, not per call). Runs
        are short enough that the analysis of their texts, which the detectors share, stays
        memoised while every detector goes through them. A detector may report several
        scores for a call (e.g. faithfulness beside its length-only control) or none.
        """
        # One column per score over the batch, NaN where a call has none: each detector's
        # run goes in with one assignment.
        columns: dict[str, Column] = {}
        size = len(calls)
        alarms: list[tuple[int, int, dict[str, Any]]] = []
        errors: Counter[str] = Counter()
        names = self._score_names
        runs = _runs(calls)
        watched = self._watched
        instances = {
            key: watched.instances(key) for key in dict.fromkeys(key for key, _, _ in runs)
        }
        # The core analyses the runs' texts on another thread, mostly without the GIL,
        # while the detectors below work through the runs before; it also looks the
        # inputs up in the word tables of the run's key's detectors (as they are now).
        prefetch = self._prefetch
        jobs = (
            [
                prefetch.submit(
                    run.columns.inputs,
                    run.columns.outputs,
                    [lookup for detector in instances[key] for lookup in detector.ahead_lookups()],
                )
                for key, _, run in runs
            ]
            if prefetch is not None and prefetch.available
            else [None] * len(runs)
        )
        for (key, at, run), job in zip(runs, jobs, strict=True):
            where = np.array(at)
            forget_texts()
            TextPrefetch.take(job)
            times = [call.timestamp_ns / 1e9 for call in run]
            observed = watched.observe(key, run, times, self._contain(key, errors))
            for order, (detector, found, sized) in enumerate(observed):
                for score_name, column in found.scores.items():
                    name = names.get((detector.name, score_name))
                    if name is None:
                        name = names[(detector.name, score_name)] = f"{detector.name}.{score_name}"
                    into = columns.get(name)
                    if into is None:
                        into = columns[name] = np.full(size, np.nan)
                    into[where] = column
                main = found.scores.get(detector.score_name)
                for found_alarm in sized:
                    i = found_alarm.at
                    score = main[i] if main is not None else math.nan
                    row = self._alarm(detector, key, run[i], score, found_alarm)
                    alarms.append((at[i], order, row))
        forget_texts()  # the memo holds no text past the batch
        if runs:
            self._away = self._none_away | watched.away()
        by_score = BatchScores(calls, columns)
        by_score.drop_non_finite()
        out = Detection(by_score=by_score, scorer_versions=self.scorer_versions, errors=errors)
        alarms.sort(key=lambda entry: entry[:2])  # call order, then detector order
        for _, _, alarm in alarms:
            out.alarms.append(alarm)
            out.flagged.setdefault(alarm["SpanId"], []).append(alarm["Detector"])
        return out

    def _contain(self, key: str, errors: Counter[str]) -> Callable[[Detector, Exception], None]:
        """What is done when one of ``key``'s detectors raises on a run (see the class)."""

        def contain(detector: Detector, error: Exception) -> None:
            errors[detector.name] += 1
            for keyed in self._keyed:
                if keyed.prototype.name == detector.name:
                    keyed.put(key, keyed.prototype.clone())
            what = f"its scores for a run of {key}'s calls are absent; its instance restarts"
            self._error_log.record(f"detector {detector.name}", error, what)

        return contain

    @staticmethod
    def _alarm(
        detector: Detector, key: str, call: CallRecord, score: float, alarm: FoundAlarm
    ) -> dict[str, Any]:
        effect = alarm.effect
        message = f"{detector.name} detected a change for {key}"
        if alarm.reason:
            message += f": {alarm.reason}"
        if effect is not None:
            message += f", {effect.describe(detector.unit)}"
        message += f" ({alarm.severity})"
        return {
            "Timestamp": call.ch_timestamp,
            "Detector": detector.name,
            "DetectorKey": key,
            "TraceId": call.trace_id,
            "SpanId": call.span_id,
            "Score": score if math.isfinite(score) else 0.0,
            "Message": message,
            "effect_shift": effect.shift if effect is not None else 0.0,
            # NULL, not 0, when the size is unknown (no reference, or a step between constants).
            "effect_sd": effect.sd if effect is not None and math.isfinite(effect.sd) else None,
            "effect_lo": effect.lo if effect is not None else 0.0,
            "effect_hi": effect.hi if effect is not None else 0.0,
            "calls_since_change": effect.calls if effect is not None else 0,
            "severity": alarm.severity,
        }


def _runs(calls: Sequence[CallRecord]) -> list[tuple[str, list[int], CallRun[CallRecord]]]:
    """``(key, positions, calls)`` runs of at most ``RUN`` calls of one key, each key's in
    call order (as a :class:`CallRun`: the texts the prefetch and the detectors read are
    listed once). The keys are taken in turn run by run rather than key after key: a detector
    that hands a calibration to a background thread (the topic test's) gets the other
    keys' runs of time before it needs the result."""
    by_key: dict[str, list[int]] = {}
    for i, call in enumerate(calls):
        group = by_key.get(call.detector_key)
        if group is None:
            group = by_key[call.detector_key] = []
        group.append(i)
    runs = []
    for start in range(0, max(map(len, by_key.values()), default=0), RUN):
        for key, group in by_key.items():
            if start < len(group):
                at = group[start : start + RUN]
                runs.append((key, at, CallRun([calls[i] for i in at])))
    return runs
