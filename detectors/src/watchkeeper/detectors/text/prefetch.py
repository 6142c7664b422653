"""Texts analysed ahead of the detectors, on a thread of their own, mostly without the GIL.

A process that feeds detectors from one thread is bound by the GIL: everything the
detectors do holds it. The compiled core's analysis of a text (tokens, word look-ups,
sketch, digests) needs no Python object until its results are made, so it can run on the
other core while the feeding thread runs the detectors' Python on earlier texts.
:class:`TextPrefetch` does that for lists of texts handed to it in the order they will be
read; :meth:`TextPrefetch.take` puts a list's analyses in the memo of :mod:`.tokens` just
before the detectors read those texts. The facts are the ones ``text_facts`` would make.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from watchkeeper.detectors.text import native_core
from watchkeeper.detectors.text.lexicon import LANGUAGE_OF, STOPWORDS
from watchkeeper.detectors.text.tokens import MAX_CHARS, SKETCH_SIZE, remember

log = logging.getLogger(__name__)

#: One list of texts handed to the thread, with what it found (None until taken).
Job = tuple[list[str], "Future[list[native_core.Analysis | None]]"]


class TextPrefetch:
    """Analyses lists of texts on a background thread; :meth:`take` memoises them.

    It has an analyser of its own: the core keeps its word cache locked while it analyses
    without the GIL, and a thread holding the GIL while waiting for that lock (a detector
    analysing a text the prefetch did not cover) would deadlock with it.
    """

    def __init__(self) -> None:
        analyser = native_core.text_analyser(STOPWORDS, LANGUAGE_OF, SKETCH_SIZE)
        # Without the core (or with a core too old to analyse lists) there is nothing to
        # gain: the texts are analysed when first read, as without a prefetch.
        self._analyser = analyser if hasattr(analyser, "analyse_many") else None
        self._thread: ThreadPoolExecutor | None = None

    @property
    def available(self) -> bool:
        """True when texts can be analysed ahead (the compiled core is installed)."""
        return self._analyser is not None

    def submit(self, texts: list[str], with_words: list[bool]) -> Job | None:
        """Start analysing ``texts`` (content words made where ``with_words`` says); None
        when unavailable. Lists are analysed in the order they are submitted."""
        if self._analyser is None:
            return None
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="watchkeeper-texts")
        heads = [text if len(text) <= MAX_CHARS else text[:MAX_CHARS] for text in texts]
        return texts, self._thread.submit(self._analyser.analyse_many, heads, with_words)

    @staticmethod
    def take(job: Job | None) -> None:
        """Wait for a submitted list and put its analyses in the memo. Call it after the
        memo was last emptied (``forget_texts``) and before the texts are read."""
        if job is None:
            return
        texts, found = job
        try:
            analyses = found.result()
        except Exception:  # the texts are analysed when first read instead
            log.exception("analysing texts ahead failed")
            return
        remember(texts, analyses)

    def close(self) -> None:
        """Stop the thread (after the lists in hand are analysed)."""
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None


def run_texts(inputs: Sequence[str], outputs: Sequence[str]) -> tuple[list[str], list[bool]]:
    """The texts of a run of calls and which need content words: the inputs (read as words
    by the drift detectors), then the outputs (read as sketches and numbers)."""
    return [*inputs, *outputs], [True] * len(inputs) + [False] * len(outputs)
