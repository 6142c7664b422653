"""False pages a week, pages missed, time to page and reset time of four alerting designs.

Run: ``make bench-false-pages`` (or ``python -m bench.alerting.false_pages``; ``--quick``
for a smoke run). Every figure comes from this run:

1. **Stable traffic**: ``--hours`` (24) simulated hours at ``--rate`` (100) calls/s over
   ``--keys`` (10) routes of one service, time-compressed (calls carry simulated
   timestamps; the detectors see every call). False pages of each design, also per week.
2. **Drifts**: after an hour of stable traffic one route drifts for 30 minutes, then
   recovers for an hour: the detector benchmark's labelled changes and larger ones. Time
   from the first drifted call to the page (missed: none within the 30 minutes), and the
   reset time: from the recovery until the page resolves.
3. **Cold start**: a new service whose traffic is drifted from its first call.

The designs (:mod:`bench.alerting.alert_designs`): today's shipped alarm rules over
detectors at their fixed targets; the same over detectors calibrated to a budget of one
false page a week for the service, paging on ``page``-severity alarms only; the SLO
burn-rate rules ``watchkeeper alerting rules`` writes; fixed thresholds like the peers'.
Traffic comes from ``tests/support/workload.py`` (:mod:`bench.alerting.replay_traffic`).

All three parts run the thirteen default detectors (the six text-heavy ones, vocabulary,
language, topic, consistency, faithfulness and prompt injection, cost about 90 us per call
and design: the stable day takes about 15 minutes on an idle machine). ``--seeds N``
repeats the drift part for N seeds and prints the budgeted design's minutes to page per
seed, and how many of the drifts a reviewer would call an incident (:data:`INCIDENTS`)
paged within 10 minutes.
Times are of the detectors and rule
evaluation (each minute); the alert path adds about 30 s (``make bench-alerting``).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.alerting import alert_designs as designs
from bench.alerting.alert_designs import KeyReplay
from bench.alerting.replay_traffic import (
    DRIFTS,
    EVENTS,
    INCIDENTS,
    VALUES,
    Pool,
    drifted,
    stable_pool,
)
from watchkeeper.detectors import default_detectors
from watchkeeper.detectors.budget.budgeted_detectors import BudgetedDetectors
from watchkeeper.detectors.budget.false_alarm_budget import FalseAlarmBudget

EVERY = tuple(d.name for d in default_detectors())
ALL = len(EVERY)
#: Minutes within which an incident must page.
PAGE_WITHIN_MIN = 10.0
RUN = 256
WARM_MIN, DRIFT_MIN, RECOVER_MIN = 60, 30, 60
NAMES = ("today", "budgeted", "slo", "threshold")


def watchers(
    names: Sequence[str], pages_per_week: float, budgeted_only: bool = False
) -> dict[str, BudgetedDetectors]:
    """The two detector designs: fixed targets, and this share of the budget (alone with
    ``budgeted_only``: half the work, the rule designs still evaluated)."""
    share = pages_per_week * len(names) / ALL

    def made(budget: FalseAlarmBudget | None) -> BudgetedDetectors:
        return BudgetedDetectors([d for d in default_detectors() if d.name in names], budget)

    if budgeted_only:
        return {"budgeted": made(FalseAlarmBudget(share))}
    return {"today": made(None), "budgeted": made(FalseAlarmBudget(share))}


class Replay:
    """Keys fed from pools, through both detector designs; per-minute sums per key."""

    def __init__(self, watched: dict[str, BudgetedDetectors], keys: int, rate: float,
                 minutes: int, seed: int) -> None:  # fmt: skip
        self.watched, self.rate = watched, rate
        self.rng = np.random.default_rng(seed)
        self.sums = [{s: np.zeros(minutes) for s in (*EVENTS, *VALUES, "calls")}
                     for _ in range(keys)]  # fmt: skip
        self.alarms: dict[str, list[list[tuple[float, str, str]]]] = {
            name: [[] for _ in range(keys)] for name in watched
        }
        self.clock = [0.0] * keys

    def feed(self, key: int, pool: Pool, seconds: float) -> None:
        """``seconds`` of ``key``'s calls drawn from ``pool``, in runs."""
        n = round(seconds * self.rate)
        for start in range(0, n, RUN):
            size = min(RUN, n - start)
            idx = self.rng.integers(0, len(pool.calls), size)
            times = self.clock[key] + (np.arange(size) + 1) / self.rate
            self.clock[key] = float(times[-1])
            minute = (times // 60).astype(int)
            sums = self.sums[key]
            for signal, column in pool.columns.items():
                np.add.at(sums[signal], minute, column[idx])
            np.add.at(sums["calls"], minute, 1.0)
            calls = [pool.calls[i] for i in idx]
            for name, watched in self.watched.items():
                for found in watched.observe(f"svc|/route{key}|m", calls, times.tolist()):
                    for alarm in found.alarms:
                        entry = (float(times[alarm.at]), found.detector.name, alarm.severity)
                        self.alarms[name][key].append(entry)

    def replays(self, design: str) -> list[KeyReplay]:
        """Each key's sums with ``design``'s alarms."""
        return [KeyReplay(s, a) for s, a in zip(self.sums, self.alarms[design], strict=True)]


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Setup:
    """What every part shares."""

    keys: int
    rate_per_key: float
    pages_per_week: float
    slos: list[designs.Slo]
    thresholds: list[designs.Threshold]
    seed: int
    budgeted_only: bool = False


def stable_part(setup: Setup, pool: Pool, hours: float) -> list[list[str]]:
    """False pages of each design on stable traffic."""
    minutes = int(hours * 60) + 1
    replay = Replay(watchers(EVERY, setup.pages_per_week, setup.budgeted_only), setup.keys,
                    setup.rate_per_key, minutes, setup.seed)  # fmt: skip
    block = RUN / setup.rate_per_key
    for done in range(int(hours * 3600 / block)):
        for key in range(setup.keys):
            replay.feed(key, pool, block)
        if done % 2000 == 0:
            _log(f"  stable: {done * block / 3600:.1f} of {hours:g} h")
    alerts = _alerts(setup, replay, minutes)
    week = 7 * 24 / hours
    rows = []
    for name in NAMES:
        if name not in alerts:
            rows.append([name, *["\u2013"] * 3])
            continue
        alarms = sum(len(a) for a in replay.alarms.get(name, []))
        n = designs.pages(alerts[name])
        rows.append([name, str(alarms) if name in replay.alarms else "\u2013", str(n),
                     f"{n * week:,.1f}"])  # fmt: skip
    return rows


def _alerts(setup: Setup, replay: Replay, minutes: int) -> dict[str, designs.Alerts]:
    """Each design's alerts (today's only when its detectors ran; the rules read sums)."""
    sums = replay.replays("budgeted")
    alerts = {
        "budgeted": designs.alarm_firing(sums, minutes, "page"),
        "slo": designs.slo_firing(sums, setup.slos, minutes),
        "threshold": designs.threshold_firing(sums, setup.thresholds, minutes),
    }
    if "today" in replay.alarms:
        alerts["today"] = designs.alarm_firing(replay.replays("today"), minutes)
    return alerts


def warmed(setup: Setup, pool: Pool, names: Sequence[str], minutes: int) -> Replay:
    """A service an hour into stable traffic on route 0 (the others registered)."""
    replay = Replay(watchers(names, setup.pages_per_week, setup.budgeted_only), setup.keys,
                    setup.rate_per_key, minutes, setup.seed + 1)  # fmt: skip
    for key in range(1, setup.keys):
        replay.feed(key, pool, RUN / setup.rate_per_key)
    replay.feed(0, pool, WARM_MIN * 60)
    return replay


def drift_row(setup: Setup, base: Replay, pool: Pool, bad: Pool) -> list[str]:
    """Time to page and reset time of each design for one drift of route 0."""
    replay = copy.deepcopy(base)
    start_s = replay.clock[0]
    replay.feed(0, bad, DRIFT_MIN * 60)
    recover_s = replay.clock[0]
    replay.feed(0, pool, RECOVER_MIN * 60)
    minutes = int(replay.clock[0] // 60) + 1
    firing = {n: designs.union(a, minutes) for n, a in _alerts(setup, replay, minutes).items()}
    start_m, recover_m = int(start_s // 60), int(recover_s // 60)
    cells = []
    for name in NAMES:
        if name not in firing:
            cells.append("\u2013")
        elif name in replay.alarms:  # a detector design pages at its (page) alarm
            severity = "page" if name == "budgeted" else None
            found = designs.first_alarm(replay.replays(name), start_s, severity)
            first = None if found is None or found > DRIFT_MIN * 60 else found / 60
            cells.append(_cell(first, designs.reset_after(firing[name], start_m, recover_m)))
        else:
            minute = designs.first_from(firing[name][:recover_m], start_m)
            first = None if minute is None else float(minute)
            cells.append(_cell(first, designs.reset_after(firing[name], start_m, recover_m)))
    ticket = designs.first_alarm(replay.replays("budgeted"), start_s, "ticket")
    if cells[1] == "missed" and ticket is not None and ticket <= DRIFT_MIN * 60:
        cells[1] = f"missed (ticket at {ticket / 60:.1f})"
    return cells


def _cell(first: float | None, reset: int | None) -> str:
    return f"{first:.1f} / {_reset(reset)}" if first is not None else "missed"


def _reset(minutes: int | None) -> str:
    return "still firing" if minutes is None else str(minutes)


def drift_part(setup: Setup, pool: Pool, quick: bool, only: Sequence[str] = ()) -> list[list[str]]:
    """Every drift of :data:`DRIFTS` on a warmed service (those whose label contains one
    of ``only``, when given)."""
    minutes = WARM_MIN + DRIFT_MIN + RECOVER_MIN + 2
    base = warmed(setup, pool, EVERY, minutes)
    rows = []
    for index, (label, transform, share) in enumerate(DRIFTS[:4] if quick else DRIFTS):
        if only and not any(part in label for part in only):
            continue
        _log(f"  drift: {label}")
        bad = drifted(pool, transform, share, setup.seed + 10 + index)
        rows.append([label, *drift_row(setup, base, pool, bad)])
    return rows


def cold_part(setup: Setup, pool: Pool) -> list[list[str]]:
    """A new service drifted from its first call: time to the first page (an hour's
    horizon)."""
    rows = []
    for label, transform, share in (DRIFTS[1], DRIFTS[5], DRIFTS[7]):
        bad = drifted(pool, transform, share, setup.seed + 99)
        replay = Replay(watchers(EVERY, setup.pages_per_week, setup.budgeted_only), setup.keys,
                        setup.rate_per_key, 62, setup.seed + 2)  # fmt: skip
        replay.feed(0, bad, 3600)
        firing = {n: designs.union(a, 61) for n, a in _alerts(setup, replay, 61).items()}
        cells = [designs.first_from(firing[name], 0) if name in firing else -1 for name in NAMES]
        rows.append([label, *("\u2013" if c == -1 else "missed" if c is None else str(c)
                              for c in cells)])  # fmt: skip
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main(argv: list[str] | None = None) -> int:
    """Run the three parts and print their tables (markdown) on stdout."""
    args = _parser().parse_args(argv)
    began = time.perf_counter()
    setup, pool = _setup(args, args.seed)
    hours = 1.0 if args.quick else args.hours
    _print_setup(setup, hours, args.rate)
    if not args.drift:
        print("\n### Stable traffic\n")
        print(_table(["design", "alarms", f"pages in {hours:g} h", "pages a week"],
                     stable_part(setup, pool, hours)))  # fmt: skip
    if not args.skip_drifts:
        print("\n### Drifts on one route: minutes to page / minutes to reset after recovery\n")
        rows = drift_part(setup, pool, args.quick, args.drift)
        print(_table(["drift", "incident", *NAMES], [[r[0], _yes(r[0]), *r[1:]] for r in rows]))
        if args.seeds > 1:
            _print_seeds(args, rows)
    if not args.drift:
        print("\n### Cold start (drifted from the first call): minutes to the first page\n")
        print(_table(["drift", *NAMES], cold_part(setup, pool)))
    print(f"\n{time.perf_counter() - began:.0f} s")
    return 0


def traffic_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser described by ``doc``'s first paragraph, with the traffic options both
    false-page benchmarks take (same options, same stable calls at the same seed)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="stable hours (24)")
    parser.add_argument("--rate", type=float, default=100.0, help="calls/s, all keys (100)")
    parser.add_argument("--keys", type=int, default=10, help="routes of the service (10)")
    parser.add_argument("--budget", type=float, default=1.0, help="false pages a week (1)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = traffic_parser(__doc__)
    parser.add_argument("--seeds", type=int, default=1,
                        help="repeat the drift part for this many seeds (1)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="1 stable hour, 4 drifts")
    parser.add_argument("--budgeted-only", action="store_true",
                        help="leave today's detectors out (half the time)")  # fmt: skip
    parser.add_argument("--skip-drifts", action="store_true",
                        help="only the stable and cold-start parts")  # fmt: skip
    parser.add_argument("--drift", action="append", default=[], metavar="TEXT",
                        help="only the drifts whose label contains TEXT (repeatable), "
                        "and no stable or cold-start part")  # fmt: skip
    return parser


def _setup(args: argparse.Namespace, seed: int) -> tuple[Setup, Pool]:
    pool = stable_pool(5000, seed)
    setup = Setup(args.keys, args.rate / args.keys, args.budget,
                  designs.objectives(pool.columns), designs.thresholds(pool.columns),
                  seed, args.budgeted_only)  # fmt: skip
    return setup, pool


def _yes(label: str) -> str:
    return "yes" if label in INCIDENTS else "no"


def _within(cell: str) -> bool:
    """Whether a design's cell says it paged within ``PAGE_WITHIN_MIN``."""
    first = cell.split(" / ", maxsplit=1)[0]
    return not first.startswith("missed") and float(first) <= PAGE_WITHIN_MIN


def _print_seeds(args: argparse.Namespace, first: list[list[str]]) -> None:
    """The budgeted design's minutes to page for ``args.seeds`` seeds, and how many
    incidents paged within ``PAGE_WITHIN_MIN`` minutes."""
    seeds = range(args.seed, args.seed + args.seeds)
    cells = {row[0]: [row[2]] for row in first}
    for seed in seeds[1:]:
        _log(f"seed {seed}")
        setup, pool = _setup(args, seed)
        for row in drift_part(setup, pool, args.quick, args.drift):
            cells[row[0]].append(row[2])
    print(f"\n### Budgeted design, seeds {seeds[0]}-{seeds[-1]}: minutes to page / reset\n")
    print(_table(["drift", "incident", *(f"seed {s}" for s in seeds)],
                 [[label, _yes(label), *row] for label, row in cells.items()]))  # fmt: skip
    incident = [c for label, row in cells.items() if label in INCIDENTS for c in row]
    quiet = [c for label, row in cells.items() if label not in INCIDENTS for c in row]
    print(f"\nincidents paged within {PAGE_WITHIN_MIN:g} minutes: "
          f"{sum(map(_within, incident))} of {len(incident)}; other drifts paged: "
          f"{sum(not c.startswith('missed') for c in quiet)} of {len(quiet)}")  # fmt: skip


def _print_setup(setup: Setup, hours: float, rate: float) -> None:
    slos = ", ".join(f"{s.signal} {1 - s.objective:.1%} of {s.of}" for s in setup.slos)
    limits = ", ".join(f"{t.signal} > {t.above:.3g}" for t in setup.thresholds)
    print(f"{hours:g} h stable at {rate:g} calls/s over {setup.keys} routes; budget "
          f"{setup.pages_per_week:g} false page a week")  # fmt: skip
    print(f"SLO error budgets (bad share allowed): {slos}")
    print(f"thresholds (5-minute share or mean): {limits}")


if __name__ == "__main__":
    sys.exit(main())
