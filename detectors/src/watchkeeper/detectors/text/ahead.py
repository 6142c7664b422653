"""Verdicts found ahead of the detectors, on the thread of :class:`~.prefetch.TextPrefetch`.

A detector's screen (the compiled core's quick test before its patterns run, see
:mod:`~watchkeeper.detectors.native_core`) reads bytes only, so a list of texts can be
screened with the GIL released. A detector registers its screen here (:func:`register`);
the prefetch runs it on the run's inputs or outputs and keeps the verdicts by text
(:func:`remember`), and the detector reads them (:func:`held`) instead of screening again.
A detector instance's word table (an :class:`AheadLookup`: its vocabulary, its topic
keywords), handed over by ``Detector.ahead_lookups``, is looked up in the inputs the same
way and its counts kept under the table's key.

A verdict is what the screen or the table gives for the text, so results are the same
whether it was found ahead or not. Texts the core leaves to Python get no verdict: the
detector finds none held and runs its own code. :func:`forget` (with
``tokens.forget_texts``) drops them all.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from watchkeeper.detectors import native_core


@dataclass(frozen=True)
class AheadScreen:
    """A detector's screen, to run ahead on the inputs or the outputs of the calls."""

    #: Name of the detector that reads the verdicts (screens of detectors not configured
    #: are not run).
    detector: str
    side: Literal["input", "output"]
    #: Characters of each text the screen reads (the text is cut to them first).
    head: int
    screen: native_core.Screen[Any]
    #: What the verdicts are kept under (:func:`held`): the detector's name, or a key of
    #: its own for a detector's second screen.
    key: str = ""

    @property
    def held_as(self) -> str:
        """The name :func:`held` gives the verdicts under."""
        return self.key or self.detector


@dataclass(frozen=True)
class AheadLookup:
    """A word table to look up in the inputs of a run; its counts are kept under ``key``
    (:data:`~watchkeeper.detectors.native_core.WordCounts` per text)."""

    key: str
    table: native_core.WordTable


_LOOKUP_KEYS = itertools.count()
#: Whether word tables can be looked up ahead (with the compiled core): without, detectors
#: hand none over, rather than build a table's words each run to find that out.
CAN_LOOK_UP = native_core.AVAILABLE


def lookup(detector: str, values: Mapping[str, int]) -> AheadLookup | None:
    """A new table of ``values`` (word -> value) for ``detector``, under a key of its own
    (a table stands for the words it was made from: a detector whose words change makes a
    new one, so counts of the old one are never read); None without the compiled core."""
    table = native_core.word_table(values)
    if table is None:
        return None
    return AheadLookup(f"{detector}#{next(_LOOKUP_KEYS)}", table)


_SCREENS: dict[str, AheadScreen] = {}
#: Verdicts by detector (or lookup key), then by text.
_HELD: dict[str, dict[str, Any]] = {}
#: What :func:`held` gives for a name with no verdicts (read-only by its type: a plain
#: dict reads faster than a proxy, and these are read for every call).
_NONE_HELD: Mapping[str, Any] = {}


def register(
    detector: str,
    side: Literal["input", "output"],
    head: int,
    screen: native_core.Screen[Any] | None,
    key: str = "",
) -> None:
    """Run ``detector``'s screen ahead from now on (replacing its earlier one under the
    same ``key``) on the first ``head`` characters of the calls' inputs or outputs, its
    verdicts kept under ``key`` (the detector's name when empty); nothing without a screen
    (the compiled core is not in use)."""
    if screen is not None:
        _SCREENS[key or detector] = AheadScreen(detector, side, head, screen, key)


def screens_for(detectors: Collection[str] | None) -> list[AheadScreen]:
    """The registered screens of these detectors (None: of every detector)."""
    return [s for s in _SCREENS.values() if detectors is None or s.detector in detectors]


def remember_held(name: str, verdicts: dict[str, Any]) -> None:
    """Keep ``verdicts`` (by text, from the thread analysing texts ahead, which hands the
    dict over) under ``name`` until :func:`forget`."""
    held = _HELD.get(name)
    if held is None:
        _HELD[name] = verdicts
    else:
        held.update(verdicts)


def held(name: str) -> Mapping[str, Any]:
    """The verdicts of ``name``'s screen (or lookup) found ahead, by text."""
    return _HELD.get(name, _NONE_HELD)


def held_for(lookup: tuple[object, AheadLookup] | None, table: object) -> Mapping[str, Any]:
    """What ``lookup`` (a detector's table and its :class:`AheadLookup`) found ahead, by
    text, while ``table`` is still the table it looks up; nothing once the table changed."""
    if lookup is None or lookup[0] is not table:
        return _NONE_HELD
    return held(lookup[1].key)


def forget() -> None:
    """Drop every verdict (with the text memo: ``tokens.forget_texts``)."""
    _HELD.clear()
