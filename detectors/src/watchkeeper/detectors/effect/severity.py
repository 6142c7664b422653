"""Which alarms page and which go to a ticket: from the size of the change."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from watchkeeper.detectors.effect.effect_size import Effect

#: Severities, least urgent first: a ticket goes to review queues and dashboards, a page
#: to the pager (the shipped rules page on ``severity="page"`` only).
SEVERITIES = ("ticket", "page")
#: How a detector's effect is read: a mean in reference SDs, a rate as a ratio, latency
#: as a ratio of mean latencies.
EFFECT_KINDS = ("mean", "rate", "latency")


class FoundAlarm(NamedTuple):
    """One alarm of a run of calls, with how large the change is and its severity."""

    #: Position in the run of the call that completed the detection.
    at: int
    reason: str
    #: None when the signal before the change was too short to measure against.
    effect: Effect | None
    severity: str


@dataclass(frozen=True)
class SeverityPolicy:
    """A change pages when it is large and the calls since it are enough to tell it from
    zero (its 95% interval excludes no change); any other alarm is a ticket.

    Large means: a mean moved by at least ``page_sd`` reference standard deviations
    (a drop in faithfulness or consistency, a shift in inputs); a rate (errors, refusals,
    unsafe answers) whose 95% interval reaches ``page_rate_ratio`` times its reference (its
    point estimate is too rough to page on a border); mean latency at least
    ``page_latency_factor`` times its reference (a loaded host slowing calls by a few
    percent is real and significant, but a ticket).

    >>> from watchkeeper.detectors.effect.effect_size import Effect
    >>> policy = SeverityPolicy()
    >>> slower = Effect(0.1, 0.8, 0.05, 0.15, 400, reference=1.0, reference_sd=0.125)
    >>> policy.severity("latency", slower), policy.severity("mean", slower)
    ('ticket', 'ticket')
    >>> policy.severity("latency", slower._replace(shift=1.5, lo=1.2, hi=1.8))
    'page'
    """

    page_sd: float = 1.0
    page_rate_ratio: float = 2.0
    page_latency_factor: float = 2.0

    def __post_init__(self) -> None:
        if not self.page_sd > 0:
            raise ValueError(f"page_sd must be positive, got {self.page_sd}")
        for name in ("page_rate_ratio", "page_latency_factor"):
            if not getattr(self, name) > 1.0:
                raise ValueError(f"{name} must be greater than 1, got {getattr(self, name)}")

    def severity(self, kind: str, effect: Effect | None) -> str:
        """``page`` or ``ticket`` for a change of ``kind`` (see ``EFFECT_KINDS``)."""
        if effect is None or effect.lo <= 0.0 <= effect.hi:
            return "ticket"
        if kind == "mean":
            # NaN: a step between two constants, larger than any spread either had.
            large = math.isnan(effect.sd) or abs(effect.sd) >= self.page_sd
        else:
            factor = self.page_rate_ratio if kind == "rate" else self.page_latency_factor
            # A rate's estimate from a few hundred events is a few tens of percent off: a
            # rise whose interval reaches the factor pages (a doubling measured at 1.9x
            # is a doubling); latency is measured tightly enough for its point estimate.
            level = effect.hi if kind == "rate" else effect.shift
            if effect.reference > 0.0:
                large = (effect.reference + level) / effect.reference >= factor
            else:
                large = effect.shift > 0.0
        return "page" if large else "ticket"
