"""Screens of the detectors run ahead on a run's texts, their verdicts kept per text.

A detector's screen (the compiled core's quick test before a pattern runs, see
:mod:`.native_core`) reads bytes only. Registered here, it is run by
:class:`~watchkeeper.detectors.text.prefetch.TextPrefetch` on a list of texts with the GIL
released, and the detector finds the verdict (:func:`verdict`) instead of running the
screen again. A verdict is what the screen returns for the text, so results are the same
with or without it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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


_SCREENS: dict[str, AheadScreen] = {}
# detector -> id(text) -> (text, verdict); the text is held so its id is not reused.
_VERDICTS: dict[str, dict[int, tuple[str, Any]]] = {}


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
    """Keep the verdicts of ``detector``'s screen on ``texts`` until :func:`forget`."""
    held = _VERDICTS.setdefault(detector, {})
    for text, found in zip(texts, verdicts, strict=True):
        held[id(text)] = (text, found)


def verdict(detector: str, text: str) -> Any:
    """The verdict of ``detector``'s screen on ``text`` if it ran ahead, else ``MISSING``."""
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
