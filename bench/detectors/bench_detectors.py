"""How well and how cheaply the detectors work: delay, misses, false alarms, CPU per call.

Run: ``make bench-detectors`` (or ``python -m bench.detectors.bench_detectors``;
``--quick`` for a smoke run). Three parts, every number from this run:

1. **Calibrated change detection vs ADWIN on labelled synthetic streams.** Gaussian,
   skewed (lognormal) and discrete (Poisson) signals, shifted by 0.25, 0.5 and 1 standard
   deviation of the signal after 5,000 stable values; the detectors' change detector
   (:class:`~watchkeeper.detectors.change.rank_cusum.SelfStartingCusum`, defaults) side by
   side with river's ``ADWIN`` (defaults) on the same values. Mean calls between false
   alarms on long stable streams of each signal.
2. **Each default detector on LLM-shaped streams** built from the ``chatterbot-corpus``
   prompts (21 topics): a labelled change per detector (longer prompts, new topics, another
   language, inconsistent or ungrounded answers, slower calls, more errors, refusals,
   attacks, leaks ...), and a stable stream for false alarms. ADWIN runs on the very
   per-call signal the detector watches (its descriptor, score or event flag).
3. **CPU per call** of all default detectors together, on production-like calls: the
   chatterbot calls of part 2, and production-length calls (500-character prompts and
   answers, as the collector benchmark sends), each with the compiled core
   (``watchkeeper-native``) and without it (``WATCHKEEPER_NATIVE=0``), in separate
   processes on the same calls.

Definitions: *delay* is the mean number of calls from the change to the first alarm at
or after it (over the streams where one came); *missed* is the share of streams with no
alarm within the horizon; *MTBFA* is the mean number of calls between false alarms on
stable streams (``> N`` when none came in ``N`` calls). Delays count calls, so for
detectors that watch a subset (RAG calls, repeated questions, events) they include the
calls in between.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from river.drift import ADWIN

from tests.support import workload
from tests.support.workload import ATTACKS, PII_ANSWERS, REFUSAL, by_topic
from watchkeeper.detectors import (
    Call,
    DescriptorDrift,
    Detector,
    RateDrift,
    TopicDrift,
    default_detectors,
    native_core,
)
from watchkeeper.detectors.change.rank_cusum import SelfStartingCusum

# --- bookkeeping ------------------------------------------------------------------------
NONE = "\u2013"  # an en dash: nothing to report
SIGMA = "\u03c3"  # standard deviations


@dataclass
class Outcome:
    """Delays, misses and false alarms of one detector on one scenario."""

    delays: list[int] = field(default_factory=list)
    missed: int = 0
    streams: int = 0
    stable_calls: int = 0
    false_alarms: int = 0

    def delay(self) -> str:
        return f"{statistics.mean(self.delays):.0f}" if self.delays else NONE

    def miss_rate(self) -> str:
        return f"{self.missed / self.streams:.0%}" if self.streams else NONE

    def mtbfa(self) -> str:
        if self.false_alarms == 0:
            return f"> {_si(self.stable_calls)}"
        return _si(self.stable_calls / self.false_alarms)


def _si(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f}M"
    if n >= 1e4:
        return f"{n / 1e3:.0f}k"
    return f"{n:.0f}"


def _first_alarm(alarms: Iterator[bool], start: int, horizon: int) -> int | None:
    for i, alarm in enumerate(alarms):
        if i >= start + horizon:
            return None
        if alarm and i >= start:
            return i - start
    return None


# --- part 1: the change detector on synthetic signals ------------------------------------
Draw = Callable[[random.Random, float], float]
_LOGNORMAL_SD = math.sqrt((math.e - 1) * math.e)
#: name -> draw(rng, shift): one value of the signal, its mean moved by ``shift`` standard
#: deviations of the stable signal.
SIGNALS: dict[str, Draw] = {
    "gaussian": lambda r, d: r.gauss(d, 1.0),
    "skewed (lognormal)": lambda r, d: math.exp(r.gauss(0.0, 1.0)) + d * _LOGNORMAL_SD,
    # counts (tokens, items): the rate moves and values stay whole numbers
    "counts (Poisson, mean 3)": lambda r, d: float(_poisson(r, 3.0 + d * math.sqrt(3.0))),
}


def _poisson(r: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= r.random()
        if p <= limit:
            return k
        k += 1


def _run_values(values: list[float]) -> tuple[list[bool], list[bool]]:
    ours, adwin = SelfStartingCusum(), ADWIN()
    found_ours, found_adwin = [], []
    for x in values:
        ours.update(x)
        adwin.update(x)
        found_ours.append(ours.drift_detected)
        found_adwin.append(bool(adwin.drift_detected))
    return found_ours, found_adwin


def part_synthetic(streams: int, stable_calls: int) -> list[list[str]]:
    rows = []
    pre, horizon = 5000, 5000
    for name, draw in SIGNALS.items():
        for shift in (0.25, 0.5, 1.0):
            ours, adwin = Outcome(), Outcome()
            for s in range(streams):
                rng = random.Random(1000 * s + int(shift * 100))
                values = [draw(rng, shift if i >= pre else 0.0) for i in range(pre + horizon)]
                for outcome, alarms in zip((ours, adwin), _run_values(values), strict=True):
                    outcome.streams += 1
                    delay = _first_alarm(iter(alarms), pre, horizon)
                    if delay is None:
                        outcome.missed += 1
                    else:
                        outcome.delays.append(delay)
            rows.append(
                [
                    name,
                    f"{shift}{SIGMA}",
                    ours.delay(),
                    adwin.delay(),
                    ours.miss_rate(),
                    adwin.miss_rate(),
                    "",
                    "",
                ]
            )
        ours, adwin = Outcome(), Outcome()
        rng = random.Random(7)
        found_ours, found_adwin = _run_values([draw(rng, 0.0) for _ in range(stable_calls)])
        for outcome, alarms in ((ours, found_ours), (adwin, found_adwin)):
            outcome.stable_calls = stable_calls
            outcome.false_alarms = sum(alarms)
        rows.append([name, "none (stable)", "", "", "", "", ours.mtbfa(), adwin.mtbfa()])
        _log(f"part 1: {name} done")
    return rows


# --- part 2: each default detector on chatterbot streams ----------------------------------
Signal = Callable[[Detector], float | None]


def _descriptor(detector: Detector) -> float | None:
    assert isinstance(detector, DescriptorDrift)
    return None if math.isnan(detector.value) else detector.value


def _event(detector: Detector) -> float | None:
    assert isinstance(detector, RateDrift)
    value = detector.scores.get(detector.score_name)
    return None if value is None else float(value >= 0.5)


def _score(name: str) -> Signal:
    return lambda detector: detector.scores.get(name)


def _topic_surprise(detector: Detector) -> float | None:
    assert isinstance(detector, TopicDrift)
    if not detector.monitoring or detector.last_bucket < 0:
        return None
    reference = detector.reference_histogram
    return -math.log(
        (reference[detector.last_bucket] + 0.5) / (sum(reference) + 0.5 * len(reference))
    )


StreamMaker = Callable[[random.Random, bool], Call]


@dataclass
class Scenario:
    """A labelled change for one detector: calls before (False) and after (True)."""

    detector: str
    change: str
    make: StreamMaker
    signal: Signal
    pre: int = 3000
    horizon: int = 3000
    #: Stable calls for the false-alarm count (text-heavy detectors cost more per call).
    stable: int = 400_000


class _Streams:
    """The labelled changes of part 2: ``maker(rng, after)`` gives one call."""

    def __init__(self) -> None:
        every = by_topic()
        held_out = ("science", "history", "sports", "food", "movies", "literature", "politics")
        self.every = every
        self.seen = [c for c in every if c.topic not in (*held_out, "money")]
        self.unseen = [c for c in every if c.topic in (*held_out, "money")]
        self.long_topics = by_topic(["trivia", "coding"])
        self.foreign = workload.conversations("spanish") + workload.conversations("german")
        self.support = [c for c in every if c.topic == "tech_support"]
        self.trivia = by_topic(["trivia", "ai", "science"])
        self.repeated = random.Random(3).sample(every, 150)
        self.short_answers = [c for c in every if len(c.answers[0]) < 120]
        self.multi_sentence = [c for c in every if len(_sentences(" ".join(c.answers))) >= 3]

    def length(self, r: random.Random, after: bool) -> Call:
        return workload.call(r, self.long_topics if after and r.random() < 0.3 else self.every)

    def vocabulary(self, r: random.Random, after: bool) -> Call:
        return workload.call(r, self.unseen if after and r.random() < 0.3 else self.seen)

    def language(self, r: random.Random, after: bool) -> Call:
        return workload.call(r, self.foreign if after and r.random() < 0.2 else self.every)

    def topic(self, r: random.Random, after: bool) -> Call:
        share = 0.6 if after else 0.2
        return workload.call(r, self.trivia if r.random() < share else self.support)

    def consistency(self, r: random.Random, after: bool) -> Call:
        conv = r.choice(self.repeated)
        changed = r.random() < (0.3 if after else 0.1)
        answer = r.choice(self.every).answers[0] if changed else conv.answers[0]
        return workload.call_on(r, conv, self.repeated, answer=answer)

    def faithfulness(self, r: random.Random, after: bool) -> Call:
        c = workload.call(r, self.every, rag=True)
        if after and r.random() < 0.25:
            c.output_text = r.choice(self.every).answers[0]  # not from the retrieved passages
        return c

    def shorter_answers(self, r: random.Random, after: bool) -> Call:
        # Every answer: 1-3 sentences quoted from the retrieved passage, then a courtesy
        # line the passage does not contain. Shorter answers score lower on lexical
        # support (the courtesy line weighs more), with grounding unchanged.
        conv = r.choice(self.multi_sentence)
        sentences = _sentences(" ".join(conv.answers))
        k = 1 if after and r.random() < 0.7 else r.randint(1, 3)
        start = r.randrange(len(sentences) - k + 1)
        answer = " ".join(sentences[start : start + k]) + " Hope this helps, happy to assist!"
        return workload.call_on(r, conv, self.every, rag=True, answer=answer)

    def latency(self, r: random.Random, after: bool) -> Call:
        return workload.call(r, self.short_answers, latency_scale=1.15 if after else 1.0)

    def tokens(self, r: random.Random, after: bool) -> Call:
        c = workload.call(r, self.every)
        if after:
            c.output_tokens = int(c.output_tokens * 1.5)
        return c

    def rate(self, kind: str, before: float, after_rate: float) -> StreamMaker:
        def make(r: random.Random, after: bool) -> Call:
            c = workload.call(r, self.short_answers, error_rate=0.0)
            if r.random() < (after_rate if after else before):
                if kind == "error":
                    c.is_error = True
                elif kind == "refusal":
                    c.output_text = REFUSAL
                elif kind == "truncated":
                    c.finish_reasons = ["length"]
                elif kind == "attack":
                    c.input_text = r.choice(ATTACKS)
                else:
                    c.output_text = r.choice(PII_ANSWERS)
            return c

        return make


def _scenarios() -> list[Scenario]:
    streams = _Streams()
    length, vocabulary, language = streams.length, streams.vocabulary, streams.language
    topic, consistency, faithfulness = streams.topic, streams.consistency, streams.faithfulness
    shorter_answers, latency, tokens = streams.shorter_answers, streams.latency, streams.tokens
    rate = streams.rate
    cheap, rare = 1_000_000, {"pre": 20_000, "horizon": 15_000, "stable": 1_000_000}
    return [
        Scenario(
            "input_length_drift",
            "30% of prompts from trivia/coding",
            length,
            _descriptor,
            stable=cheap,
        ),
        Scenario(
            "input_vocabulary_drift", "30% of prompts on 8 unseen topics", vocabulary, _descriptor
        ),
        Scenario("input_language_drift", "20% of prompts in Spanish/German", language, _descriptor),
        Scenario("input_topic_drift", "trivia share 20% -> 60%", topic, _topic_surprise, pre=4000),
        Scenario(
            "consistency_drift",
            "changed answers 10% -> 30%",
            consistency,
            _score("consistency"),
            stable=300_000,
        ),
        Scenario(
            "faithfulness_drift",
            "25% of answers not from the contexts",
            faithfulness,
            _score("faithfulness"),
            stable=150_000,
        ),
        Scenario(
            "faithfulness_drift",
            "shorter answers, same grounding (no change)",
            shorter_answers,
            _score("faithfulness"),
            stable=0,
        ),
        Scenario("latency_drift", "calls 15% slower", latency, _descriptor, stable=cheap),
        Scenario(
            "token_usage_drift", "answers 50% longer (tokens)", tokens, _descriptor, stable=cheap
        ),
        Scenario("error_rate_drift", "errors 1% -> 2%", rate("error", 0.01, 0.02), _event, **rare),
        Scenario(
            "refusal_rate_drift", "refusals 2% -> 4%", rate("refusal", 0.02, 0.04), _event, **rare
        ),
        Scenario(
            "bad_output_rate_drift",
            "truncated 1% -> 2%",
            rate("truncated", 0.01, 0.02),
            _event,
            **rare,
        ),
        Scenario(
            "prompt_injection", "attacks 0.5% -> 1.5%", rate("attack", 0.005, 0.015), _event, **rare
        ),
        Scenario(
            "pii_leak", "answers with PII 0.5% -> 1.5%", rate("pii", 0.005, 0.015), _event, **rare
        ),
    ]


def _sentences(text: str) -> list[str]:
    return [part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part]


def _prototype(name: str) -> Detector:
    for detector in default_detectors():
        if detector.name == name:
            return detector
    raise KeyError(name)


def _run_detector(
    detector: Detector, calls: Iterator[Call], signal: Signal
) -> Iterator[tuple[bool, bool, float | None]]:
    adwin = ADWIN()
    for call in calls:
        detector.update(call)
        value = signal(detector)
        adwin_alarm = False
        if value is not None:
            adwin.update(value)
            adwin_alarm = bool(adwin.drift_detected)
        yield detector.drift_detected, adwin_alarm, value


def part_detectors(streams: int, stable_scale: float, only: str = "") -> list[list[str]]:
    rows = []
    for index, scenario in enumerate(_scenarios()):
        if only not in scenario.detector:
            continue
        ours, adwin = Outcome(), Outcome()
        before: list[float] = []
        after: list[float] = []
        length = scenario.pre + scenario.horizon
        for s in range(streams):
            rng = random.Random(10_000 * (index + 1) + s)
            calls = (scenario.make(rng, i >= scenario.pre) for i in range(length))
            found_ours, found_adwin = [], []
            for i, (a, b, value) in enumerate(
                _run_detector(_prototype(scenario.detector), calls, scenario.signal)
            ):
                found_ours.append(a)
                found_adwin.append(b)
                if value is not None and s < 3:
                    (after if i >= scenario.pre else before).append(value)
            for outcome, alarms in ((ours, found_ours), (adwin, found_adwin)):
                outcome.streams += 1
                delay = _first_alarm(iter(alarms), scenario.pre, scenario.horizon)
                if delay is None:
                    outcome.missed += 1
                else:
                    outcome.delays.append(delay)
        shift = _shift(before, after)
        if scenario.stable:
            n = int(scenario.stable * stable_scale)
            rng = random.Random(99)
            pool = [scenario.make(rng, False) for _ in range(20_000)]
            calls = (pool[rng.randrange(len(pool))] for _ in range(n))
            ours.stable_calls = adwin.stable_calls = n
            for a, b, _ in _run_detector(_prototype(scenario.detector), calls, scenario.signal):
                ours.false_alarms += a
                adwin.false_alarms += b
            mtbfa = (ours.mtbfa(), adwin.mtbfa())
        else:
            # Not a change: every alarm on it is a false one.
            mtbfa = (
                f"{len(ours.delays)}/{ours.streams} alarmed",
                f"{len(adwin.delays)}/{adwin.streams} alarmed",
            )
        rows.append(
            [
                scenario.detector,
                scenario.change,
                shift,
                ours.delay(),
                adwin.delay(),
                ours.miss_rate(),
                adwin.miss_rate(),
                *mtbfa,
            ]
        )
        _log(f"part 2: {scenario.detector} ({scenario.change}) done")
    return rows


def _shift(before: list[float], after: list[float]) -> str:
    """The change in the monitored signal's mean, in standard deviations before it."""
    if len(before) < 2 or not after:
        return NONE
    sd = statistics.pstdev(before)
    if sd == 0:
        return NONE
    return f"{(statistics.mean(after) - statistics.mean(before)) / sd:+.2f}{SIGMA}"


# --- part 3: CPU per call -------------------------------------------------------------------
#: Part 3's workloads: name -> (description, calls).
COST_WORKLOADS: dict[str, tuple[str, Callable[[int], list[Call]]]] = {
    "chatterbot": (
        "chatterbot calls (one corpus line per prompt and answer)",
        lambda n: workload.realistic(n, seed=1),
    ),
    "production": (
        "500-character prompts and answers",
        lambda n: workload.production(n, seed=1),
    ),
}


def part_cost(
    calls: list[Call], calls_measured: int, rounds: int
) -> tuple[float, list[tuple[str, float]]]:
    """CPU per call of all default detectors together (best round), and each one alone.

    Detectors are warmed up first on all but the last ``calls_measured`` calls (learning
    phases, reference building, calibration run once per key and are not per-call costs).
    Alone, a detector also pays the text analysis the others share with it, so the parts
    add up to more than the whole.
    """
    warm, measured = calls[:-calls_measured], calls[-calls_measured:]
    detectors = default_detectors()
    for call in warm:
        for detector in detectors:
            detector.update(call)
    best = math.inf
    for _ in range(rounds):
        started = time.process_time()
        for call in measured:
            for detector in detectors:
                detector.update(call)
                detector.scores  # noqa: B018 - reading results is part of the cost
                detector.drift_detected  # noqa: B018
        best = min(best, time.process_time() - started)
    alone = []
    for detector in detectors:
        best_alone = math.inf
        for _ in range(rounds):
            started = time.process_time()
            for call in measured:
                detector.update(call)
                detector.scores  # noqa: B018
            best_alone = min(best_alone, time.process_time() - started)
        alone.append((detector.name, best_alone / len(measured) * 1e6))
    return best / len(measured) * 1e6, alone


def cost_here(name: str, calls_measured: int, rounds: int) -> dict[str, Any]:
    """Part 3 on one workload in this process, with the core if it is loaded."""
    total, alone = part_cost(COST_WORKLOADS[name][1](5000 + calls_measured), calls_measured, rounds)
    return {"native": native_core.AVAILABLE, "total": total, "alone": alone}


def cost_in_child(name: str, calls_measured: int, rounds: int, native: bool) -> dict[str, Any]:
    """Part 3 on one workload in a fresh process, the core switched on or off."""
    env = {**os.environ, native_core.SWITCH: "1" if native else "0"}
    command = [sys.executable, "-m", "bench.detectors.bench_detectors", "--cost", name]
    command += ["--calls", str(calls_measured), "--rounds", str(rounds)]
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def cost_table(calls_measured: int, rounds: int) -> tuple[str, list[str]]:
    """Part 3's table: every workload with and without the core, and notes on the runs."""
    columns, notes = [], []
    for name, (description, _) in COST_WORKLOADS.items():
        for native in (True, False):
            _log(f"part 3: {name} calls, {'compiled core' if native else 'Python only'}")
            result = cost_in_child(name, calls_measured, rounds, native)
            if native and not result["native"]:
                notes.append(f"{description}: watchkeeper-native is not installed")
            label = f"{name}, {'core' if result['native'] else 'Python'}"
            columns.append((label, result))
    header = ["\u00b5s per call", *(label for label, _ in columns)]
    rows = [[f"**all {len(default_detectors())} together**"]]
    rows[0] += [f"**{result['total']:.0f}**" for _, result in columns]
    names = [detector.name for detector in default_detectors()]
    for i, detector in enumerate(names):
        cells = [f"{result['alone'][i][1]:.1f}" for _, result in columns]
        rows.append([f"{detector} alone", *cells])
    return _table(header, rows), notes


# --- output ---------------------------------------------------------------------------------
def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _log(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the three parts and print their tables (Markdown, as in the README)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer, shorter streams")
    parser.add_argument(
        "--only", default="", metavar="NAME", help="part 2 only, for detectors matching NAME"
    )
    parser.add_argument(
        "--cost",
        choices=sorted(COST_WORKLOADS),
        help="part 3 only, on one workload, in this process; prints JSON",
    )
    parser.add_argument("--calls", type=int, default=20_000, help="calls measured by --cost")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --cost (the best counts)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.cost:
        print(json.dumps(cost_here(args.cost, args.calls, args.rounds)))
        return 0
    if args.only:
        streams = 3 if args.quick else 20
        rows = part_detectors(streams, 0.05 if args.quick else 1.0, args.only)
        print(
            _table(
                [
                    "detector",
                    "change",
                    "shift",
                    "delay ours",
                    "delay ADWIN",
                    "missed ours",
                    "missed ADWIN",
                    "MTBFA ours",
                    "MTBFA ADWIN",
                ],
                rows,
            )
        )
        return 0
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"# watchkeeper detector benchmark ({python}, {platform.machine()})\n")

    streams = 5 if args.quick else 30
    print("## 1. Change detection on synthetic signals: ours vs river ADWIN\n")
    print(
        f"{streams} streams per shift, change after 5,000 values, horizon 5,000. Ours: "
        "SelfStartingCusum defaults (target 200,000 values between false alarms); ADWIN: "
        "river defaults (delta=0.002).\n"
    )
    rows = part_synthetic(streams, 200_000 if args.quick else 2_000_000)
    header = ["signal", "shift", "delay ours", "delay ADWIN", "missed ours", "missed ADWIN"]
    print(_table([*header, "MTBFA ours", "MTBFA ADWIN"], rows))

    streams = 3 if args.quick else 20
    print(f"\n## 2. Default detectors on chatterbot-corpus streams ({streams} streams each)\n")
    rows = part_detectors(streams, 0.05 if args.quick else 1.0)
    header = ["detector", "change", "shift", *header[2:], "MTBFA ours", "MTBFA ADWIN"]
    print(_table(header, rows))

    measured, rounds = (2000, 1) if args.quick else (20_000, 3)
    print(f"\n## 3. CPU per call (process time, best of {rounds}, {measured:,} calls)\n")
    print(
        "Each column in its own process, after a warm-up of 5,000 calls: with the compiled "
        "core (watchkeeper-native) and with `WATCHKEEPER_NATIVE=0` (the Python code alone), "
        "on the chatterbot calls of part 2 and on production-length calls (500-character "
        "prompts and answers). A detector alone also pays the text analysis the others "
        "share with it.\n"
    )
    table, notes = cost_table(measured, rounds)
    print(table)
    for note in notes:
        print(f"\n_{note}._")
    print(f"\n_Benchmark took {time.monotonic() - started:.0f} s._")
    return 0


if __name__ == "__main__":
    sys.exit(main())
