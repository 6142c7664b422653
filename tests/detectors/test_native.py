"""The compiled core (``watchkeeper-native``) gives exactly the results of the Python code.

Each check runs the public functions twice on the same texts, once with the core and once
with it switched off in-process, and compares real outputs: the chatterbot corpus in every
language it ships, production-length (500-character) mixed texts, and a seeded fuzz of a
few thousand strings (ASCII, punctuation-heavy, mixed scripts, NUL and control characters,
lone surrogates, very long ones). The detectors as a whole are compared with a process run
with ``WATCHKEEPER_NATIVE=0``, which is also how to run this suite on the Python code
alone (the core's own checks are then skipped, the rest must pass as they are).
"""

from __future__ import annotations

import json
import math
import os
import pickle
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.detectors import native_parity
from watchkeeper.detectors import Call, ConsistencyDrift, native_core
from watchkeeper.detectors.consistency.equivalence import EquivalenceIndex
from watchkeeper.detectors.consistency.native_index import NativeEquivalenceIndex
from watchkeeper.detectors.faithfulness.groundedness import LexicalGroundedness
from watchkeeper.detectors.operational import refusal_rate
from watchkeeper.detectors.safety import pii, prompt_injection
from watchkeeper.detectors.text import tokens
from watchkeeper.detectors.text.language import language
from watchkeeper.detectors.text.tokens import (
    MAX_CHARS,
    SKETCH_SIZE,
    content_sketch,
    content_words,
    entities,
    guard_digest,
    numbers,
    numbers_hash,
    words_digest,
)

SWITCHED_OFF = os.environ.get(native_core.SWITCH, "1").strip() == "0"
needs_core = pytest.mark.skipif(SWITCHED_OFF, reason="WATCHKEEPER_NATIVE=0: Python alone")
ROOT = Path(__file__).resolve().parents[2]

# --- corpora ----------------------------------------------------------------------------------
_SEEDS = (
    "system", "System:", "## system", "<|im_start|>", "[INST]", "ignore", "Ignore all previous",
    "prompt", "you are now", "act as", "Paris", "ACME", "GPT-4o", "Maria", "The", "It", "1,200",
    "1,200.50", "3.5", "12,345,678", "1234,567", "0.5.1", "it's", "don't", "it\u2019s",
    "refunds", "class", "status", "a.b", "e.g.", "U.S.", "ana@example.com", "@app.route",
    "4111 1111 1111 1111", "+1 415-555-0100", "(415) 555-0100", "GB82 WEST 1234 5698 7654 32",
    "078-05-1120", "192.168.0.1", "I'm sorry", "i can\u2019t", "As an AI", "against my policy",
    "jailbreak", "without any restrictions", "QUJD" * 40, "_", "-", "--x", "x_y", "\u00b2",
)  # fmt: skip
_ALPHABETS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,'!?:;-_@#()[]<>|/+=\n\t",
    " .,'\u2019\"\u201c\u201d\u2018\u2013\u2014\u2026\u2022\u2192\u00b7\u00ab\u00bb\u00a0"
    "\u2500\u2502\u251c\u2514@#:;!?()-_/+0123456789aAbBsSiIuU",
    "a\u00e9 \u00dfI\u0130\u212aK\u00b2\u0661\u0416\u4e2d\u304b\u30fc-.,'\u2019 0123\u0085\u2028",
    "\x00\x01\x1c\x1d\x1e\x1f\t\n\r\x0b\x0c a1.A:",
)


def fuzz_texts(n: int = 3000, seed: int = 20_260_611) -> list[str]:
    """``n`` random strings: pieces of seed words and characters from one of the alphabets,
    a lone surrogate now and then, and a few thousand characters long one time in fifty."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        alphabet = rng.choice(_ALPHABETS)
        pieces = []
        length = rng.randint(5000, 9000) if rng.random() < 0.02 else rng.randint(0, 300)
        while sum(map(len, pieces)) < length:
            roll = rng.random()
            if roll < 0.35:
                pieces.append(rng.choice(_SEEDS))
            elif roll < 0.4:
                pieces.append("\ud800")
            else:
                pieces.append("".join(rng.choices(alphabet, k=rng.randint(1, 12))))
            pieces.append(rng.choice(" ,. \n-'" if rng.random() < 0.7 else "\u2019\u2014"))
        texts.append("".join(pieces))
    return texts


def chatterbot_texts() -> list[str]:
    """Every prompt and answer of the corpus, in every language it ships."""
    from chatterbot_corpus.corpus import DATA_DIRECTORY

    from tests.support.workload import conversations

    found = []
    for folder in sorted(Path(DATA_DIRECTORY).iterdir()):
        if folder.is_dir():
            for conversation in conversations(folder.name):
                found += [conversation.prompt, *conversation.answers]
    return found


def production_texts(n: int = 400) -> list[str]:
    """Prompts and answers of the collector benchmark's 500-character calls."""
    from tests.support.otlp_messages import texts as _texts

    return [text for i in range(n) for text in _texts(i)]


CORPORA = {"chatterbot": chatterbot_texts, "production": production_texts, "fuzz": fuzz_texts}


# --- switching the core off in-process --------------------------------------------------------
@contextmanager
def python_only() -> Iterator[None]:
    """The module-level functions without the core (its objects are put back afterwards)."""
    saved = (
        tokens._ANALYSER,
        prompt_injection._CORE_SCREEN,
        pii._CORE_SCREEN,
        refusal_rate._CORE_SCREEN,
    )
    tokens._ANALYSER = None
    prompt_injection._CORE_SCREEN = pii._CORE_SCREEN = refusal_rate._CORE_SCREEN = None
    tokens._FACTS.clear()
    try:
        yield
    finally:
        (
            tokens._ANALYSER,
            prompt_injection._CORE_SCREEN,
            pii._CORE_SCREEN,
            refusal_rate._CORE_SCREEN,
        ) = saved
        tokens._FACTS.clear()


def facts(text: str) -> tuple[object, ...]:
    """Everything the detectors read about a text through the memo, and the safety checks."""
    return (
        words_digest(text),
        content_words(text),
        content_sketch(text, SKETCH_SIZE),
        content_sketch(text, 4),
        numbers(text),
        numbers_hash(text),
        entities(text),
        language(text),
        guard_digest(text),
        prompt_injection.injection_risk(text),
        pii.find_pii(text),
        refusal_rate.is_refusal(text),
    )


def facts_words_first(text: str) -> tuple[object, ...]:
    """The same, asking for the content words first (the core then makes them at once)."""
    found = content_words(text)
    return (found, *facts(text))


def mismatches(texts: list[str], compute: Callable[[str], Any]) -> list[tuple[str, Any, Any]]:
    """Texts where ``compute`` differs with and without the core (at most five shown)."""
    tokens._FACTS.clear()
    native = [compute(text) for text in texts]
    with python_only():
        python = [compute(text) for text in texts]
    return [(t, n, p) for t, n, p in zip(texts, native, python, strict=True) if n != p][:5]


# --- tests ------------------------------------------------------------------------------------
def test_the_core_is_installed_unless_switched_off() -> None:
    """``make install`` builds the core; a broken build must not silently test Python twice."""
    if SWITCHED_OFF:
        assert not native_core.AVAILABLE
    else:
        assert native_core.AVAILABLE, "pip install ./native (needs cargo on PATH)"


@needs_core
@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_facts_and_screens_equal_the_python_code(corpus: str) -> None:
    """Memoised facts, injection risk, PII and refusals: the same with and without the core."""
    texts = CORPORA[corpus]()
    assert mismatches(texts, facts) == []
    assert mismatches(texts, facts_words_first) == []


@needs_core
@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_the_core_handles_most_traffic_and_declines_the_rest(corpus: str) -> None:
    """Not vacuous: the core analyses the texts it accepts (all of the production ones),
    tokenizes them as the Python code does, and declines letters beyond ASCII and surrogates.
    """
    analyser = tokens._ANALYSER
    assert analyser is not None
    texts = CORPORA[corpus]()
    handled = 0
    for text in texts:
        head = text[:MAX_CHARS]
        found = analyser.analyse(head)
        tokenized = analyser.tokenize(head)
        assert (found is None) == (tokenized is None)
        if found is None:
            assert not head.isascii() or "\ud800" in head
            continue
        handled += 1
        assert tokenized == tokens.tokenize(text), text
    share = handled / len(texts)
    assert share == 1.0 if corpus == "production" else share > 0.3


@needs_core
@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_screens_equal_the_python_screens(corpus: str) -> None:
    """Each screen says exactly what the Python screen says wherever it does not decline."""
    texts = CORPORA[corpus]()
    injection, personal, refusal = (
        prompt_injection._CORE_SCREEN,
        pii._CORE_SCREEN,
        refusal_rate._CORE_SCREEN,
    )
    assert injection is not None
    assert personal is not None
    assert refusal is not None
    passed = 0
    for text in texts:
        head = text[:MAX_CHARS]
        found = injection.one(head)
        if found is not None:
            assert found == prompt_injection._may_match(head.lower()), head
            passed += found
        pairs = personal.one(head)
        if pairs is not None:
            assert bool(pairs) <= pii._may_hold_pii(head), head
            passed += bool(pairs)
        start = text[:300]
        found = refusal.one(start)
        if found is not None:
            assert found == any(needed in start.lower() for needed in refusal_rate._NEEDS)
            passed += found
    assert passed > 0 or corpus == "production"


def rag_cases(corpus: str) -> list[tuple[str, list[str]]]:
    """(answer, contexts) pairs: the benchmark's RAG calls, or fuzz texts as both."""
    from tests.support import workload

    if corpus == "fuzz":
        texts = fuzz_texts(1500, seed=7)
        rng = random.Random(7)
        return [(t, rng.sample(texts, rng.randint(0, 3)) + [""] * rng.randint(0, 1)) for t in texts]
    calls = workload.realistic(3000) if corpus == "chatterbot" else workload.production(1500)
    return [(c.output_text, list(c.contexts)) for c in calls if c.contexts]


@needs_core
@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_groundedness_equals_the_python_scorer(corpus: str) -> None:
    """``LexicalGroundedness`` scores every answer the same with and without the core (NaN
    where Python gives NaN), passages cut and cached alike, and handles most real calls."""
    cases = rag_cases(corpus)
    native, python = LexicalGroundedness(cache_size=64), LexicalGroundedness(cache_size=64)
    python._native = None
    assert native._native is not None
    handled = 0
    for answer, contexts in cases:
        here, there = native(answer, contexts), python(answer, contexts)
        assert repr(here) == repr(there), (answer, contexts)
        handled += native._native.score(answer[:MAX_CHARS], contexts) is not None
    # Fuzz texts mostly hold a character beyond the accepted ones, in the answer or a context.
    assert handled == len(cases) if corpus == "production" else handled > 0.05 * len(cases)


@needs_core
@pytest.mark.parametrize("corpus", ["chatterbot", "production"])
@pytest.mark.parametrize("max_groups", [500, 40])
def test_consistency_index_equals_the_python_index(corpus: str, max_groups: int) -> None:
    """``ConsistencyDrift`` with the core's index gives the same scores and ends with the
    same groups, keys, answers and counters as with the Python index, through a pickle
    round trip halfway (checkpoints hold the Python index) and with groups evicted."""
    from tests.support import workload

    calls = workload.realistic(4000, seed=3) if corpus == "chatterbot" else production_calls()

    def run(native: bool) -> tuple[list[str], object]:
        detector = ConsistencyDrift(max_groups=max_groups)
        assert isinstance(detector._index, NativeEquivalenceIndex)
        if not native:
            detector._index = detector.index
        seen = []
        for i, call in enumerate(calls):
            if i == len(calls) // 2:
                assert isinstance(detector.__getstate__()["_index"], EquivalenceIndex)
                detector = pickle.loads(pickle.dumps(detector))
                if not native:
                    detector._index = detector.index
            detector.update(call)
            seen.append(repr((detector.scores, detector.drift_detected)))
        index = detector.index
        state = index.state()
        return seen, (state[0], sorted(map(repr, state[1])), state[2:], len(index), index.evicted)

    native, python = run(True), run(False)
    assert native[0] == python[0]
    assert native[1] == python[1]
    assert sum("'consistency'" in row for row in native[0]) > 100


@needs_core
def test_consistency_batches_equal_the_python_index() -> None:
    """``update_many`` hands a batch to the core's index in one call (``observe_many``):
    the same scores, coverage and alarms as the Python index, errors skipped."""
    calls = production_calls()
    for call in calls[::29]:
        call.is_error = True

    scored = 0

    def run(native: bool) -> list[str]:
        nonlocal scored
        detector = ConsistencyDrift(max_groups=60)
        if not native:
            detector._index = detector.index
        out = []
        for start in range(0, len(calls), 300):
            batch = detector.update_many(calls[start : start + 300])
            out.append(repr((batch.scores, batch.alarms, detector.scores, detector.coverage)))
            scored += sum(not math.isnan(score) for score in batch.scores["consistency"])
        return out

    assert run(True) == run(False)
    assert scored > 200


def production_calls() -> list[Call]:
    """The parity stream's production-length calls (other languages mixed in)."""
    return native_parity.stream(2500)


def test_detectors_report_the_same_without_the_core() -> None:
    """Every score, alarm and reason of the default detectors on 3,000 production-length
    calls (some in other languages and scripts) is the same in a process run with
    ``WATCHKEEPER_NATIVE=0``."""
    here = native_parity.run_stream()
    env = {**os.environ, native_core.SWITCH: "0"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.detectors.native_parity"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    )
    there = json.loads(done.stdout)
    assert there["native"] is False
    assert here["native"] is not SWITCHED_OFF
    assert len(here["seen"]) > 30_000  # type: ignore[arg-type]
    assert here["seen"] == there["seen"]
