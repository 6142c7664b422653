"""Detectors' change tests: calibrated rank CUSUM vs river's ADWIN, PageHinkley and KSWIN.

``python -m bench.quality river_change [-- --streams N --stable N --only NAME --tests T,T]``

Five default detectors, each with its own calibrated CUSUM and with river's detectors
plugged in (``Detector.use_change_test(RiverChangeTest(...))``, fed what the detector
watches per call: ``change_signal``): ADWIN and KSWIN with river's defaults,
PageHinkley set like the CUSUM: ``alpha=1.0`` (no forgetting), allowance ``delta`` half a
0.3 SD shift and ``threshold`` 30 SD, the SD of the signal measured on a separate stable
stream (river's defaults, ``delta=0.005`` and ``threshold=50``, are in the signal's units;
on a normal signal these give about 130,000 calls between false alarms).
Streams, one key each: 1,500 stable calls, then 2,000 changed ones:

- ``latency_drift``: lognormal latencies around 0.8 s, then 30% slower;
- ``input_length_drift``: prompts of 8-20 words, then 10-24;
- ``error_rate_drift``: 2% failed calls, then 6%;
- ``consistency_drift``: 20 repeated questions answered the same way (5% odd answers),
  then 30% odd answers;
- ``faithfulness_drift``: RAG answers quoting a retrieved fact, 2% with a wrong price,
  then 20%.

Prints, per detector and change test, the mean delay (calls from the change to the first
alarm, over ``--streams`` streams; missed: none within 2,000 calls), the false alarms
before the change (all streams) and on one stable stream of ``--stable`` calls, and the
change test's CPU per call fed.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections.abc import Callable

from river.drift import ADWIN, KSWIN, PageHinkley

from tests.detectors.streams import PLAN_FACTS, alarm_indices
from watchkeeper.detectors import Call, Detector, RiverChangeTest, default_detectors

BEFORE, AFTER = 1500, 2000
Stream = Callable[[random.Random, int, bool], list[Call]]
WORDS = ["order", "refund", "account", "login", "password", "invoice", "plan", "device", "sync"]


def latency(rng: random.Random, n: int, changed: bool) -> list[Call]:
    """Lognormal latencies around 0.8 s; 30% slower once changed."""
    factor = 1.3 if changed else 1.0
    return [Call("q", "a", duration_s=factor * rng.lognormvariate(-0.2, 0.4)) for _ in range(n)]


def input_length(rng: random.Random, n: int, changed: bool) -> list[Call]:
    """Prompts of 8-20 words; 10-24 once changed."""
    low, high = (10, 24) if changed else (8, 20)
    return [Call(" ".join(rng.choices(WORDS, k=rng.randint(low, high)))) for _ in range(n)]


def errors(rng: random.Random, n: int, changed: bool) -> list[Call]:
    """2% failed calls; 6% once changed."""
    rate = 0.06 if changed else 0.02
    return [Call("q", "a", is_error=rng.random() < rate) for _ in range(n)]


def consistency(rng: random.Random, n: int, changed: bool) -> list[Call]:
    """Repeated questions, each with its answer; 5% odd answers, 30% once changed."""
    odd = 0.3 if changed else 0.05
    calls = []
    for _ in range(n):
        q = rng.randrange(20)
        answer = f"Orders of kind {q} arrive within {q + 2} working days by standard post."
        if rng.random() < odd:
            answer = rng.choice(["Sorry, I cannot say.", "It depends on the courier today."])
        calls.append(Call(f"How long does delivery of order kind {q} take?", answer))
    return calls


def faithfulness(rng: random.Random, n: int, changed: bool) -> list[Call]:
    """Answers quoting a retrieved fact, 2% with a wrong price; 20% once changed."""
    wrong = 0.2 if changed else 0.02
    calls = []
    for _ in range(n):
        contexts = rng.sample(PLAN_FACTS, 2)
        answer = contexts[0]
        if rng.random() < wrong:
            price = next(w for w in answer.split() if w.isdigit())
            answer = answer.replace(f" {price} ", f" {int(price) + rng.randint(1, 9)} ")
        calls.append(Call("what does it cost?", answer, contexts))
    return calls


CASES: dict[str, Stream] = {
    "latency_drift": latency,
    "input_length_drift": input_length,
    "error_rate_drift": errors,
    "consistency_drift": consistency,
    "faithfulness_drift": faithfulness,
}
#: Change tests by name: each takes the stable signal's SD and the side to watch.
TESTS: dict[str, Callable[[float, str], RiverChangeTest | None]] = {
    "rank CUSUM (default)": lambda sd, side: None,
    "river ADWIN": lambda sd, side: RiverChangeTest(ADWIN(), direction=side),
    "river PageHinkley": lambda sd, side: RiverChangeTest(
        PageHinkley(alpha=1.0, delta=0.15 * sd, threshold=30.0 * sd), direction=side
    ),
    "river KSWIN": lambda sd, side: RiverChangeTest(KSWIN(seed=0), direction=side),
}


class _Recorder:
    """A change test that only keeps what it is fed (to measure the signal's SD)."""

    drift_detected = False
    change = ""

    def __init__(self) -> None:
        self.values: list[float] = []

    def update(self, x: float, stratum: int = 0) -> None:
        if math.isfinite(x):
            self.values.append(x)

    def fresh(self) -> _Recorder:
        return self


def _detector(name: str, test: object) -> Detector:
    """The default detector ``name`` with ``test`` plugged in (None: its own), built the
    way ``detectors.<name>.change_test`` in the settings builds it."""
    tests = {name: test} if test is not None else None
    return next(d for d in default_detectors(tests) if d.name == name)  # type: ignore[arg-type]


def _row(name: str, test_name: str, sd: float, args: argparse.Namespace) -> str:
    stream = CASES[name]
    side = "down" if name == "faithfulness_drift" else "both"
    make = TESTS[test_name]
    delays, missed, early = [], 0, 0
    for seed in range(args.streams):
        rng = random.Random(seed)
        calls = stream(rng, BEFORE, False) + stream(rng, AFTER, True)
        alarms = alarm_indices(_detector(name, make(sd, side)), calls)
        early += sum(1 for a in alarms if a < BEFORE)
        later = [a - BEFORE for a in alarms if a >= BEFORE]
        if later:
            delays.append(later[0])
        else:
            missed += 1
    stable = stream(random.Random(99), args.stable, False)
    detector = _detector(name, make(sd, side))
    started = time.process_time()
    false_alarms = len(alarm_indices(detector, stable))
    cost = (time.process_time() - started) / len(stable) * 1e6
    mean = f"{sum(delays) / len(delays):.0f}" if delays else "-"
    return (
        f"| {name} | {test_name} | {mean} | {missed}/{args.streams} | {early} | "
        f"{false_alarms} | {cost:.0f} |"
    )


def main(argv: list[str]) -> int:
    """Print delay, missed and false alarms per detector and change test."""
    parser = argparse.ArgumentParser(prog="bench.quality river_change")
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--stable", type=int, default=10_000)
    parser.add_argument("--only", default="", help="one detector name")
    parser.add_argument("--tests", default="", help="change tests, comma-separated: CUSUM,ADWIN...")
    args = parser.parse_args(argv)
    print(f"{args.streams} streams of {BEFORE:,} stable then {AFTER:,} changed calls; ", end="")
    print(f"false alarms also on {args.stable:,} stable calls\n")
    print(
        "| detector | change test | mean delay | missed | false alarms before the change "
        f"| on {args.stable:,} stable calls | detector µs per call |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, stream in CASES.items():
        if args.only and name != args.only:
            continue
        recorder = _Recorder()
        alarm_indices(_detector(name, recorder), stream(random.Random(7), BEFORE, False))
        sd = statistics.pstdev(recorder.values)
        for test_name in TESTS:
            wanted = [t for t in args.tests.split(",") if t]
            if not wanted or any(t.lower() in test_name.lower() for t in wanted):
                print(_row(name, test_name, sd, args), flush=True)
    return 0
