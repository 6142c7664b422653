"""Which alarms page and which go to a ticket: from the size of the change."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from watchkeeper.detectors.effect.effect_size import MIN_CALLS_FOR_VARIANCE, Effect

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
    unsafe answers) or a mean latency whose 95% interval reaches ``page_rate_ratio`` or
    ``page_latency_factor`` times its reference (a point estimate is too rough to page on a
    border; latency measured on fewer than 10 calls pages on its point estimate). A loaded
    host slowing calls by a few percent is real and significant, but a ticket.

    >>> from watchkeeper.detectors.effect.effect_size import Effect
    >>> policy = SeverityPolicy()
    >>> slower = Effect(0.1, 0.8, 0.05, 0.15, 400, reference=1.0, reference_sd=0.125)
    >>> policy.severity("latency", slower), policy.severity("mean", slower)
    ('ticket', 'ticket')
    >>> policy.severity("latency", slower._replace(shift=1.5, lo=1.2, hi=1.8))
    'page'
    >>> doubled = slower._replace(shift=0.95, lo=0.85, hi=1.05)  # 1.95x, to 2.05x
    >>> policy.severity("latency", doubled), policy.severity("latency", doubled._replace(calls=5))
    ('page', 'ticket')
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
            # An estimate is a few percent (latency) to tens of percent (a rate from a few
            # hundred events) off: a change whose interval reaches the factor pages (a
            # doubling measured at 1.95x is a doubling). Latency's interval from fewer
            # than 10 calls borrows the reference's spread and is too rough to page on.
            rough = kind == "latency" and effect.calls < MIN_CALLS_FOR_VARIANCE
            level = effect.shift if rough else effect.hi
            if effect.reference > 0.0:
                large = (effect.reference + level) / effect.reference >= factor
            else:
                large = effect.shift > 0.0
        return "page" if large else "ticket"
