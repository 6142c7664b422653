"""Screens of the detectors run ahead on a run's texts, their verdicts kept per text.

A detector's screen (the compiled core's quick test before a pattern runs, see
:mod:`.native_core`) reads bytes only. Registered here, it is run by
:class:`~watchkeeper.detectors.text.prefetch.TextPrefetch` on a list of texts with the GIL
released, and the detector finds the verdict (:func:`verdict`) instead of running the
screen again. A verdict is what the screen returns for the text, so results are the same
with or without it.

A detector instance's word table (:class:`AheadLookup`: its vocabulary, its topic
keywords) is looked up the same way in the inputs of the runs of its key, which the
detector hands over with ``Detector.ahead_lookups``. A table stands for the words it was
made from: when those change the detector makes a new one, under a new key, so a verdict
of the old one is never read.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from watchkeeper.detectors.text import native_core

#: What :func:`verdict` returns for a text not screened ahead.
MISSING: Any = object()


@dataclass(frozen=True)
class AheadScreen:
    """A screen to run ahead on the inputs or the outputs of the calls."""

    #: Name of the detector that reads the verdicts (screens of detectors not configured
    #: are not run).
    detector: str
    side: Literal["input", "output"]
    #: Characters of each text the screen reads (the text is cut to them first).
    head: int
    #: The screen of a list of texts, the GIL released (``*_many`` of a core screen).
    many: Callable[[list[str]], list[Any]]


@dataclass(frozen=True)
class AheadLookup:
    """A word table to look up in the inputs of a run; verdicts are kept under ``key``.

    A verdict is ``(words, found, best)``: the text's number of content words
    (``tokens.content_words``), how many are in the table, and the highest value among
    them (-1 for none); None for a text the core leaves to Python.
    """

    key: str
    table: native_core.WordTable


_LOOKUP_KEYS = itertools.count()
#: Whether the compiled core has word tables (without, detectors hand none over).
CAN_LOOK_UP = getattr(native_core.CORE, "WordTable", None) is not None


def lookup(detector: str, values: dict[str, int]) -> AheadLookup | None:
    """A new table of ``values`` (word -> value) for ``detector``, under a key of its own;
    None without a compiled core that has word tables."""
    table = native_core.word_table(values)
    if table is None:
        return None
    return AheadLookup(f"{detector}#{next(_LOOKUP_KEYS)}", table)


_SCREENS: dict[str, AheadScreen] = {}
# detector -> id(text) -> (text, verdict); the text is held so its id is not reused.
_VERDICTS: dict[str, dict[int, tuple[str, Any]]] = {}
_NONE_HELD: Mapping[int, tuple[str, Any]] = MappingProxyType({})


def register(
    detector: str,
    side: Literal["input", "output"],
    head: int,
    many: Callable[[list[str]], list[Any]] | None,
) -> None:
    """Run ``detector``'s screen ahead from now on (replacing its earlier one): ``many`` on
    the first ``head`` characters of the calls' inputs or outputs. ``many`` None (no
    compiled core, or one built before it had list screens) registers nothing."""
    if many is not None:
        _SCREENS[detector] = AheadScreen(detector, side, head, many)


def screens_for(detectors: Collection[str] | None) -> list[AheadScreen]:
    """The registered screens of these detectors (None: of every detector)."""
    return [s for name, s in _SCREENS.items() if detectors is None or name in detectors]


def remember(detector: str, texts: Sequence[str], verdicts: Sequence[Any]) -> None:
    """Keep the verdicts of ``detector``'s screen (or of a lookup, under its key) on
    ``texts`` until :func:`forget`."""
    held = _VERDICTS.setdefault(detector, {})
    for text, found in zip(texts, verdicts, strict=True):
        held[id(text)] = (text, found)


def held(detector: str) -> Mapping[int, tuple[str, Any]]:
    """Every verdict held for ``detector``: ``id(text) -> (text, verdict)`` (check that the
    text is the one in hand: ids are reused). For a loop over many texts, where
    :func:`verdict` per text would cost a call each."""
    return _VERDICTS.get(detector, _NONE_HELD)


def verdict(detector: str, text: str) -> Any:
    """The verdict of ``detector``'s screen (or of a lookup, by its key) on ``text`` if it
    ran ahead, else ``MISSING``."""
    held = _VERDICTS.get(detector)
    if held is None:
        return MISSING
    found = held.get(id(text))
    if found is None or found[0] is not text:
        return MISSING
    return found[1]


def forget() -> None:
    """Drop every verdict (with the text memo: ``tokens.forget_texts``)."""
    _VERDICTS.clear()
