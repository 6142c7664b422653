"""What the PII detector's look at one answer costs (the GIL-holding thread's CPU), by
what the answer holds: the corpus's answers as they are, and the same answers ending with
a few kinds of number that real answers carry.

Run: ``python -m bench.detectors.pii_cost`` (a few seconds). For each variant it prints
the share of answers the screen (the compiled core's, as run ahead of the detectors) lets
through to the patterns, the characters it hands them, and ``find_pii``'s µs per answer.
An answer with a run of seven or more digits and separators (``_DIGIT_RUN``) goes to the
patterns, which the ``re`` module tries at every position of the run's segment: the
bench_traces ``--unique`` tag (``[3f2a9c15/12345]``) is one such run when the run id ends
with a digit (10 run ids in 16) and the call's number has five digits or more.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from tests.support.otlp_messages import texts
from watchkeeper.detectors import native_core
from watchkeeper.detectors.safety.pii import find_pii
from watchkeeper.detectors.text.tokens import MAX_CHARS

#: Each variant: its name and what it makes of answer ``i``.
VARIANTS: tuple[tuple[str, Callable[[str, int], str]], ...] = (
    ("corpus answer", lambda text, i: text),
    ("+ ' [stages/i]' (pipeline_stages --unique)", lambda text, i: f"{text} [stages/{i}]"),
    ("+ ' [3f2a9c15/i]' (bench_traces --unique)", lambda text, i: f"{text} [3f2a9c15/{i}]"),
    ("+ ' on 12/05/2024.'", lambda text, i: f"{text} on 12/05/2024."),
    ("+ ' on 2024-05-01.'", lambda text, i: f"{text} on 2024-05-01."),
    ("+ ' Order #4810nnnn.'", lambda text, i: f"{text} Order #4810{i % 10000:04d}."),
    ("+ ' Call 415-555-0100.'", lambda text, i: f"{text} Call 415-555-0100."),
)


def measure(answers: list[str]) -> tuple[float, float, float]:
    """(share of answers screened through, mean characters handed to the patterns per
    such answer, µs of ``find_pii`` per answer)."""
    screen = native_core.pii_screen()
    through, chars = 0, 0
    for answer in answers:
        segments = screen.one(answer[:MAX_CHARS]) if screen is not None else None
        if segments is None or segments:
            through += 1
            chars += sum(end - start for start, end, _ in segments or [(0, len(answer), True)])
    started = time.thread_time()
    for answer in answers:
        find_pii(answer)
    spent = time.thread_time() - started
    return through / len(answers), chars / max(through, 1), spent / len(answers) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--answers", type=int, default=5000)
    args = parser.parse_args()
    corpus = [texts(i)[1] for i in range(10_000, 10_000 + args.answers)]
    print("| answers | screened through | chars to patterns | find_pii µs per answer |")
    print("|---|---:|---:|---:|")
    for name, make in VARIANTS:
        share, chars, us = measure([make(text, i) for i, text in enumerate(corpus, 10_000)])
        print(f"| {name} | {share:.0%} | {chars:.0f} | {us:.1f} |")


if __name__ == "__main__":
    main()
