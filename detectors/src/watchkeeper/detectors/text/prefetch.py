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
from typing import Any

from watchkeeper.detectors import native_core
from watchkeeper.detectors.text import ahead
from watchkeeper.detectors.text.lexicon import LANGUAGE_OF, STOPWORDS
from watchkeeper.detectors.text.tokens import (
    MAX_CHARS,
    SKETCH_SIZE,
    TextFacts,
    facts_of,
    remember_facts,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    """What the thread found for one run."""

    #: The memo entries of the run's texts the core analysed (``tokens.facts_of``).
    facts: dict[str, TextFacts]
    #: Verdicts by screen (or lookup key), then by text (texts left to Python have none).
    verdicts: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class PrefetchJob:
    """One run handed to the thread: its texts, and what the thread will find in them."""

    inputs: list[str]
    outputs: list[str]
    found: Future[Found]


def _by_text(screen: ahead.AheadScreen, inputs: list[str], outputs: list[str]) -> dict[str, Any]:
    """A screen the core does not run with the analysis: its verdicts by text."""
    texts = inputs if screen.side == "input" else outputs
    heads = [text if len(text) <= screen.head else text[: screen.head] for text in texts]
    found = screen.screen.many(heads)
    return {text: each for text, each in zip(texts, found, strict=True) if each is not None}


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
        screens = ahead.screens_for(self._detectors)
        # The analysis, the look-ups and the core's screens in one call, the GIL released
        # once: each time this thread takes the GIL back, the thread reading the texts may
        # have to wait for it.
        cores = [
            (screen, screen.screen.core() if screen.screen.core else None) for screen in screens
        ]
        in_core = [(screen, core) for screen, core in cores if core is not None]
        analyses, looked_up, held = analyser.analyse_ahead(
            inputs,
            outputs,
            MAX_CHARS,
            [lookup.table for lookup in lookups],
            [(core, screen.side == "input", screen.head) for screen, core in in_core],
        )
        verdicts = {screen.held_as: found for (screen, _), found in zip(in_core, held, strict=True)}
        verdicts.update(zip([lookup.key for lookup in lookups], looked_up, strict=True))
        for screen, core in cores:
            if core is None:
                verdicts[screen.held_as] = _by_text(screen, inputs, outputs)
        return Found(facts_of([*inputs, *outputs], analyses), verdicts)

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
        remember_facts(found.facts)
        for name, verdicts in found.verdicts.items():
            ahead.remember_held(name, verdicts)

    def close(self) -> None:
        """Stop the thread (after the runs in hand are done)."""
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
