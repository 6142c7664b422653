"""Texts analysed ahead of the detectors, on a thread of their own, mostly without the GIL.

A process that feeds detectors from one thread is bound by the GIL: everything the
detectors do holds it. The compiled core's analysis of a text (tokens, word look-ups,
sketch, digests) and the detectors' screens (:mod:`.ahead`) need no Python object until
their results are made, so they can run on the other core while the feeding thread runs
the detectors' Python on earlier texts. :class:`TextPrefetch` does that for the inputs and
outputs of runs of calls handed to it in the order they will be read;
:meth:`TextPrefetch.take` puts a run's results in the memo of :mod:`.tokens` (and the
verdicts in :mod:`.ahead`) just before the detectors read those texts. The facts are the
ones ``text_facts`` would make, the verdicts the ones the screens would give. Without the
core there is nothing to gain: texts are analysed when first read.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from watchkeeper.detectors import native_core
from watchkeeper.detectors.text import ahead
from watchkeeper.detectors.text.lexicon import LANGUAGE_OF, STOPWORDS
from watchkeeper.detectors.text.tokens import MAX_CHARS, SKETCH_SIZE, remember

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdicts:
    """One screen's (or lookup's) verdicts on one side's texts of a run."""

    #: The detector (or lookup key) they are kept under.
    name: str
    side: Literal["input", "output"]
    #: One per text of that side, None for a text left to Python.
    found: list[Any]


@dataclass(frozen=True)
class Found:
    """What the thread found for one run."""

    #: The core's analyses of the run's inputs, then its outputs.
    analyses: list[native_core.TextAnalysis | None]
    verdicts: list[Verdicts]


@dataclass(frozen=True)
class PrefetchJob:
    """One run handed to the thread: its texts, and what the thread will find in them."""

    inputs: list[str]
    outputs: list[str]
    found: Future[Found]


def _heads(texts: list[str], size: int) -> list[str]:
    return [text if len(text) <= size else text[:size] for text in texts]


class TextPrefetch:
    """Analyses and screens runs of texts on background threads (``workers``, two by
    default); :meth:`take` memoises. Runs are independent, so they are done in parallel;
    each is taken in the order submitted.

    Each thread has an analyser of its own: the core keeps its word cache locked while it
    analyses without the GIL, and a thread holding the GIL while waiting for that lock (a detector
    analysing a text the prefetch did not cover) would wait for the whole list.

    ``detectors``: names of the detectors that will read the texts (their screens
    registered in :mod:`.ahead` run too); None for every registered screen.
    """

    def __init__(self, detectors: Collection[str] | None = None, workers: int = 2) -> None:
        self._analyser = native_core.text_analyser(STOPWORDS, LANGUAGE_OF, SKETCH_SIZE)
        self._detectors = detectors
        self._thread: ThreadPoolExecutor | None = None
        self._pid = os.getpid()
        # Two threads by default: the detectors go through a run faster than one thread
        # analyses it, and the feeding thread would wait (the analysis holds no GIL, so a
        # second core does the runs ahead in parallel). Never more threads than cores.
        self._workers = max(1, min(workers, os.cpu_count() or 1))
        #: each worker thread's analyser (the core locks an analyser's word cache while
        #: it works: threads sharing one would take turns)
        self._local = threading.local()
        self._claim = threading.Lock()
        self._first_taken = False

    @property
    def available(self) -> bool:
        """True when texts can be analysed ahead (the compiled core is in use)."""
        return self._analyser is not None

    def submit(
        self,
        inputs: list[str],
        outputs: list[str],
        lookups: Sequence[ahead.AheadLookup] = (),
    ) -> PrefetchJob | None:
        """Start on a run's inputs (analysed with their content words, as the drift
        detectors read them, and looked up in ``lookups``) and outputs; None when
        unavailable. Runs are started in the order they are submitted."""
        if self._analyser is None:
            return None
        if self._thread is None or self._pid != os.getpid():
            # New, or inherited by a forked child, which has the executor but not its
            # thread: work sent there would never run.
            self._thread = ThreadPoolExecutor(self._workers, thread_name_prefix="watchkeeper-texts")
            self._pid = os.getpid()
        found = self._thread.submit(self._work, inputs, outputs, list(lookups))
        return PrefetchJob(inputs, outputs, found)

    def _work(
        self, inputs: list[str], outputs: list[str], lookups: list[ahead.AheadLookup]
    ) -> Found:
        analyser = self._thread_analyser()
        # Each side's texts cut to each length once: the analysis and most screens read
        # the first MAX_CHARS characters.
        cut: dict[tuple[str, int], list[str]] = {}

        def heads(side: str, size: int) -> list[str]:
            found = cut.get((side, size))
            if found is None:
                found = cut[side, size] = _heads(inputs if side == "input" else outputs, size)
            return found

        with_words = [True] * len(inputs) + [False] * len(outputs)
        both = [*heads("input", MAX_CHARS), *heads("output", MAX_CHARS)]
        counts: list[list[native_core.WordCounts] | None] = []
        if lookups:
            # The inputs' content words are looked up in the tables as the analysis finds
            # them, rather than found again.
            tables = [lookup.table for lookup in lookups]
            analyses, counts = analyser.analyse_looking_up(both, with_words, tables)
        else:
            analyses = analyser.analyse_many(both, with_words)
        verdicts = [
            Verdicts(
                screen.held_as, screen.side, screen.screen.many(heads(screen.side, screen.head))
            )
            for screen in ahead.screens_for(self._detectors)
        ]
        for i, lookup in enumerate(lookups):
            column = [None if each is None else each[i] for each in counts[: len(inputs)]]
            verdicts.append(Verdicts(lookup.key, "input", column))
        return Found(analyses, verdicts)

    def _thread_analyser(self) -> native_core.TextAnalyser:
        """This worker thread's analyser: the first thread takes the one made at start,
        the others make their own."""
        analyser: native_core.TextAnalyser | None = getattr(self._local, "analyser", None)
        if analyser is None:
            with self._claim:
                first, self._first_taken = not self._first_taken, True
            made = None if first else native_core.text_analyser(STOPWORDS, LANGUAGE_OF, SKETCH_SIZE)
            analyser = made if made is not None else self._analyser
            assert analyser is not None  # submit() sends no work without the core
            self._local.analyser = analyser
        return analyser

    @staticmethod
    def take(job: PrefetchJob | None) -> None:
        """Wait for a submitted run and put what was found in the memo. Call it after the
        memo was last emptied (``forget_texts``) and before the texts are read."""
        if job is None:
            return
        try:
            found = job.found.result()
        except Exception:  # the texts are analysed and screened when first read instead
            log.exception("analysing texts ahead failed")
            return
        remember([*job.inputs, *job.outputs], found.analyses)
        for verdicts in found.verdicts:
            texts = job.inputs if verdicts.side == "input" else job.outputs
            ahead.remember(verdicts.name, texts, verdicts.found)

    def close(self) -> None:
        """Stop the thread (after the runs in hand are done)."""
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
