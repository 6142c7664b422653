"""Signal values of many traces turned into a column per signal.

The stage gets one ``{signal: value}`` dict per trace, turn or session, and feeds each
signal's values to its detector and to its score column. Read value by value, that is a
dict look-up and an append per value; traces of one batch mostly carry the same signals
in the same order (the same code computed them), so they are taken a *shape* (the tuple of
their names) at a time and turned round with ``zip``.

>>> columns = value_columns([{"a": 1.0, "b": 2.0}, {"b": 3.0}, {"a": 4.0, "b": 5.0}])
>>> columns["a"], columns["b"]
(([0, 2], [1.0, 4.0]), ([0, 1, 2], [2.0, 3.0, 5.0]))
>>> value_columns([{"a": float("nan")}, {"a": 1.0}], finite=True)["a"]
([1], [1.0])
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

#: Per signal: the items (their index in the list given) that have a value, and the values.
Column = tuple[list[int], list[float]]


def value_columns(
    items: Sequence[Mapping[str, float]], *, finite: bool = False
) -> dict[str, Column]:
    """Each signal's values across ``items``, in item order (with ``finite``, only the
    finite ones); signals in the order they first appear."""
    shapes: dict[tuple[str, ...], list[int]] = {}
    for at, values in enumerate(items):
        shape = tuple(values)
        members = shapes.get(shape)
        if members is None:
            shapes[shape] = [at]
        else:
            members.append(at)
    pieces: dict[str, list[tuple[list[int], tuple[float, ...]]]] = {}
    for shape, members in shapes.items():
        turned = zip(*[items[at].values() for at in members], strict=True)
        for name, column in zip(shape, turned, strict=True):
            pieces.setdefault(name, []).append((members, column))
    return {name: _joined(parts, finite) for name, parts in pieces.items()}


def _joined(parts: list[tuple[list[int], tuple[float, ...]]], finite: bool) -> Column:
    """One signal's pieces (one per shape) as one column in item order."""
    if len(parts) == 1:
        members, column = parts[0]
        if not finite or all(map(math.isfinite, column)):
            return members, list(column)
        pairs = [(at, v) for at, v in zip(members, column, strict=True) if math.isfinite(v)]
    else:
        pairs = sorted(
            (at, v)
            for members, column in parts
            for at, v in zip(members, column, strict=True)
            if not finite or math.isfinite(v)
        )
    return [at for at, _ in pairs], [v for _, v in pairs]
