"""What the PII detector's look at one answer costs (the GIL-holding thread's CPU), by
what the answer holds: the corpus's answers as they are, and the same answers ending with
a few kinds of number that real answers carry.

Run: ``python -m bench.detectors.pii_cost`` (a few seconds). For each variant it prints
the share of answers in which PII is found, and ``find_pii``'s µs per answer twice: with
the compiled core (which finds the PII itself; on the collector it does so ahead, on the
texts threads, and the detector only reads the result) and by the Python patterns (the path
without the core, and for texts the core leaves to Python). The patterns run on an answer
with an ``@`` or a run of seven or more digits and separators (``_DIGIT_RUN``), which the
``re`` module tries at every position: dates like 2024-05-01, phone and order numbers.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from tests.support.otlp_messages import texts
from watchkeeper.detectors import native_core
from watchkeeper.detectors.safety import pii
from watchkeeper.detectors.safety.pii import find_pii

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
    """(share of answers with PII, µs of ``find_pii`` per answer with the core, µs of it
    by the Python patterns)."""
    started = time.thread_time()
    found = sum(bool(find_pii(answer)) for answer in answers)
    core = time.thread_time() - started
    saved, pii._CORE_SCREEN = pii._CORE_SCREEN, None
    try:
        started = time.thread_time()
        for answer in answers:
            find_pii(answer)
        python = time.thread_time() - started
    finally:
        pii._CORE_SCREEN = saved
    n = len(answers)
    return found / n, core / n * 1e6, python / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--answers", type=int, default=5000)
    args = parser.parse_args()
    corpus = [texts(i)[1] for i in range(10_000, 10_000 + args.answers)]
    core = "core" if native_core.AVAILABLE else "core (not installed: patterns)"
    print(f"| answers | with PII | find_pii µs per answer, {core} | by the patterns |")
    print("|---|---:|---:|---:|")
    for name, make in VARIANTS:
        share, fast, slow = measure([make(text, i) for i, text in enumerate(corpus, 10_000)])
        print(f"| {name} | {share:.0%} | {fast:.1f} | {slow:.1f} |")


if __name__ == "__main__":
    main()
