"""The four alerting designs, evaluated minute by minute on a replay's output.

A replay gives, per key (service|route|model, one route each), the calls' signals summed
per minute and the detectors' alarms. Each design turns that into its alerts, each firing
or not per minute; a page is an alert starting to fire (Alertmanager sends a notification
for each, within its group interval; grouping by namespace and category, as
docs/alerting.md recommends, batches simultaneous ones but not later ones). Time to page
and reset use "some alert of the design firing".

- ``today``: the shipped alarm rules: every alarm fires an alert for 30 minutes.
- ``budgeted``: the same rules over detectors calibrated to the false-page budget, and
  only alarms of severity ``page`` (tickets go to review and dashboards).
- ``slo``: the generated burn-rate rules (``watchkeeper alerting rules``): per route,
  1h/5m at 14.4x and 6h/30m at 6x the error budget, each window with at least
  ``1/(1 - objective)`` calls; evaluated on per-minute sums as Prometheus would on the
  counters scraped each minute.
- ``threshold``: the peers' kind of rule: a signal over a fixed threshold over the last
  5 minutes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from watchkeeper.collector.settings.alerting import DEFAULT_WINDOWS, duration_s

Firing = npt.NDArray[np.bool_]
HOLD_MIN = 30


@dataclass
class KeyReplay:
    """One key's replay: per-minute sums of each signal (and ``calls``), and alarms as
    ``(seconds, detector, severity)``."""

    sums: dict[str, npt.NDArray[np.float64]]
    alarms: list[tuple[float, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Slo:
    """A bad-event share objective on one signal (of all calls, or of RAG calls)."""

    signal: str
    objective: float
    of: str = "calls"

    @property
    def min_calls(self) -> int:
        return math.ceil(round(1.0 / (1.0 - self.objective), 9))


@dataclass(frozen=True)
class Threshold:
    """A fixed threshold on a signal's 5-minute share (``of`` calls) or mean."""

    signal: str
    above: float
    of: str = "calls"


Alerts = dict[str, Firing]


def alarm_firing(replays: Sequence[KeyReplay], minutes: int, severity: str | None = None) -> Alerts:
    """Per detector (the shipped rules alert by namespace and detector): firing while an
    alarm of it (of ``severity``, when given) on some key is under 30 minutes old."""
    alerts: Alerts = {}
    for replay in replays:
        for t, detector, sev in replay.alarms:
            if severity is None or sev == severity:
                firing = alerts.setdefault(detector, np.zeros(minutes, dtype=bool))
                start = int(t // 60)
                firing[start : start + HOLD_MIN] = True
    return alerts


def _window(cum: npt.NDArray[np.float64], minutes: int) -> npt.NDArray[np.float64]:
    out = cum.copy()
    out[minutes:] -= cum[:-minutes]
    return out


def slo_firing(replays: Sequence[KeyReplay], slos: Sequence[Slo], minutes: int) -> Alerts:
    """The burn-rate alert of every SLO on every route, as the generated rules fire."""
    alerts: Alerts = {}
    for route, replay in enumerate(replays):
        for slo in slos:
            firing = alerts[f"{slo.signal}@{route}"] = np.zeros(minutes, dtype=bool)
            bad = np.cumsum(replay.sums[slo.signal][:minutes])
            total = np.cumsum(replay.sums[slo.of][:minutes])
            budget = 1.0 - slo.objective
            for pair in DEFAULT_WINDOWS:
                long_m, short_m = duration_s(pair.long) // 60, duration_s(pair.short) // 60
                long_t, short_t = _window(total, long_m), _window(total, short_m)
                with np.errstate(divide="ignore", invalid="ignore"):
                    long_r = _window(bad, long_m) / long_t
                    short_r = _window(bad, short_m) / short_t
                limit = pair.burn * budget
                firing |= (long_r > limit) & (short_r > limit) & (long_t >= slo.min_calls)
    return alerts


def threshold_firing(
    replays: Sequence[KeyReplay], thresholds: Sequence[Threshold], minutes: int
) -> Alerts:
    """Each threshold on each route over the last 5 minutes."""
    alerts: Alerts = {}
    for route, replay in enumerate(replays):
        for rule in thresholds:
            value = _window(np.cumsum(replay.sums[rule.signal][:minutes]), 5)
            count = _window(np.cumsum(replay.sums[rule.of][:minutes]), 5)
            with np.errstate(divide="ignore", invalid="ignore"):
                alerts[f"{rule.signal}@{route}"] = (value / count) > rule.above
    return alerts


def union(alerts: Alerts, minutes: int) -> Firing:
    """Some alert firing, per minute."""
    firing = np.zeros(minutes, dtype=bool)
    for one in alerts.values():
        firing |= one[:minutes]
    return firing


def pages(alerts: Alerts) -> int:
    """Alerts starting to fire (each a notification)."""
    return sum(int(np.count_nonzero(f[1:] & ~f[:-1]) + bool(f[0])) for f in alerts.values())


def first_from(firing: Firing, minute: int) -> int | None:
    """Minutes from the start of ``minute`` to the first evaluation (at a minute's end)
    that fires, counting that minute; None when none does."""
    later = np.flatnonzero(firing[minute:])
    return int(later[0]) + 1 if len(later) else None


def reset_after(firing: Firing, start: int, recovery: int) -> int | None:
    """Minutes from ``recovery`` until the last minute firing since ``start`` (0 or less:
    the page resolved while the drift went on); None when it fires at the end."""
    if firing[-1]:
        return None
    still = np.flatnonzero(firing[start:])
    return int(still[-1]) + 1 + start - recovery if len(still) else None


def first_alarm(
    replays: Sequence[KeyReplay], after_s: float, severity: str | None = None
) -> float | None:
    """Seconds from ``after_s`` to the first alarm (of ``severity``) at or after it."""
    times = [
        t
        for replay in replays
        for t, _, sev in replay.alarms
        if t >= after_s and (severity is None or sev == severity)
    ]
    return min(times) - after_s if times else None


def objectives(stable: Mapping[str, npt.NDArray[np.float64]]) -> list[Slo]:
    """SLOs a team would set from its history: an error budget of twice the usual bad
    share (rounded to a tenth of a percent)."""
    rag = float(stable["rag"].mean())
    out = []
    for signal, of in (("error", "calls"), ("refusal", "calls"), ("truncated", "calls"),
                       ("pii", "calls"), ("unfaithful", "rag")):  # fmt: skip
        share = float(stable[signal].mean()) / (rag if of == "rag" else 1.0)
        out.append(Slo(signal, round(1.0 - max(0.001, 2 * share), 3), of))
    return out


def thresholds(stable: Mapping[str, npt.NDArray[np.float64]]) -> list[Threshold]:
    """Fixed thresholds as the peers' alert rules are set: 5% errors, refusals or
    truncated answers, 2% PII answers, 10% of RAG answers unfaithful, means at twice
    their usual level."""
    rates = [Threshold("error", 0.05), Threshold("refusal", 0.05), Threshold("truncated", 0.05),
             Threshold("pii", 0.02), Threshold("unfaithful", 0.10, "rag")]  # fmt: skip
    means = [Threshold(s, 2 * float(stable[s].mean())) for s in ("latency", "tokens", "prompt")]
    return rates + means
