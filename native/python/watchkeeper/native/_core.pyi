from collections.abc import Mapping, Sequence, Set
from typing import Any

class Analysis:
    @property
    def words_digest(self) -> int: ...
    @property
    def content_words(self) -> tuple[str, ...] | None: ...
    @property
    def sketch(self) -> tuple[int, ...]: ...
    @property
    def numbers(self) -> frozenset[str]: ...
    @property
    def language(self) -> str: ...
    @property
    def guard_digest(self) -> int: ...
    @property
    def numbers_hash(self) -> int: ...

class Question:
    def __init__(self, words_digest: int, sketch: Sequence[int], guard_digest: int) -> None: ...

class Answer:
    def __init__(self, sketch: Sequence[int], numbers_hash: int) -> None: ...

class TextAnalyser:
    def __init__(
        self,
        stopwords: Set[str],
        function_words: Mapping[str, Sequence[str]],
        sketch_size: int,
        max_words: int = 100_000,
    ) -> None: ...
    def analyse(self, head: str, with_words: bool = True) -> Analysis | None: ...
    def analyse_many(
        self, heads: Sequence[str], with_words: Sequence[bool]
    ) -> list[Analysis | None]: ...
    def content_words(self, head: str) -> tuple[str, ...] | None: ...
    def look_up_many(
        self, heads: Sequence[str], tables: Sequence[WordTable]
    ) -> list[list[tuple[int, int, int]] | None]: ...
    def analyse_looking_up(
        self, heads: Sequence[str], with_words: Sequence[bool], tables: Sequence[WordTable]
    ) -> tuple[list[Analysis | None], list[list[tuple[int, int, int]] | None]]: ...
    def analyse_ahead(
        self,
        inputs: Sequence[str],
        outputs: Sequence[str],
        max_chars: int,
        tables: Sequence[WordTable],
        screens: Sequence[tuple[object, bool, int]],
    ) -> tuple[
        list[Analysis | None],
        list[dict[str, tuple[int, int, int]]],
        list[dict[str, Any]],
    ]: ...
    def tokenize(self, head: str) -> tuple[str, ...] | None: ...

class WordTable:
    def __init__(self, values: Mapping[str, int]) -> None: ...
    def __len__(self) -> int: ...

class ConsistencyIndex:
    def __init__(
        self, max_groups: int, threshold: float, sketch_size: int, index_keys: int
    ) -> None: ...
    def observe(
        self, question: Analysis | Question, answer: Analysis | Answer, answers_per_group: int
    ) -> float | None: ...
    def observe_many(
        self,
        questions: list[Analysis | Question],
        answers: list[Analysis | Answer],
        answers_per_group: int,
    ) -> list[float | None]: ...
    def state(self) -> tuple[list[Any], list[tuple[Any, int]], int, int]: ...
    def restore(
        self, groups: list[Any], entries: list[tuple[Any, int]], next: int, evicted: int
    ) -> None: ...

class Groundedness:
    def __init__(self, stopwords: Set[str], max_context_chars: int, cache_size: int) -> None: ...
    def score(self, answer: str, contexts: Sequence[str]) -> float | None: ...

class ClaimScorer:
    def __init__(
        self,
        stopwords: Set[str],
        negations: Set[str],
        antonyms: Mapping[str, Sequence[str]],
        pleasantries: Set[str],
        max_context_chars: int,
        cache_size: int,
    ) -> None: ...
    def score(self, answer: str, contexts: Sequence[str]) -> float | None: ...

class NeedleScreen:
    def __init__(self, needles: Sequence[str]) -> None: ...
    def may_match(self, text: str) -> bool | None: ...
    def may_match_many(self, texts: Sequence[str]) -> list[bool | None]: ...

class InjectionFeatures:
    def __init__(
        self,
        numbers: Mapping[bytes, int],
        unknown: int,
        keys: Sequence[int],
        weights: Sequence[float],
    ) -> None: ...
    def totals(self, text: str, window: int) -> tuple[int, list[float]] | None: ...
    def token_totals(self, tokens: list[bytes], window: int) -> list[float]: ...

class InjectionScreen:
    def __init__(self, needles: Sequence[str], payload: int) -> None: ...
    def may_match(self, text: str) -> bool | None: ...
    def may_match_many(self, texts: Sequence[str]) -> list[bool | None]: ...

class PiiScreen:
    def __init__(self) -> None: ...
    def find(self, text: str) -> Sequence[tuple[str, str]] | None: ...
    def find_many(self, texts: Sequence[str]) -> list[Sequence[tuple[str, str]] | None]: ...

class TotalsScreen:
    def __init__(
        self,
        features: InjectionFeatures,
        window: int,
        max_chars: int,
        min_window: int,
        marks: tuple[InjectionFeatures, Mapping[str, str], bytes] | None = None,
    ) -> None: ...
    def best(self, text: str) -> float | None: ...
    def best_many(self, texts: Sequence[str]) -> list[float | None]: ...

#: (trace_id, span_id, parent_span_id, name, start_time_unix_nano, end_time_unix_nano,
#: status_code, status_message, attributes, is_feedback, events, span_bytes)
SpanTuple = tuple[
    bytes,
    bytes,
    bytes,
    str,
    int,
    int,
    int,
    str,
    dict[str, Any],
    bool,
    list[tuple[int, str, dict[str, Any]]],
    bytes,
]

def decode_traces(
    data: bytes, feedback_key: str
) -> list[tuple[dict[str, Any], list[SpanTuple]]] | None: ...
def decode_calls(
    data: bytes, feedback_key: str, now_ns: int, record: type[Any], span: type[Any] | None = None
) -> list[tuple[dict[str, Any], list[Any]]] | None: ...
def decode_run(
    payloads: list[Any],
    start: int,
    feedback_key: str,
    now_ns: int,
    record: type[Any],
    max_bytes: int,
) -> tuple[list[Any], int, int, list[tuple[dict[str, Any], list[Any]]] | None]: ...
def decode_trace_run(
    payloads: list[Any],
    start: int,
    feedback_key: str,
    now_ns: int,
    record: type[Any],
    span: type[Any],
    max_bytes: int,
    summaries: list[Any] | None = None,
    columns: list[Any] | None = None,
    summary: type[Any] | None = None,
) -> tuple[list[Any], list[Any], int, int, list[tuple[dict[str, Any], list[Any]]] | None]: ...
def record_columns(
    records: list[Any], fields: list[tuple[str, int]]
) -> list[list[bytes]] | None: ...
