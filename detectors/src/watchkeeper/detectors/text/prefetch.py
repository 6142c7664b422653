"""Texts analysed ahead of the detectors, on a thread of their own, mostly without the GIL.

A process that feeds detectors from one thread is bound by the GIL: everything the
detectors do holds it. The compiled core's analysis of a text (tokens, word look-ups,
sketch, digests) and the detectors' screens (:mod:`.ahead`) need no Python object until
their results are made, so they can run on the other core while the feeding thread runs
the detectors' Python on earlier texts. :class:`TextPrefetch` does that for the inputs and
outputs of runs of calls handed to it in the order they will be read;
:meth:`TextPrefetch.take` puts a run's results in the memo of :mod:`.tokens` (and the
verdicts of :mod:`.ahead`) just before the detectors read those texts. The facts are the
ones ``text_facts`` would make, the verdicts the ones the screens would give.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

from watchkeeper.detectors.text import ahead, native_core
from watchkeeper.detectors.text.lexicon import LANGUAGE_OF, STOPWORDS
from watchkeeper.detectors.text.tokens import MAX_CHARS, SKETCH_SIZE, remember

log = logging.getLogger(__name__)

#: What the thread found for one run: the analyses of its texts (inputs then outputs),
#: and verdicts of screens and lookups: the name they are kept under, the side of the
#: calls they read, one verdict per text.
Found = tuple[
    list[native_core.Analysis | None], list[tuple[str, Literal["input", "output"], list[Any]]]
]
#: One run handed to the thread: its inputs and outputs, and what it will find.
Job = tuple[list[str], list[str], "Future[Found]"]


def _heads(texts: list[str], size: int) -> list[str]:
    return [text if len(text) <= size else text[:size] for text in texts]


class TextPrefetch:
    """Analyses and screens runs of texts on a background thread; :meth:`take` memoises.

    It has an analyser of its own: the core keeps its word cache locked while it analyses
    without the GIL, and a thread holding the GIL while waiting for that lock (a detector
    analysing a text the prefetch did not cover) would wait for the whole list.

    ``detectors``: names of the detectors that will read the texts (their screens
    registered in :mod:`.ahead` run too); None for every registered screen.
    """

    def __init__(self, detectors: Collection[str] | None = None) -> None:
        analyser = native_core.text_analyser(STOPWORDS, LANGUAGE_OF, SKETCH_SIZE)
        # Without the core (or with a core too old to analyse lists) there is nothing to
        # gain: the texts are analysed when first read, as without a prefetch.
        self._analyser = analyser if hasattr(analyser, "analyse_many") else None
        self._detectors = detectors
        self._thread: ThreadPoolExecutor | None = None
        self._pid = os.getpid()

    @property
    def available(self) -> bool:
        """True when texts can be analysed ahead (the compiled core is installed)."""
        return self._analyser is not None

    def submit(
        self,
        inputs: list[str],
        outputs: list[str],
        lookups: Sequence[ahead.AheadLookup] = (),
    ) -> Job | None:
        """Start on a run's inputs (analysed with their content words, as the drift
        detectors read them, and looked up in ``lookups``) and outputs; None when
        unavailable. Runs are done in the order they are submitted."""
        if self._analyser is None:
            return None
        if self._thread is None or self._pid != os.getpid():
            # New, or inherited by a forked child, which has the executor but not its
            # thread: work sent there would never run.
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="watchkeeper-texts")
            self._pid = os.getpid()
        job = self._thread.submit(self._work, inputs, outputs, list(lookups))
        return inputs, outputs, job

    def _work(
        self, inputs: list[str], outputs: list[str], lookups: list[ahead.AheadLookup]
    ) -> Found:
        assert self._analyser is not None
        # Each side's texts cut to each length once: the analysis and most screens read
        # the first MAX_CHARS characters.
        cut: dict[tuple[str, int], list[str]] = {}

        def heads(side: str, size: int) -> list[str]:
            found = cut.get((side, size))
            if found is None:
                found = cut[side, size] = _heads(inputs if side == "input" else outputs, size)
            return found

        with_words = [True] * len(inputs) + [False] * len(outputs)
        analyses = self._analyser.analyse_many(
            [*heads("input", MAX_CHARS), *heads("output", MAX_CHARS)], with_words
        )
        verdicts: list[tuple[str, Literal["input", "output"], list[Any]]] = [
            (screen.detector, screen.side, screen.many(heads(screen.side, screen.head)))
            for screen in ahead.screens_for(self._detectors)
        ]
        if lookups and hasattr(self._analyser, "look_up_many"):
            tables = [lookup.table for lookup in lookups]
            found = self._analyser.look_up_many(heads("input", MAX_CHARS), tables)
            for i, lookup in enumerate(lookups):
                column = [None if each is None else each[i] for each in found]
                verdicts.append((lookup.key, "input", column))
        return analyses, verdicts

    @staticmethod
    def take(job: Job | None) -> None:
        """Wait for a submitted run and put what was found in the memo. Call it after the
        memo was last emptied (``forget_texts``) and before the texts are read."""
        if job is None:
            return
        inputs, outputs, found = job
        try:
            analyses, verdicts = found.result()
        except Exception:  # the texts are analysed and screened when first read instead
            log.exception("analysing texts ahead failed")
            return
        remember([*inputs, *outputs], analyses)
        for name, side, found_for in verdicts:
            ahead.remember(name, inputs if side == "input" else outputs, found_for)

    def close(self) -> None:
        """Stop the thread (after the runs in hand are done)."""
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
