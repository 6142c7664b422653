"""From false pages per week per service to each detector-key's false-alarm target."""

from __future__ import annotations

from dataclasses import dataclass

#: Seconds in the budget's period.
WEEK_S = 604_800.0
#: A run length below this would alarm on warm-up noise: a key this quiet keeps the floor
#: and spends less than its share of the budget.
MIN_ARL = 1_000.0


@dataclass(frozen=True)
class FalseAlarmBudget:
    """How many false alarms a week a service may raise, split over its detector-keys.

    An error-spending split, like Bonferroni's: each of the service's ``D x K``
    detector-keys (``D`` detectors, ``K`` keys of the service) may raise
    ``pages_per_week / (D x K)`` false alarms a week, so the shares add up to the budget
    whatever the traffic. A detector-key that sees ``c`` calls a week then needs
    ``c x D x K / pages_per_week`` calls between false alarms (its target ARL): a busy key
    gets a higher threshold than a quiet one and both spend the same share, at the price of
    a longer detection delay on the busy one. Quiet keys keep the floor ``min_arl``.

    >>> budget = FalseAlarmBudget(pages_per_week=1.0)
    >>> busy, quiet = 100 * WEEK_S, 1 * WEEK_S  # 100 calls/s and 1 call/s
    >>> round(budget.target_arl(busy, detector_keys=26)), round(budget.target_arl(quiet, 26))
    (1572480000, 15724800)
    >>> busy / budget.target_arl(busy, 26) == quiet / budget.target_arl(quiet, 26)
    True
    """

    pages_per_week: float = 1.0
    min_arl: float = MIN_ARL

    def __post_init__(self) -> None:
        if not self.pages_per_week > 0:
            raise ValueError(f"pages_per_week must be positive, got {self.pages_per_week}")
        if not self.min_arl > 1:
            raise ValueError(f"min_arl must be greater than 1, got {self.min_arl}")

    def target_arl(self, calls_per_week: float, detector_keys: int) -> float:
        """Calls between false alarms for a detector-key seeing ``calls_per_week`` calls,
        one of ``detector_keys`` of its service."""
        share = self.pages_per_week / max(1, detector_keys)
        return max(self.min_arl, calls_per_week / share)
