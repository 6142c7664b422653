"""Coverage of a route's production inputs by the evalsets: the share whose novelty is
below the threshold (re-weighted by sample rate), and the most novel inputs. Inputs with
nothing to compare (no content word) are left out of both."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.collector.coverage.index import CoverageIndex, RememberedNovelty

#: An input at least this novel (similarity to its nearest case below 0.5) is not covered.
DEFAULT_THRESHOLD = 0.5


@dataclass
class RouteCoverage:
    """One route's inputs against the evalsets."""

    route: str
    #: Inputs measured (those with something to compare).
    inputs: int
    #: Share of the route's calls (re-weighted by sample rate) whose input is covered.
    coverage: float
    #: ``(novelty, row)`` of the uncovered inputs, most novel first.
    novel: list[tuple[float, Mapping[str, Any]]] = field(default_factory=list)


def route_coverage(
    index: CoverageIndex | RememberedNovelty,
    rows: Sequence[Mapping[str, Any]],
    threshold: float = DEFAULT_THRESHOLD,
) -> list[RouteCoverage]:
    """Coverage per route of ``rows`` (of :func:`~...store.coverage.recent_inputs`)."""
    by_route: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_route[str(row["Route"])].append(row)
    found = []
    for route, all_rows in sorted(by_route.items()):
        texts = [str(row["InputText"]) for row in all_rows]
        scored = zip(index.novelty(texts), all_rows, strict=True)
        pairs = [(n, row) for n, row in scored if not math.isnan(n)]
        if not pairs:
            continue
        novelty = [n for n, _ in pairs]
        route_rows = [row for _, row in pairs]
        weights = [1.0 / max(float(row.get("SampleRate") or 1.0), 1e-9) for row in route_rows]
        covered = sum(w for w, n in zip(weights, novelty, strict=True) if n < threshold)
        novel = sorted(
            ((n, row) for n, row in zip(novelty, route_rows, strict=True) if n >= threshold),
            key=lambda pair: (-pair[0], str(pair[1]["SpanId"])),
        )
        found.append(RouteCoverage(route, len(route_rows), covered / sum(weights), novel))
    return found
