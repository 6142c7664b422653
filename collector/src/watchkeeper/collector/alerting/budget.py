"""The false-page budget: from false pages per week per service to each detector's
false-alarm target.

Every detector is calibrated today to one false alarm per 200,000 calls per key
(service|route|model), whatever the traffic, so a service's false alarms grow with its
calls: ``calls per week x detectors / 200,000`` (at 200 calls/s and 13 detectors, one
every 77 seconds). A budget in time fixes the product instead. On-call states how many
false pages a service may cost per week (default 1); the budget is split equally over
the service's detector-keys (an error-spending split, like Bonferroni's: the shares add
up to the budget whatever the traffic), and each detector-key's share, divided into the
calls that key sees per week, is the false-alarm probability per call its detector must
be calibrated to, i.e. the average run length (calls between false alarms).

A busy key gets a longer run length (a higher threshold) than a quiet one, so a busy and a
quiet service keep the same budget; the price is a longer detection delay on busy keys,
which :func:`detection_delay` states. Counting each false alarm as a page is conservative:
alarms of one detector in one namespace within an alert's window are one page.

>>> split = split_budget(1.0, ["latency_drift", "input_length_drift"],
...                      {"bot|/chat|gpt": 1_000_000.0, "bot|/faq|gpt": 10_000.0})
>>> [(b.detector, b.key, round(b.target_arl)) for b in split]  # doctest: +NORMALIZE_WHITESPACE
[('latency_drift', 'bot|/chat|gpt', 4000000), ('latency_drift', 'bot|/faq|gpt', 40000),
 ('input_length_drift', 'bot|/chat|gpt', 4000000), ('input_length_drift', 'bot|/faq|gpt', 40000)]
>>> round(sum(b.calls_per_week / b.target_arl for b in split), 6)
1.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from watchkeeper.detectors.change.calibration import cusum_arl, cusum_threshold

#: The run length every detector is calibrated to today (calls between false alarms).
CURRENT_ARL = 200_000.0
#: Seconds in the budget's period.
WEEK_S = 604_800.0
#: A run length below this would alarm on the detectors' warm-up noise: a key this quiet
#: keeps this floor and spends less than its share.
MIN_ARL = 1_000.0


@dataclass(frozen=True)
class KeyBudget:
    """One detector-key's share of a service's budget."""

    detector: str
    key: str
    calls_per_week: float
    #: False alarms per week this detector-key may raise.
    false_alarms_per_week: float
    #: Calls between false alarms the detector must be calibrated to on this key.
    target_arl: float


def split_budget(
    pages_per_week: float, detectors: Sequence[str], calls_per_week: Mapping[str, float]
) -> list[KeyBudget]:
    """Each detector-key's share of ``pages_per_week`` false pages, from the calls each key
    saw per week. Keys without calls get no share (they cannot alarm)."""
    if not pages_per_week > 0:
        raise ValueError(f"false-page budget must be positive, got {pages_per_week}")
    keys = {key: calls for key, calls in calls_per_week.items() if calls > 0}
    if not detectors or not keys:
        return []
    share = pages_per_week / (len(detectors) * len(keys))
    return [
        KeyBudget(detector, key, calls, share, max(MIN_ARL, calls / share))
        for detector in detectors
        for key, calls in keys.items()
    ]


def expected_false_alarms(calls_per_week: float, detectors: int, arl: float = CURRENT_ARL) -> float:
    """False alarms per week of ``detectors`` detectors calibrated to ``arl`` on a service
    that stores ``calls_per_week`` calls (summed over its keys: the split does not matter)."""
    return calls_per_week * detectors / arl


def detection_delay(target_arl: float, shift_sd: float, k: float = 0.15) -> float:
    """Mean calls from a change of ``shift_sd`` standard deviations to the alarm, for a
    CUSUM with reference ``k`` calibrated to ``target_arl`` (the detectors' scores are
    standard normal under a stable stream)."""
    return cusum_arl(k, cusum_threshold(target_arl, k), shift_sd)
