"""The compiled core (``watchkeeper-native``), loaded once: the one module that meets it.

The detectors are written in Python, and the Python is the reference. Where the
distribution ``watchkeeper-native`` is installed (``pip install ./native``), some of their
hot parts run in its compiled core instead: the analysis of a text in one call (tokens,
content words, sketch, numbers, names, language), the screens in front of the
prompt-injection, PII and refusal patterns, the prompt-injection classifier's feature
sums, lexical and claim-by-claim groundedness, the consistency index, the CUSUM's loop over
binned values, and the collector's OTLP decoding.
Each core object mirrors one Python function or class, named in its protocol below, and
returns exactly what that returns, or None for input it does not handle (letters beyond
ASCII, lone surrogates), which the Python code then handles. Results never depend on
whether the core is installed: ``tests/golden`` and the parity tests hold both to the same
output, and the test suite runs in both configurations.

Every user takes its core object here once, when it is made (``None`` without the core),
and hands what the core declines to its own Python code. Nothing else imports
``watchkeeper.native``. Set ``WATCHKEEPER_NATIVE=0`` before the detectors are imported to
run the Python code alone (to compare, or to rule the core out when debugging).

>>> AVAILABLE in (True, False)
True
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, cast

#: Environment variable that, set to ``0``, keeps the compiled core unused.
SWITCH = "WATCHKEEPER_NATIVE"


def _load() -> Any | None:
    """``watchkeeper.native`` when it is installed and not switched off, else None."""
    if os.environ.get(SWITCH, "1").strip() == "0":
        return None
    try:
        # Imported by name: the type checker need not see the optional distribution.
        return importlib.import_module("watchkeeper.native")
    except ImportError:
        return None


_CORE = _load()
#: True when the compiled core is in use (installed, and not switched off).
AVAILABLE = _CORE is not None

Verdict = TypeVar("Verdict")


# --- text analysis (watchkeeper.detectors.text.tokens) ---------------------------------------
class TextAnalysis(Protocol):
    """What :meth:`TextAnalyser.analyse` finds in a text: the facts of ``tokens`` by name."""

    @property
    def words_digest(self) -> int:
        """``tokens.words_digest``."""

    @property
    def content_words(self) -> tuple[str, ...] | None:
        """``tokens.content_words`` (None unless asked for: they are Python strings)."""

    @property
    def sketch(self) -> tuple[int, ...]:
        """``tokens.content_sketch(text, SKETCH_SIZE)`` (made when read)."""

    @property
    def numbers(self) -> frozenset[str]:
        """``tokens.numbers``."""

    @property
    def language(self) -> str:
        """``language.language``."""

    @property
    def guard_digest(self) -> int:
        """``tokens.guard_digest``."""

    @property
    def numbers_hash(self) -> int:
        """``tokens.numbers_hash``."""


#: Per word table, for :meth:`TextAnalyser.look_up_many`: the number of
#: ``tokens.content_words`` of a text, how many are in the table, and the highest value
#: among those (-1 for none).
WordCounts = tuple[int, int, int]


class WordTable(Protocol):
    """Words with an integer value each (a vocabulary, topic keywords)."""

    def __len__(self) -> int:
        """How many words."""


class TextAnalyser(Protocol):
    """The core's analysis of a text's first ``tokens.MAX_CHARS`` characters, in one call."""

    def analyse(self, head: str, with_words: bool = True) -> TextAnalysis | None:
        """Everything :mod:`.text.tokens` and :mod:`.text.language` find in ``head``."""

    def analyse_many(
        self, heads: Sequence[str], with_words: Sequence[bool]
    ) -> list[TextAnalysis | None]:
        """``[analyse(h, w) for h, w in zip(heads, with_words)]``, the GIL released for
        all but making the results' Python objects (the word cache stays locked meanwhile:
        another thread analysing with the same analyser waits for the whole list)."""

    def content_words(self, head: str) -> tuple[str, ...] | None:
        """``tokens.content_words(head)``."""

    def look_up_many(
        self, heads: Sequence[str], tables: Sequence[WordTable]
    ) -> list[list[WordCounts] | None]:
        """Per head, per table, the :data:`WordCounts` of its content words, the GIL
        released (no Python string is made)."""

    def analyse_looking_up(
        self, heads: Sequence[str], with_words: Sequence[bool], tables: Sequence[WordTable]
    ) -> tuple[list[TextAnalysis | None], list[list[WordCounts] | None]]:
        """``analyse_many(heads, with_words)``, and per head analysed with its content
        words, ``look_up_many``'s counts for it, found in the same pass (None for the
        other heads)."""

    def analyse_ahead(
        self,
        inputs: Sequence[str],
        outputs: Sequence[str],
        max_chars: int,
        tables: Sequence[WordTable],
        screens: Sequence[tuple[object, bool, int]],
    ) -> tuple[list[TextAnalysis | None], list[dict[str, WordCounts]], list[dict[str, Any]]]:
        """A run's texts analysed (``analyse_looking_up`` of the inputs' and the outputs'
        first ``max_chars`` characters, the inputs with their content words), the counts per
        table as ``{input: counts}``, and per screen ``(Screen.core, reads the inputs,
        characters read)`` its verdicts as ``{text: verdict}``, the GIL released once for
        all; texts left to Python are not keys."""

    def tokenize(self, head: str) -> tuple[str, ...] | None:
        """``tokens.tokenize(head)``."""


def text_analyser(
    stopwords: Set[str], function_words: Mapping[str, Sequence[str]], sketch_size: int
) -> TextAnalyser | None:
    """The core's text analyser for these word lists, or None without the core."""
    if _CORE is None:
        return None
    return cast("TextAnalyser", _CORE.TextAnalyser(stopwords, function_words, sketch_size))


def word_table(values: Mapping[str, int]) -> WordTable | None:
    """A table of these words and values for ``look_up_many``, or None without the core."""
    if _CORE is None:
        return None
    return cast("WordTable", _CORE.WordTable(dict(values)))


# --- screens (the safety and refusal detectors) ----------------------------------------------
@dataclass(frozen=True)
class Screen(Generic[Verdict]):
    """A necessary condition for a detector's patterns to match a text, checked first."""

    #: The verdict on a text's head; None when left to Python.
    one: Callable[[str], Verdict | None]
    #: The verdict on each of a list of heads, the GIL released (it reads bytes only).
    many: Callable[[Sequence[str]], list[Verdict | None]]
    #: Gives the core's screen object for the texts at hand, which
    #: ``TextAnalyser.analyse_ahead`` runs with the analysis (None: the screen runs by
    #: :attr:`many`).
    core: Callable[[], object] | None = None


def needle_screen(needles: Sequence[str]) -> Screen[bool] | None:
    """``any(needle in head.lower() for needle in needles)``, or None without the core."""
    if _CORE is None:
        return None
    screen = _CORE.NeedleScreen(list(needles))
    return Screen(screen.may_match, screen.may_match_many, lambda: screen)


def injection_screen(needles: Sequence[str], payload: int) -> Screen[bool] | None:
    """``prompt_injection._may_match`` (needles, system roles, base64 payloads), or None."""
    if _CORE is None:
        return None
    screen = _CORE.InjectionScreen(list(needles), payload)
    return Screen(screen.may_match, screen.may_match_many, lambda: screen)


#: The PII in a text: ``(kind, value)`` in the order found (``find_pii``'s result, not yet
#: grouped by kind); empty for none (``()`` from ``analyse_ahead``).
PiiFound = Sequence[tuple[str, str]]


def pii_screen() -> Screen[PiiFound] | None:
    """``find_pii`` (its patterns, Luhn and IBAN checks), or None without the core."""
    if _CORE is None:
        return None
    screen = _CORE.PiiScreen()
    return Screen(screen.find, screen.find_many, lambda: screen)


# --- the prompt-injection classifier (safety.injection_features) -----------------------------
class InjectionFeatures(Protocol):
    """``FeatureLookup``'s keys and window totals of a text, in one call."""

    def totals(self, text: str, window: int) -> tuple[int, list[float]] | None:
        """The token count of ``text`` and ``FeatureLookup.window_totals`` of its
        ``windows(count, window)`` (``total`` of all its keys when it has one), or None
        beyond ASCII."""

    def token_totals(self, tokens: list[bytes], window: int) -> list[float]:
        """The window totals of tokens already cut (``token_bytes``), as :meth:`totals`."""


def injection_features(
    numbers: Mapping[bytes, int], unknown: int, keys: Sequence[int], weights: Sequence[float]
) -> InjectionFeatures | None:
    """The core's feature totals for these word numbers and sorted feature keys with their
    weights, or None without the core (or with a core built before it had them)."""
    made = getattr(_CORE, "InjectionFeatures", None)
    if made is None or not hasattr(made, "token_totals"):
        return None
    return cast("InjectionFeatures", made(dict(numbers), unknown, list(keys), list(weights)))


def totals_screen(
    features: InjectionFeatures,
    window: int,
    max_chars: int,
    min_window: int,
    marks: tuple[InjectionFeatures, Mapping[str, str], bytes] | None,
) -> Screen[float] | None:
    """``InjectionModel.scores``'s best window of a text of at most ``max_chars`` characters
    (its highest window total divided by the square root of its window's length, at least
    ``min_window``), read with ``features``; with ``marks`` = ``(marked, stand_ins, taken)``,
    a text beyond ASCII is written with ``stand_ins`` and totalled by ``marked``. None
    without a core that has it."""
    made = getattr(_CORE, "TotalsScreen", None)
    if made is None:
        return None
    screen = made(features, window, max_chars, min_window, marks)
    return Screen(screen.best, screen.best_many, lambda: screen)


# --- lexical groundedness (faithfulness.groundedness) ----------------------------------------
class Groundedness(Protocol):
    """``LexicalGroundedness`` scoring, with its own passage cache."""

    def score(self, answer: str, contexts: Sequence[str]) -> float | None:
        """``LexicalGroundedness()(answer, contexts)``, or None when left to Python."""


def groundedness(
    stopwords: Set[str], max_context_chars: int, cache_size: int
) -> Groundedness | None:
    """The core's groundedness scorer for these settings, or None without the core."""
    if _CORE is None:
        return None
    return cast("Groundedness", _CORE.Groundedness(stopwords, max_context_chars, cache_size))


# --- claim-by-claim groundedness (faithfulness.claims) ---------------------------------------
class ClaimScorer(Protocol):
    """``ClaimGroundedness`` scoring, with its own passage cache."""

    def score(self, answer: str, contexts: Sequence[str]) -> float | None:
        """``ClaimGroundedness()(answer, contexts)``, or None when left to Python."""


def claim_scorer(
    lexicon: ClaimLexicon, max_context_chars: int, cache_size: int
) -> ClaimScorer | None:
    """The core's claim scorer for these word lists and settings, or None without the core
    (or with a core built before it had one)."""
    made = getattr(_CORE, "ClaimScorer", None)
    if made is None:
        return None
    antonyms = {word: sorted(opposites) for word, opposites in lexicon.antonyms.items()}
    try:
        scorer = made(
            lexicon.stopwords,
            lexicon.negations,
            antonyms,
            lexicon.pleasantries,
            max_context_chars,
            cache_size,
            synonyms=[list(group) for group in lexicon.synonyms],
        )
    except TypeError:  # a core built before it read synonyms would score otherwise
        return None
    return cast("ClaimScorer", scorer)


@dataclass(frozen=True)
class ClaimLexicon:
    """The word lists ``ClaimGroundedness`` reads: stopwords, negations, antonyms (word ->
    its opposites), the content words of pleasantries and groups of synonyms."""

    stopwords: Set[str]
    negations: Set[str]
    antonyms: Mapping[str, Set[str]]
    pleasantries: Set[str]
    synonyms: Sequence[Sequence[str]] = ()


# --- the consistency index (consistency.equivalence) -----------------------------------------
class Question(Protocol):
    """An input as the index groups it, for a text the core did not analyse."""


class Answer(Protocol):
    """An answer as the index scores it, for a text the core did not analyse."""


class ConsistencyIndex(Protocol):
    """``EquivalenceIndex.observe``: the groups of equivalent inputs and their answers."""

    def observe(
        self,
        question: TextAnalysis | Question,
        answer: TextAnalysis | Answer,
        answers_per_group: int,
    ) -> float | None:
        """Group the input, score the answer against the group's first answers (None
        without any), and keep it among them if there is room."""

    def observe_many(
        self,
        questions: list[TextAnalysis | Question],
        answers: list[TextAnalysis | Answer],
        answers_per_group: int,
    ) -> list[float | None]:
        """``observe`` of each pair in turn, the index work without the GIL."""

    def state(self) -> tuple[list[Any], list[tuple[Any, int]], int, int]:
        """``EquivalenceIndex.state()`` of what the core learned."""

    def restore(
        self, groups: list[Any], entries: list[tuple[Any, int]], next: int, evicted: int
    ) -> None:
        """Replace what the core learned with an ``EquivalenceIndex.state()``."""


def consistency_index(
    max_groups: int, threshold: float, sketch_size: int, index_keys: int
) -> ConsistencyIndex | None:
    """The core's equivalence index with these parameters, or None (without the core, or
    for parameters only the Python code handles)."""
    if _CORE is None or max_groups < 1 or index_keys < 1:
        return None
    index = _CORE.ConsistencyIndex(max_groups, threshold, sketch_size, index_keys)
    return cast("ConsistencyIndex", index)


def question(words_digest: int, sketch: Sequence[int], guard_digest: int) -> Question:
    """An input's ``words_digest``, ``content_sketch`` and ``guard_digest``, for the index."""
    assert _CORE is not None, "only with the core's index"
    return cast("Question", _CORE.Question(words_digest, sketch, guard_digest))


def answer(sketch: Sequence[int], numbers_hash: int) -> Answer:
    """An answer's ``content_sketch`` and ``numbers_hash``, for the index."""
    assert _CORE is not None, "only with the core's index"
    return cast("Answer", _CORE.Answer(sketch, numbers_hash))


# --- the CUSUM's loop (change.rank_cusum) ----------------------------------------------------
class CusumState(NamedTuple):
    """A ``SelfStartingCusum``'s numbers, as the core's loop reads them."""

    n: int
    warmup: float
    upper: float
    lower: float
    threshold: float
    k: float
    direction: str


class CellIncrements(NamedTuple):
    """How a calibrated stratum's cells feed the CUSUM (``unit``, slopes and drifts)."""

    unit: float
    up_slope: float
    up_drift: float
    down_slope: float
    down_drift: float


class StratumState(NamedTuple):
    """A stratum, as the core's loop reads it."""

    key: object
    seen: int
    calibrate_at: float
    #: None while ties are broken at random.
    cells: CellIncrements | None


class BinnedReference(NamedTuple):
    """A binned ``SequentialRanks``: the core adds to ``counts`` in place."""

    edges: list[float]
    before: list[int]
    at: list[int]
    counts: list[int]
    total: int


class CusumProgress(NamedTuple):
    """How far the core's loop got, and the numbers it changed."""

    #: The first value it left to ``update`` (the number of values when it took all).
    stop: int
    #: ``up`` or ``down`` when the last value it processed raised an alarm, else None.
    change: str | None
    n: int
    upper: float
    lower: float
    #: ``(z, z_mid)`` of the last value it processed (None if none).
    last: tuple[float, float] | None
    #: The stratum's ``seen`` and the reference's total.
    seen: int
    total: int


class CusumCore(Protocol):
    """The loop of ``SelfStartingCusum.update_many`` over a stratum whose reference is
    binned (``native/src/cusum.rs``), and the cell scores it computes."""

    def cusum_steps(
        self,
        values: list[Any],
        strata: list[Any] | None,
        start: int,
        z_mids: list[float],
        *,
        cusum: CusumState,
        stratum: StratumState,
        bins: BinnedReference,
        draw: Callable[[], float] | None,
    ) -> tuple[Any, ...]:
        """``update`` for ``values[start:]`` while it needs nothing rare (appending their
        ``z_mid`` to ``z_mids``, updating ``bins.counts`` in place): a
        :class:`CusumProgress`'s fields."""

    def cell_scores(
        self, lows: Sequence[float], highs: Sequence[float]
    ) -> tuple[list[float], list[float]]:
        """``z_mid`` and the expected normal score of each cell ``(lows[i], highs[i])``."""


def cusum_core() -> CusumCore | None:
    """The core's CUSUM loop, or None without the core (not public API of the core: taken
    from its ``_core`` module)."""
    if _CORE is None:
        return None
    return cast("CusumCore", importlib.import_module("watchkeeper.native._core"))


# --- effect sizes (watchkeeper.detectors.effect.tracker) -------------------------------------
#: A shadow CUSUM's ``statistic``, ``n``, ``s1`` and ``s2``.
SideSums = tuple[float, int, float, float]
#: An ``EffectTracker``'s ``_anchor``, ``_n``, ``_s1`` and ``_s2``.
TrackerSums = tuple[float, int, float, float]


class EffectCore(Protocol):
    """``EffectTracker._extend`` over a run (``native/src/effect.rs``)."""

    def effect_extend(
        self,
        values: list[Any],
        start: int,
        stop: int,
        *,
        tracker: TrackerSums,
        sides: list[tuple[float, float, SideSums]],
        rates: list[tuple[float, float, SideSums]] | None,
        away: tuple[float, float, float, float] | None,
    ) -> (
        tuple[
            TrackerSums,
            list[SideSums],
            tuple[int, list[SideSums]] | None,
            tuple[float, bool] | None,
        ]
        | None
    ):
        """The tracker's sums, the shadow sides' (given as ``(sign, k, sums)``), the events
        and rate sides' (given as ``(event step, non-event step, sums)``; None once a value
        is not 0 or 1) and, while away (``(level, reference, band, weight)``), the level
        and whether it came back, after ``values[start:stop]``; None for a value it does
        not read as ``np.asarray`` would."""

    def page_run(
        self,
        values: list[Any],
        start: int,
        stop: int,
        *,
        steps: tuple[float, float],
        statistic: float,
        threshold: float,
    ) -> tuple[int, bool, int | None, int, int, float, int] | None:
        """``RatePageTest._run`` over ``values[start:stop]``: the finite values tested,
        whether the last crossed ``threshold``, the calls up to the statistic's last zero
        (None: none) and their events, the events tested, the statistic after the last
        one tested and its index from ``start``; None for a value it does not read as
        ``np.asarray`` would, or when no value is finite."""


def effect_core() -> EffectCore | None:
    """The core's tracker loop, or None without it (or with a core built before it)."""
    if _CORE is None:
        return None
    core = importlib.import_module("watchkeeper.native._core")
    return cast("EffectCore", core) if hasattr(core, "page_run") else None


# --- OTLP decoding (the collector's processors.native_decode) --------------------------------
class OtlpDecoder(Protocol):
    """The core's OTLP protobuf decoder and normaliser (see ``native_decode``)."""

    def decode_calls(
        self,
        data: bytes,
        feedback_key: str,
        now_ns: int,
        record: type[Any],
        span_row: type[Any] | None = None,
    ) -> list[Any] | None:
        """A request's resources and spans (the common ones as records; with
        ``span_row``, the rows of the spans that are not LLM calls), or None."""

    def decode_run(  # noqa: PLR0917 - the compiled function's own signature
        self,
        payloads: Sequence[object],
        start: int,
        feedback_key: str,
        now_ns: int,
        record: type[Any],
        max_bytes: int,
    ) -> tuple[list[Any], int, int, list[Any] | None]:
        """Payloads from ``start`` decoded for as long as each needs no Python."""

    def decode_trace_run(  # noqa: PLR0917 - the compiled function's own signature
        self,
        payloads: Sequence[object],
        start: int,
        feedback_key: str,
        now_ns: int,
        record: type[Any],
        span_row: type[Any],
        max_bytes: int,
        summaries: list[Any] | None = None,
        columns: list[Any] | None = None,
        summary: type[Any] | None = None,
    ) -> tuple[list[Any], list[Any], int, int, list[Any] | None]:
        """``decode_run`` that also makes the ``spans`` rows of the spans that are not LLM
        calls: ``(calls, rows, skipped, end, pending)``; with ``summaries``, appends to it
        the trajectory signals of each trace that came whole in a payload (the fields of
        ``traces.trace_summary.TraceSummary``, as a tuple or, given ``summary``, as that
        class); with ``columns`` too, those traces' rows go to it as Arrow column buffers
        (``store.span_columns``) instead of ``rows``."""

    def decode_traces(self, data: bytes, feedback_key: str) -> list[Any] | None:
        """Every span of a request as decoded values, none normalised, or None."""


def otlp_decoder() -> OtlpDecoder | None:
    """The core's OTLP decoder, or None without the core."""
    return cast("OtlpDecoder | None", _CORE)


# --- the store's columns (watchkeeper.collector.store.columns) -------------------------------


class RecordColumns(Protocol):
    """``columns._columns`` in one pass over the records (``native/src/columns.rs``)."""

    def __call__(
        self, records: Sequence[object], fields: Sequence[tuple[str, int]]
    ) -> list[list[bytes]] | None:
        """Per ``(attribute, kind)`` field, its column's Arrow buffers; or None when a
        value is one the Python code must convert."""


def record_columns() -> RecordColumns | None:
    """The core's builder of the store's columns, or None without it (or a core from
    before it)."""
    if _CORE is None:
        return None
    core = importlib.import_module("watchkeeper.native._core")
    return cast("RecordColumns | None", getattr(core, "record_columns", None))
