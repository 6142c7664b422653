"""Checked by mypy in test_typing.py: decorated callables keep their own signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, assert_type

from watchkeeper.sdk import observe


@observe
def bare(question: str, *, temperature: float = 0.0) -> str:
    return question


@observe(model="m", provider="p")
def with_options(question: str) -> int:
    return len(question)


@observe
async def coroutine(question: str) -> str:
    return question


@observe(model="m")
def stream(question: str) -> Iterator[str]:
    yield question


@observe
async def astream(question: str) -> AsyncIterator[str]:
    yield question


class Bot:
    @observe
    def answer(self, question: str) -> str:
        return question


if TYPE_CHECKING:  # checked by mypy, never run (pytest imports this module)
    assert_type(bare("q", temperature=0.5), str)
    assert_type(with_options("q"), int)

    async def awaited() -> None:
        assert_type(await coroutine("q"), str)

    assert_type(stream("q"), Iterator[str])
    assert_type(astream("q"), AsyncIterator[str])
    assert_type(Bot().answer("q"), str)
    bare(42)  # type: ignore[arg-type]  # must stay an error: the signature is the function's
    with_options("q", "extra")  # type: ignore[call-arg]
