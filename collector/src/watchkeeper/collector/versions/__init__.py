"""Versions of a route compared on live traffic with always-valid sequential intervals.

:class:`VersionComparison` answers "regressed", "improved" or "no detectable difference
at this traffic" for one score of a baseline and a candidate version, with an effect size
and an interval whose error rate holds however often it is read.
"""

from watchkeeper.collector.versions.comparison import (
    EQUIVALENT,
    IMPROVED,
    REGRESSED,
    UNDECIDED,
    Verdict,
    VersionComparison,
)
from watchkeeper.collector.versions.confidence_sequence import MeanConfidenceSequence

__all__ = [
    "EQUIVALENT",
    "IMPROVED",
    "REGRESSED",
    "UNDECIDED",
    "MeanConfidenceSequence",
    "Verdict",
    "VersionComparison",
]
