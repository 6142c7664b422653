"""A run of calls with the per-call columns several detectors read, each made once."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Generic, TypeVar

from watchkeeper.detectors.base import CallView

#: The type of the calls of a run (the collector's records, or :class:`~.call.Call`).
CallT = TypeVar("CallT", bound=CallView)


class CallColumns:
    """Columns of a run of calls that several detectors read: each is made on first use
    and then shared, so a run's calls are not gone through once per detector for them.

    >>> from watchkeeper.detectors import Call
    >>> columns = CallColumns([Call("Hi", "Hello!"), Call("", is_error=True)])
    >>> columns.inputs, columns.outputs, columns.failed
    (['Hi', ''], ['Hello!', ''], [False, True])
    """

    def __init__(self, calls: Sequence[CallView]) -> None:
        self.calls = calls

    @cached_property
    def inputs(self) -> list[str]:
        """Each call's ``input_text`` ("" for none)."""
        return [call.input_text or "" for call in self.calls]

    @cached_property
    def outputs(self) -> list[str]:
        """Each call's ``output_text`` ("" for none)."""
        return [call.output_text or "" for call in self.calls]

    @cached_property
    def failed(self) -> list[bool]:
        """Each call's ``is_error``."""
        return [call.is_error for call in self.calls]


class CallRun(list[CallT], Generic[CallT]):
    """A run of a key's calls as the collector hands it to each of the key's detectors:
    the columns they share are made once for all of them (:func:`columns_of`). Read only
    once made: the columns are not remade when the list changes."""

    @cached_property
    def columns(self) -> CallColumns:
        """The run's shared columns (made on first use)."""
        return CallColumns(self)


def columns_of(calls: Sequence[CallView]) -> CallColumns:
    """The shared columns of a :class:`CallRun`, else columns of ``calls`` of their own.

    >>> from watchkeeper.detectors import Call
    >>> run = CallRun([Call("Hi")])
    >>> columns_of(run) is columns_of(run), columns_of(list(run)) is columns_of(run)
    (True, False)
    """
    return calls.columns if isinstance(calls, CallRun) else CallColumns(calls)
