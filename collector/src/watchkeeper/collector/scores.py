"""A batch's detector scores, held as columns: one array per score over the batch's calls.

Every call gets about twenty scores. Held as a dict per call, each score cost a dict store
on the thread that feeds the detectors, and every reader (review routing, the
``call_scores`` rows, the score histogram) went through them one by one again. As columns,
the detectors' runs are copied in with one numpy assignment each, and the readers work a
column at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from watchkeeper.collector.record import CallRecord
from watchkeeper.detectors import HIGHER_IS_BETTER

Column = npt.NDArray[np.float64]


@dataclass
class BatchScores:
    """The scores of ``calls``: ``columns["<detector>.<score>"][i]`` is call ``i``'s score,
    NaN where it got none. Only finite scores are held (a NaN or infinite score is none)."""

    calls: Sequence[CallRecord] = ()
    columns: dict[str, Column] = field(default_factory=dict)

    @classmethod
    def of(
        cls, calls: Sequence[CallRecord], by_span: Mapping[str, Mapping[str, float]]
    ) -> BatchScores:
        """From ``span id -> {"<detector>.<score>": value}`` (calls not in it have none)."""
        columns: dict[str, Column] = {}
        for i, call in enumerate(calls):
            for name, value in by_span.get(call.span_id, {}).items():
                column = columns.get(name)
                if column is None:
                    column = columns[name] = np.full(len(calls), np.nan)
                column[i] = value
        out = cls(calls, columns)
        out.drop_non_finite()
        return out

    def drop_non_finite(self) -> None:
        """Make every infinite score NaN (none), in place."""
        for column in self.columns.values():
            column[np.isinf(column)] = np.nan

    def __bool__(self) -> bool:
        """True when some call has a score."""
        return any(not np.isnan(column).all() for column in self.columns.values())

    def matrix(self) -> tuple[list[str], npt.NDArray[np.float64]]:
        """The score names and the calls-by-scores matrix: a column per name, in order,
        NaN where a call has no such score."""
        names = list(self.columns)
        if not names:
            return names, np.empty((len(self.calls), 0))
        return names, np.column_stack([self.columns[name] for name in names])

    def per_call(self) -> Iterator[tuple[CallRecord, dict[str, float]]]:
        """Each call that has scores, in call order, with ``{"<detector>.<score>": value}``."""
        names, matrix = self.matrix()
        held = ~np.isnan(matrix)
        for i in np.flatnonzero(held.any(axis=1)).tolist():
            yield (
                self.calls[i],
                {names[j]: float(matrix[i, j]) for j in np.flatnonzero(held[i]).tolist()},
            )


def merge_worst(
    into: dict[str, float], wide: Mapping[str, float], keep: Collection[str] | None = None
) -> None:
    """Put a call's ``{"<detector>.<score>": value}`` into ``into`` by score name alone
    (those in ``keep``, when given): where several detectors report one name, the worst
    value stays (the lowest of a higher-is-better score, else the highest).

    >>> merged = {"faithfulness": 0.8}
    >>> merge_worst(merged, {"prompt_injection.safety": 0.9, "pii_leak.safety": 0.4})
    >>> merge_worst(merged, {"claims.faithfulness": 0.3, "refusal_rate_drift.refusal": 1.0},
    ...             keep=("safety", "faithfulness"))
    >>> merged
    {'faithfulness': 0.3, 'safety': 0.9}
    """
    for full_name, value in wide.items():
        name = full_name.split(".", 1)[1]  # "<detector>.<score>": detectors have no dots
        if keep is not None and name not in keep:
            continue
        if name not in into:
            into[name] = value
        elif name in HIGHER_IS_BETTER:
            into[name] = min(into[name], value)
        else:
            into[name] = max(into[name], value)
