"""How fast a rate pages at the false-page budget's target, over many seeds.

Run: ``python -m bench.alerting.rate_pages`` (``--runs`` seeds per change, 100). One
route at ``--rate`` (10) calls/s, an hour of stable traffic, then 30 minutes at the
changed rate; the target is the budget's share for that route (one false page a week over
13 detectors and 10 routes: 7.9e8 calls). For each change: minutes from the change to
the page of the paging test
(:class:`~watchkeeper.detectors.effect.rate_page_test.RatePageTest`, what pages) and to
the first alarm of the error detector itself at the same target (a ticket since the
test), as mean, median, 90th percentile, the share over 10 minutes and the share with
none within 30. The rates are the false-page benchmark's (``errors 1% -> 2%`` is 0.88% ->
1.88% of its pool).

What would make a doubling page sooner, measured with the same runs: ``--ratio`` sets the
alternative the test is designed for (the paging ratio, 2, by default), ``--budget`` the
false pages a week (1), ``--stable-hours`` the reference the test has learned before the
change (1), and ``--change BEFORE:AFTER`` (repeatable, rates as fractions) the changes.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from watchkeeper.detectors import Call, ErrorRateDrift
from watchkeeper.detectors.budget.false_alarm_budget import WEEK_S, FalseAlarmBudget
from watchkeeper.detectors.effect.rate_page_test import RatePageTest
from watchkeeper.detectors.effect.severity import SeverityPolicy

CHANGES = ((0.0088, 0.0188), (0.0102, 0.0200), (0.0100, 0.0198), (0.005, 0.015),
           (0.01, 0.012), (0.01, 0.10))  # fmt: skip
RUN = 256
NONE = 99.0


def _streams(
    seed: int, before: float, after: float, per_s: float, hours: float = 1.0
) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    stable = (rng.random(int(hours * 3600 * per_s)) < before).astype(float)
    return stable, (rng.random(int(1800 * per_s)) < after).astype(float)


def page_minutes(
    stable: np.ndarray, drifted: np.ndarray, target: float, per_s: float, ratio: float = 2.0
) -> float:
    """Minutes from the change to the paging test's first page (``NONE``: none)."""
    test = RatePageTest(ratio=ratio)
    test.measure(stable, target)
    for start in range(0, drifted.size, RUN):
        pages = test.measure(drifted[start : start + RUN], target)
        if pages:
            return (start + pages[0].at) / per_s / 60
    return NONE


def alarm_minutes(stable: np.ndarray, drifted: np.ndarray, target: float, per_s: float) -> float:
    """Minutes from the change to the error detector's first alarm (``NONE``: none)."""
    detector, policy = ErrorRateDrift(target_arl=target), SeverityPolicy()
    ok, failed = Call("q"), Call("q", is_error=True)
    for part, after in ((stable, False), (drifted, True)):
        for start in range(0, part.size, RUN):
            batch = detector.update_many([failed if x else ok for x in part[start : start + RUN]])
            found = detector.measure(batch, policy)
            if after and found:
                return (start + found[0].at) / per_s / 60
    return NONE


def _row(label: str, minutes: list[float]) -> str:
    m = np.array(minutes)
    seen = m[m < NONE]
    mean = f"{seen.mean():.1f}" if seen.size else "-"
    median = f"{np.median(m):.1f}" if np.median(m) < NONE else "none"
    p90 = np.percentile(m, 90)
    p90_text = f"{p90:.1f}" if p90 < NONE else "none"
    return (f"| {label} | {mean} | {median} | {p90_text} | {np.mean(m > 10):.0%} "
            f"| {np.mean(m >= NONE):.0%} |")  # fmt: skip


def _change(text: str) -> tuple[float, float]:
    before, after = text.split(":")
    return float(before), float(after)


def main(argv: list[str] | None = None) -> int:
    """Print the table (markdown) on stdout."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100, help="seeds per change (100)")
    parser.add_argument("--rate", type=float, default=10.0, help="calls/s on the route (10)")
    parser.add_argument("--detector-keys", type=int, default=130, help="of the service (130)")
    parser.add_argument("--alarms", action="store_true", help="also the detector's own alarm")
    parser.add_argument("--ratio", type=float, default=2.0, help="the test's alternative (2)")
    parser.add_argument("--budget", type=float, default=1.0, help="false pages a week (1)")
    parser.add_argument("--stable-hours", type=float, default=1.0, help="before the change (1)")
    parser.add_argument("--change", action="append", type=_change, default=[],
                        metavar="BEFORE:AFTER", help="only this change (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)
    target = FalseAlarmBudget(args.budget).target_arl(args.rate * WEEK_S, args.detector_keys)
    print(f"target {target:.3g} calls between false pages; test for {args.ratio:g}x; "
          f"{args.stable_hours:g} h before the change; {args.runs} seeds per change\n")  # fmt: skip
    print("| change | what | mean (of those within 30) | median | p90 | over 10 min | none in 30 |")
    print("|---|---|---|---|---|---|---|")
    for before, after in args.change or CHANGES:
        label = f"{before:.2%} -> {after:.2%}"
        streams = [_streams(seed, before, after, args.rate, args.stable_hours)
                   for seed in range(args.runs)]  # fmt: skip
        pages = [page_minutes(s, d, target, args.rate, args.ratio) for s, d in streams]
        print(_row(f"{label} | page test", pages))
        if args.alarms:
            alarms = [alarm_minutes(s, d, target, args.rate) for s, d in streams]
            print(_row(f"{label} | detector alarm", alarms))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
