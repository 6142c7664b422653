"""The faithfulness detector's change test: calibrated rank CUSUM vs river's detectors.

``python -m bench.quality river_change [-- --streams N]``

The same ``FaithfulnessDrift`` (claim-level scorer, length-only control) with its default
change test and with river's ``ADWIN`` (defaults) and ``PageHinkley`` (``alpha=1.0``,
``threshold=5``) through ``RiverChangeTest(direction="down")``. Streams: RAG answers
quoting one of their two retrieved facts, 2% with a wrong number (stable); after 1,500
calls, 20% with a wrong number. Prints the mean delay (calls from the change to the first
alarm, over ``--streams`` streams; missed: none within 2,000 calls), false alarms before
the change, and false alarms on one stable stream of 20,000 calls.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable

from river.drift import ADWIN, PageHinkley

from watchkeeper.detectors import Call, FaithfulnessDrift
from watchkeeper.detectors.change.river_test import RiverChangeTest

FACTS = [
    f"The {name} plan costs {price} dollars per month and includes {feature}."
    for name, price, feature in [
        ("Basic", 5, "two devices"),
        ("Plus", 9, "offline sync"),
        ("Pro", 15, "priority support"),
        ("Team", 25, "shared folders"),
        ("Studio", 40, "version history"),
    ]
]
DETECTORS: dict[str, Callable[[], FaithfulnessDrift]] = {
    "rank CUSUM (default)": FaithfulnessDrift,
    "river ADWIN": lambda: FaithfulnessDrift(
        change_test=RiverChangeTest(ADWIN(), direction="down")
    ),
    "river PageHinkley": lambda: FaithfulnessDrift(
        change_test=RiverChangeTest(PageHinkley(alpha=1.0, threshold=5.0), direction="down")
    ),
}


def stream(rng: random.Random, n: int, wrong: float) -> list[Call]:
    """Answers quoting a retrieved fact, a share ``wrong`` of them with a wrong price."""
    calls = []
    for _ in range(n):
        contexts = rng.sample(FACTS, 2)
        answer = contexts[0]
        if rng.random() < wrong:
            price = next(w for w in answer.split() if w.isdigit())
            answer = answer.replace(f" {price} ", f" {int(price) + rng.randint(1, 9)} ")
        calls.append(Call("what does it cost?", answer, contexts))
    return calls


def _alarms(detector: FaithfulnessDrift, calls: list[Call]) -> list[int]:
    found = []
    for i, call in enumerate(calls):
        detector.update(call)
        if detector.drift_detected:
            found.append(i)
    return found


def main(argv: list[str]) -> int:
    """Print delay, missed and false alarms per change test."""
    parser = argparse.ArgumentParser(prog="bench.quality river_change")
    parser.add_argument("--streams", type=int, default=10)
    args = parser.parse_args(argv)
    columns = ["change test", "mean delay", "missed", "false alarms before the change"]
    print("| " + " | ".join([*columns, "on 20,000 stable calls"]) + " |")
    print("|---|---|---|---|---|")
    for name, make in DETECTORS.items():
        delays, missed, early = [], 0, 0
        for seed in range(args.streams):
            rng = random.Random(seed)
            alarms = _alarms(make(), stream(rng, 1500, 0.02) + stream(rng, 2000, 0.2))
            early += sum(1 for a in alarms if a < 1500)
            later = [a - 1500 for a in alarms if a >= 1500]
            if later:
                delays.append(later[0])
            else:
                missed += 1
        stable = len(_alarms(make(), stream(random.Random(99), 20_000, 0.02)))
        mean = sum(delays) / len(delays) if delays else float("nan")
        print(f"| {name} | {mean:.0f} | {missed}/{args.streams} | {early} | {stable} |")
    return 0
