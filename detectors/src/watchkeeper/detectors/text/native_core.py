"""The optional compiled core (``watchkeeper-native``) and the switch that turns it off.

The text analysis of this package is written in Python, and the Python is the reference.
When the distribution ``watchkeeper-native`` (``pip install 'watchkeeper-detectors[native]'``)
is installed, the hot parts run in its compiled core instead: the analysis of a text in one
call (tokens, content words, sketch, numbers, names, language) and the screens in front of
the prompt-injection, PII and refusal patterns. It returns exactly what the Python code
returns, or None for input it does not handle (letters beyond ASCII, lone surrogates),
which the Python code then analyses. Results never depend on whether it is installed.

Set ``WATCHKEEPER_NATIVE=0`` before the detectors are imported to run the Python code
alone (to compare, or to rule the core out when debugging).

>>> CORE is None or hasattr(CORE, "TextAnalyser")
True
"""

from __future__ import annotations

import importlib
import os
import struct
from collections.abc import Callable, Mapping, Sequence, Set
from types import ModuleType
from typing import Any, Protocol, cast

#: Environment variable that, set to ``0``, keeps the compiled core unused.
SWITCH = "WATCHKEEPER_NATIVE"


def load() -> ModuleType | None:
    """``watchkeeper.native`` when it is installed and not switched off, else None."""
    if os.environ.get(SWITCH, "1").strip() == "0":
        return None
    try:
        # Imported by name: the type checker need not see the optional distribution.
        return importlib.import_module("watchkeeper.native")
    except ImportError:
        return None


#: The compiled core, or None: every user falls back to the Python code then.
CORE = load()


#: What :meth:`TextAnalyser.analyse` returns for a text it handles: ``zlib.crc32`` of its
#: words joined by spaces, its content words (None unless asked for), the bottom-k sketch
#: of those packed as little-endian ``uint32`` (see :func:`unpack_sketch`), its numbers, its
#: language label, ``zlib.crc32`` of its sorted numbers and names (see
#: :func:`~watchkeeper.detectors.text.tokens.guard_digest`), and that of its sorted numbers
#: alone (:func:`~watchkeeper.detectors.text.tokens.numbers_hash`). The names are not
#: returned: only the guard reads them where the core runs.
Analysis = tuple[int, tuple[str, ...] | None, bytes, frozenset[str], str, int, int]

#: A sketch as the consistency index takes it: a tuple of ints, or packed (``Analysis``).
Sketch = tuple[int, ...] | bytes


def unpack_sketch(packed: bytes) -> tuple[int, ...]:
    """A packed sketch's numbers (the analysis packs them: one small object to hand from
    the thread that analyses texts to the one that reads them, not seventeen)."""
    return struct.unpack(f"<{len(packed) // 4}I", packed)


class TextAnalyser(Protocol):
    """The core's analysis of a text's first ``MAX_CHARS`` characters, in one call."""

    def analyse(self, head: str, with_words: bool = True) -> Analysis | None:
        """Everything :mod:`.tokens` and :mod:`.language` find in ``head``, or None."""

    def analyse_many(
        self, heads: Sequence[str], with_words: Sequence[bool]
    ) -> list[Analysis | None]:
        """``[analyse(h, w) for h, w in zip(heads, with_words)]``, the GIL released for
        all but making the results' Python objects (the word cache stays locked meanwhile:
        another thread analysing with the same analyser waits for the whole list)."""

    def content_words(self, head: str) -> tuple[str, ...] | None:
        """``tokens.content_words(head)``, or None."""

    def look_up_many(
        self, heads: Sequence[str], tables: Sequence[WordTable]
    ) -> list[list[tuple[int, int, int]] | None]:
        """Per head (None: left to Python), per table, ``(words, found, best)``: the number
        of ``tokens.content_words(head)``, how many are in the table, and the highest value
        among them (-1 for none). The GIL is released; no Python string is made."""

    def tokenize(self, head: str) -> tuple[str, ...] | None:
        """``tokens.tokenize(head)``, or None."""


class WordTable(Protocol):
    """Words with an integer value each, for :meth:`TextAnalyser.look_up_many`."""

    def __len__(self) -> int:
        """How many words."""


class Screen(Protocol):
    """A necessary condition for a pattern to match, checked before the pattern runs."""

    def may_match(self, text: str) -> bool | None:
        """False when the pattern cannot match ``text``; None when left to Python."""


class PiiScreen(Screen, Protocol):
    """The PII screen, which also says where in a text the patterns may match."""

    def segments(self, text: str) -> list[tuple[int, int, bool]] | None:
        """``(start, end, has_digit)`` runs of ``text`` where the PII patterns may match
        (every match lies inside one); ``[]`` when none can; None when left to Python."""


class Groundedness(Protocol):
    """The core's ``LexicalGroundedness`` scoring, with its own passage cache."""

    def score(self, answer: str, contexts: Sequence[str]) -> float | None:
        """``LexicalGroundedness()(answer, contexts)``, or None when left to Python."""


class ConsistencyIndex(Protocol):
    """The core's ``EquivalenceIndex`` with ``ConsistencyDrift``'s answer scoring."""

    def observe(
        self,
        question: tuple[int, Sketch, int],
        answer: tuple[Sketch, int],
        answers_per_group: int,
    ) -> float | None:
        """Group the input by its ``(words_digest, content_sketch, guard_digest)``, score
        the ``(content_sketch, numbers hash)`` of the answer against the group's earlier
        answers (None without any), and keep it among them if there is room."""

    def observe_many(
        self,
        questions: Sequence[tuple[int, Sketch, int]],
        answers: Sequence[tuple[Sketch, int]],
        answers_per_group: int,
    ) -> list[float | None]:
        """``observe`` of each (question, answer) pair in turn, in one call (the index
        work runs without the GIL)."""

    def state(self) -> Any:
        """``EquivalenceIndex.state()`` of what the core learned."""

    def restore(self, *state: Any) -> None:
        """Replace what the core learned with an ``EquivalenceIndex.state()``."""


#: What :meth:`CusumCore.cusum_steps` returns: where it stopped, the change if the last
#: value it processed raised an alarm (else ""), the CUSUM's ``n``, ``upper`` and ``lower``,
#: ``(z, z_mid)`` of the last value it processed (None if none), the stratum's ``seen``, the
#: reference's total.
CusumProgress = tuple[int, str, int, float, float, tuple[float, float] | None, int, int]


class CusumCore(Protocol):
    """The core's loop of ``SelfStartingCusum.update_many`` over a stratum whose reference is
    binned (``native/src/cusum.rs``): an internal of
    :mod:`~watchkeeper.detectors.change.rank_cusum`, which hands it its state."""

    def cusum_steps(
        self,
        values: list[Any],
        strata: list[Any] | None,
        start: int,
        z_mids: list[float],
        *,
        cusum: tuple[int, float, float, float, float, float, str],
        stratum: tuple[object, int, float, tuple[float, float, float, float, float] | None],
        bins: tuple[list[float], list[int], list[int], list[int], int],
        draw: Callable[[], float] | None,
    ) -> CusumProgress:
        """``update`` for ``values[start:]`` while it needs nothing rare (appending their
        ``z_mid`` to ``z_mids``, updating the bins' counts in place)."""

    def cell_scores(
        self, lows: Sequence[float], highs: Sequence[float]
    ) -> tuple[list[float], list[float]]:
        """``z_mid`` and the expected normal score of each cell ``(lows[i], highs[i])``."""


def cusum_core() -> CusumCore | None:
    """The compiled module when it has the CUSUM loop, else None (without the core, or with
    a core built before it). Taken from ``_core`` itself: the loop is not public API."""
    if CORE is None:
        return None
    compiled = importlib.import_module("watchkeeper.native._core")
    if not hasattr(compiled, "cusum_steps"):
        return None
    return cast("CusumCore", compiled)


def consistency_index(
    max_groups: int, threshold: float, sketch_size: int, index_keys: int, state: Any
) -> ConsistencyIndex | None:
    """The core's equivalence index with these parameters and ``state``, or None (without
    the core, or for parameters only the Python code handles)."""
    if CORE is None or max_groups < 1 or index_keys < 1:
        return None
    index: ConsistencyIndex = CORE.ConsistencyIndex(max_groups, threshold, sketch_size, index_keys)
    index.restore(*state)
    return index


def groundedness(
    stopwords: Set[str], max_context_chars: int, cache_size: int
) -> Groundedness | None:
    """The core's groundedness scorer for these settings, or None without the core."""
    if CORE is None:
        return None
    scorer: Groundedness = CORE.Groundedness(stopwords, max_context_chars, cache_size)
    return scorer


def text_analyser(
    stopwords: Set[str], function_words: Mapping[str, Sequence[str]], sketch_size: int
) -> TextAnalyser | None:
    """The core's text analyser for these word lists, or None without the core."""
    if CORE is None:
        return None
    analyser: TextAnalyser = CORE.TextAnalyser(stopwords, function_words, sketch_size)
    return analyser


def word_table(values: Mapping[str, int]) -> WordTable | None:
    """A table of these words and values for ``look_up_many``, or None without a core
    that has one."""
    make = getattr(CORE, "WordTable", None)
    if make is None:
        return None
    table: WordTable = make(dict(values))
    return table


def needle_screen(needles: Sequence[str]) -> Screen | None:
    """Screen ``any(needle in text.lower() for needle in needles)``, or None without the core."""
    if CORE is None:
        return None
    screen: Screen = CORE.NeedleScreen(list(needles))
    return screen


def injection_screen(needles: Sequence[str], payload: int) -> Screen | None:
    """The prompt-injection screen (needles, system roles, base64 payloads), or None."""
    if CORE is None:
        return None
    screen: Screen = CORE.InjectionScreen(list(needles), payload)
    return screen


def pii_screen() -> PiiScreen | None:
    """The PII screen (an ``@`` or a long run of digits), or None without the core."""
    if CORE is None:
        return None
    screen: PiiScreen = CORE.PiiScreen()
    return screen
