"""Where the budgeted design's false pages come from: every alarm on stable traffic.

Run: ``python -m bench.alerting.false_page_sources`` (same traffic options as
:mod:`bench.alerting.false_pages`; its stable part at the same ``--seed`` sees the same
calls). Prints every alarm of the budgeted detectors with its detector-key, time,
severity, effect and target, then per detector the alarms and pages against what its
target predicts (calls seen / target ARL, summed over keys): a detector whose alarms run
above that is not calibrated at the budget's targets. ``--budget`` above 1 lowers the
targets so that a short run shows how each detector keeps its target; ``--detector``
replays the same calls through some detectors only (the call draws do not depend on
which detectors run). ``--fixed`` replays today's design instead: every detector at its
fixed target (one false alarm per 200,000 calls per detector-key), where every alarm
pages; a rate detector's paging test runs at that target too, so it is expected apart.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence

from bench.alerting.false_pages import EVERY, RUN, Replay, traffic_parser, watchers
from bench.alerting.replay_traffic import stable_pool
from watchkeeper.detectors.base import CallView, Detector
from watchkeeper.detectors.budget.budgeted_detectors import BudgetedDetectors, Observed


class Recorded(BudgetedDetectors):
    """The budgeted detectors, keeping every alarm and each detector's expected count."""

    def __init__(self, watched: BudgetedDetectors) -> None:
        self.__dict__.update(watched.__dict__)
        self.rows: list[tuple[float, str, str, str, str, float, str]] = []
        self.expected: dict[str, float] = dict.fromkeys(EVERY, 0.0)
        #: A rate detector's paging test pages at the detector's target, once it holds
        #: ``MIN_EVENTS`` events: expected apart from the detector's own alarms.
        self.expected_tests: dict[str, float] = dict.fromkeys(EVERY, 0.0)

    def observe(
        self,
        key: str,
        calls: Sequence[CallView],
        timestamps_s: Sequence[float],
        contain: Callable[[Detector, Exception], None] | None = None,
    ) -> list[Observed]:
        found = super().observe(key, calls, timestamps_s, contain)
        for one in found:
            detector = one.detector
            self.expected[detector.name] += len(calls) / detector.target_arl
            test = self.page_test(key, detector.name)
            if test is not None and test.learned:
                self.expected_tests[detector.name] += len(calls) / detector.target_arl
            for alarm in one.alarms:
                size = alarm.effect.describe(detector.unit) if alarm.effect else "no effect"
                self.rows.append((timestamps_s[alarm.at], key, detector.name, alarm.severity,
                                  alarm.reason, detector.target_arl, size))  # fmt: skip
        return found


def main(argv: list[str] | None = None) -> int:
    """Replay stable traffic through the budgeted design; print its alarms."""
    args = _parser().parse_args(argv)
    began = time.perf_counter()
    pool = stable_pool(5000, args.seed)
    rate = args.rate / args.keys
    minutes = int(args.hours * 60) + 1
    names = args.detector or EVERY
    design = "today" if args.fixed else "budgeted"
    recorded = Recorded(watchers(names, args.budget, budgeted_only=not args.fixed)[design])
    replay = Replay({design: recorded}, args.keys, rate, minutes, args.seed)
    block = RUN / rate
    for done in range(int(args.hours * 3600 / block)):
        for key in range(args.keys):
            replay.feed(key, pool, block)
        if done % 2000 == 0:
            print(f"  {done * block / 3600:.1f} of {args.hours:g} h", file=sys.stderr, flush=True)
    targets = "fixed targets" if args.fixed else f"budget {args.budget:g} a week"
    print(f"{args.hours:g} h at {args.rate:g} calls/s over {args.keys} keys, seed {args.seed}, "
          f"{targets}\n")  # fmt: skip
    print("| hour | key | detector | severity | reason | target ARL | effect |")
    print("|---|---|---|---|---|---|---|")
    for at, where, name, severity, reason, target, size in sorted(recorded.rows):
        cells = (f"{at / 3600:.2f}", where, name, severity, reason, f"{target:.3g}", size)
        print("| " + " | ".join(cells) + " |")
    alarms = Counter(row[2] for row in recorded.rows)
    _print_counts(recorded, names, alarms, Counter((row[2], row[3]) for row in recorded.rows))
    print(f"\n{time.perf_counter() - began:.0f} s")
    return 0


def _print_counts(recorded: Recorded, names: Sequence[str], alarms: Counter[str],
                  graded: Counter[tuple[str, str]]) -> None:  # fmt: skip
    """Per detector: alarms expected of the detector and of its paging test, and found."""
    print("\n| detector | expected (detector) | expected (paging test) | alarms | tickets "
          "| pages |\n|---|---|---|---|---|---|")  # fmt: skip
    for name in names:
        print(
            f"| {name} | {recorded.expected[name]:.2f} | {recorded.expected_tests[name]:.2f} "
            f"| {alarms[name]} | {graded[(name, 'ticket')]} | {graded[(name, 'page')]} |"
        )
    detector, tests = sum(recorded.expected.values()), sum(recorded.expected_tests.values())
    print(
        f"| all | {detector:.2f} | {tests:.2f} | {sum(alarms.values())} "
        f"| {sum(n for (_, s), n in graded.items() if s == 'ticket')} "
        f"| {sum(n for (_, s), n in graded.items() if s == 'page')} |"
    )


def _parser() -> argparse.ArgumentParser:
    parser = traffic_parser(__doc__)
    parser.add_argument("--detector", action="append", default=[], metavar="NAME",
                        help="only this detector (repeatable): the same calls, each at the "
                        "target it has among all thirteen")  # fmt: skip
    parser.add_argument("--fixed", action="store_true",
                        help="today's design: fixed targets, every alarm pages")  # fmt: skip
    return parser


if __name__ == "__main__":
    sys.exit(main())
