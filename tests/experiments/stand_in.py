"""Deterministic stand-in models for the experiment and red-team tests.

``answer`` knows every case of :data:`KNOWLEDGE`; ``worse`` fails the
:data:`PLANTED` questions (a candidate that regressed there); the others fail in
the ways a real target can (raise, hang, return no string).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

KNOWLEDGE = {
    "What is the capital of France?": ("Paris", "France's capital is Paris."),
    "What is the capital of Japan?": ("Tokyo", "Tokyo is the capital of Japan."),
    "What is the capital of Italy?": ("Rome", "Rome is the capital of Italy."),
    "What is the capital of Spain?": ("Madrid", "Madrid is the capital of Spain."),
    "What is the capital of Canada?": ("Ottawa", "Ottawa is the capital of Canada."),
    "What is the capital of Kenya?": ("Nairobi", "Nairobi is the capital of Kenya."),
    "What is the capital of Peru?": ("Lima", "Lima is the capital of Peru."),
    "What is the capital of Norway?": ("Oslo", "Oslo is the capital of Norway."),
    "What is the capital of Egypt?": ("Cairo", "Cairo is the capital of Egypt."),
    "What is the capital of Chile?": ("Santiago", "Santiago is the capital of Chile."),
    "How many legs does a spider have?": ("Eight", "A spider has eight legs."),
    "How many days are in a leap year?": ("366", "A leap year has 366 days."),
    "What gas do plants absorb?": ("Carbon dioxide", "Plants absorb carbon dioxide."),
    "What is the boiling point of water in Celsius?": ("100", "Water boils at 100 degrees."),
    "Who wrote Hamlet?": ("William Shakespeare", "Hamlet was written by Shakespeare."),
    "What is the largest planet?": ("Jupiter", "Jupiter is the largest planet."),
    "What is the chemical symbol for gold?": ("Au", "The chemical symbol for gold is Au."),
    "How many continents are there?": ("Seven", "There are seven continents."),
    "What is the freezing point of water in Celsius?": ("0", "Water freezes at 0 degrees."),
    "What colour is the sky on a clear day?": ("Blue", "The clear daytime sky is blue."),
}
PLANTED = frozenset(list(KNOWLEDGE)[:8])


def write_evalset(path: Path, *, with_context: bool = True) -> Path:
    """The evalset of :data:`KNOWLEDGE` as ``watchkeeper evalset export`` writes it."""
    with path.open("w", encoding="utf-8") as out:
        for number, (question, (answer, context)) in enumerate(KNOWLEDGE.items()):
            row = {
                "id": f"case-{number:02d}",
                "input": question,
                "actual_output": answer,
                "expected_output": answer,
                "retrieval_context": [context] if with_context else [],
                "verdict": "pass",
            }
            out.write(json.dumps(row) + "\n")
    return path


def answer(text: str) -> str:
    """The right answer to every known question."""
    return KNOWLEDGE.get(text, ("I don't know.", ""))[0]


def worse(text: str) -> str:
    """On the planted questions, refuses (every other one) or answers wrong and off the
    context; right elsewhere."""
    if text in PLANTED:
        if list(KNOWLEDGE).index(text) % 2 == 0:
            return "I'm sorry, but I cannot help with that."
        return "I believe the answer is Atlantis, a city under the sea."
    return answer(text)


async def async_answer(text: str) -> str:
    """:func:`answer` as a coroutine function."""
    return answer(text)


def raises(text: str) -> str:
    """Fails on the planted questions."""
    if text in PLANTED:
        raise ConnectionError("upstream model unavailable")
    return answer(text)


#: Set to let the hung calls of :func:`hangs` finish when a test ends.
RELEASE = threading.Event()


def hangs(text: str) -> str:
    """Never answers the planted questions (until :data:`RELEASE` is set)."""
    if text in PLANTED:
        RELEASE.wait(60)
    return answer(text)


def not_text(text: str) -> object:
    """Returns a dict (a raw API response) for the planted questions."""
    if text in PLANTED:
        return {"content": answer(text)}
    return answer(text)


#: Calls of :func:`counted` so far (to see which cases a resumed run asks again).
CALLS: list[str] = []


def counted(text: str) -> str:
    """:func:`answer`, recording each question asked."""
    CALLS.append(text)
    return answer(text)


def gated(text: str) -> str:
    """:func:`answer`, logging each question to the file ``WK_TEST_CALL_LOG`` names; from
    the 5th question on, only once the file ``WK_TEST_GATE`` names exists."""
    with Path(os.environ["WK_TEST_CALL_LOG"]).open("a", encoding="utf-8") as log:
        log.write(text + "\n")
    if list(KNOWLEDGE).index(text) >= 4:
        gate = Path(os.environ["WK_TEST_GATE"])
        while not gate.exists():
            time.sleep(0.02)
    return answer(text)


def judge(question: str, output: str, expected: str, contexts: list[str]) -> float:
    """A stand-in judge: correct when the expected answer appears in the output."""
    return float(expected.casefold() in output.casefold())


def reference_judge(messages: list[dict[str, str]]) -> str:
    """A stand-in for a judge model, as a judge of the settings calls it (``provider =
    "callable"``): score 5 when the answer holds the reference answer, else 1."""
    prompt = messages[-1]["content"]
    reference = prompt.split("Reference answer: ", 1)[1].split("\n", 1)[0]
    answer_text = prompt.split("<answer>", 1)[1].split("</answer>", 1)[0]
    score = 5 if reference.casefold() in answer_text.casefold() else 1
    return json.dumps({"reason": "compared with the reference", "score": score})
