"""CPU of the text analysis ahead (the ``watchkeeper-texts`` threads), part by part.

Times, on one thread, what ``TextPrefetch`` does for the bench's calls
(``tests.support.otlp_messages.texts``: ~500-character prompts and answers of real
dialogue): the core's ``analyse_many`` of the inputs and outputs, then each screen the
default detectors register in :mod:`watchkeeper.detectors.text.ahead`, then the word-table
look-up the drift detectors hand over (two tables made from the corpus's words), and all
of it as the thread runs it: ``analyse_ahead``, the GIL released once. Prints
µs of thread CPU per LLM call for each part (the smallest of ``--repeats`` passes over
``--calls`` calls in runs of ``--run``), or, with ``--part NAME --passes N``, only runs
that part (for ``valgrind --tool=callgrind``). ``--unique`` ends each prompt and answer
with the call's own tag, as ``bench.collector.unique_texts`` does: no text repeats, as on
live traffic.

    python -m bench.text.ahead_cost
    python -m bench.text.ahead_cost --unique
    valgrind --tool=callgrind python -m bench.text.ahead_cost --part analyse --passes 1
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable

from tests.support.otlp_messages import texts
from watchkeeper.detectors import default_detectors, native_core
from watchkeeper.detectors.text import ahead
from watchkeeper.detectors.text.lexicon import LANGUAGE_OF, STOPWORDS
from watchkeeper.detectors.text.tokens import MAX_CHARS, SKETCH_SIZE, content_words

Part = Callable[[list[str], list[str]], object]


def _heads(side: list[str], size: int) -> list[str]:
    return [text if len(text) <= size else text[:size] for text in side]


def _tables(inputs: list[str]) -> list[native_core.WordTable]:
    counts = Counter(word for text in inputs[:2000] for word in content_words(text[:MAX_CHARS]))
    common = [word for word, _ in counts.most_common(600)]
    made = [
        native_core.word_table(dict.fromkeys(common, 0)),
        native_core.word_table({w: i % 16 for i, w in enumerate(common[:64])}),
    ]
    return [table for table in made if table is not None]


def parts(inputs: list[str]) -> dict[str, Part]:
    """Each part of the thread's work on a run's inputs and outputs, by name."""
    analyser = native_core.text_analyser(STOPWORDS, LANGUAGE_OF, SKETCH_SIZE)
    assert analyser is not None, "the compiled core is not installed"
    found: dict[str, Part] = {
        "analyse": lambda i, o: analyser.analyse_many(
            [*_heads(i, MAX_CHARS), *_heads(o, MAX_CHARS)], [True] * len(i) + [False] * len(o)
        )
    }
    names = [d.name for d in default_detectors()]
    for screen in ahead.screens_for(names):

        def run(i: list[str], o: list[str], s: ahead.AheadScreen = screen) -> object:
            return s.screen.many(_heads(i if s.side == "input" else o, s.head))

        found[f"screen {screen.held_as} ({screen.side})"] = run
    tables = _tables(inputs)
    found["look_up (2 tables)"] = lambda i, o: analyser.look_up_many(_heads(i, MAX_CHARS), tables)
    # What the thread runs when the drift detectors hand over tables: both in one pass.
    found["analyse_looking_up (2 tables)"] = lambda i, o: analyser.analyse_looking_up(
        [*_heads(i, MAX_CHARS), *_heads(o, MAX_CHARS)], [True] * len(i) + [False] * len(o), tables
    )
    # All of it in one call, the GIL released once (what the thread runs).
    screens = ahead.screens_for(names)

    def at_once(i: list[str], o: list[str]) -> object:
        cores = [(s.screen.core(), s.side == "input", s.head) for s in screens if s.screen.core]
        return analyser.analyse_ahead(i, o, MAX_CHARS, tables, [c for c in cores if c[0]])

    found["analyse_ahead (all in one call)"] = at_once
    return found


def unique(text: str, i: int) -> str:
    """``text`` tagged as ``bench.collector.unique_texts`` tags call ``i``'s texts."""
    return f"{text} [{RUN_TAG}/{i:06d}]"


#: A run id written as ``unique_texts`` writes it (its digits as letters).
RUN_TAG = "kgpabfce"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--run", type=int, default=250, help="calls per run (one route's)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--part", help="only this part (a prefix of its name)")
    parser.add_argument("--passes", type=int, default=0, help="with --part: passes, untimed")
    parser.add_argument("--unique", action="store_true", help="no text repeats")
    args = parser.parse_args()
    pairs = [texts(i) for i in range(args.calls)]
    if args.unique:
        pairs = [(unique(p, i), unique(a, i)) for i, (p, a) in enumerate(pairs)]
    inputs, outputs = [p for p, _ in pairs], [a for _, a in pairs]
    runs = [
        (inputs[k : k + args.run], outputs[k : k + args.run])
        for k in range(0, args.calls, args.run)
    ]
    every = parts(inputs)
    chosen = {n: p for n, p in every.items() if args.part is None or n.startswith(args.part)}
    if args.passes:
        for _ in range(args.passes):
            for part in chosen.values():
                for i, o in runs:
                    part(i, o)
        return
    total = 0.0
    for name, part in chosen.items():
        counted = not name.startswith(("analyse_looking_up", "analyse_ahead"))
        best = float("inf")
        for _ in range(args.repeats):
            start = time.thread_time_ns()
            for i, o in runs:
                part(i, o)
            best = min(best, (time.thread_time_ns() - start) / 1e3 / args.calls)
        total += best if counted else 0.0
        print(f"{name:40} {best:7.2f} µs per call")
    print(f"{'all (analyse, screens, look_up)':40} {total:7.2f} µs per call")


if __name__ == "__main__":
    main()
