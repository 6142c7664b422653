"""``watchkeeper evalset coverage``: how much of the stored production inputs an evalset
covers, per route, and the most novel inputs (what the evalset is missing).

Exit status: 0 (a report), 2 on a usage or input error (unusable evalset, no store).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from watchkeeper.collector.review.command import add_store_options

if TYPE_CHECKING:
    from watchkeeper.collector.coverage.report import RouteCoverage
    from watchkeeper.collector.settings import Settings

_NS_PER_MS = 1_000_000


def add_coverage_parser(actions: Any) -> None:
    """The ``coverage`` action of ``watchkeeper evalset``."""
    coverage = actions.add_parser(
        "coverage",
        help="share of stored production inputs an evalset covers; the most novel inputs",
        description="Compare the stored calls' inputs with an evalset's inputs: per route, "
        "the share covered (novelty below --threshold) and the inputs least like any case.",
    )
    coverage.add_argument(
        "--evalset", type=Path, action="append", required=True, metavar="FILE", help="JSONL"
    )
    coverage.add_argument("--route", default="", metavar="ROUTE", help="one route (default: all)")
    coverage.add_argument("--since", default="24h", metavar="WHEN", help="7d, 24h, ... (24h)")
    coverage.add_argument("--top", type=int, default=10, metavar="N", help="novel inputs shown")
    coverage.add_argument(
        "--threshold", type=float, metavar="NOVELTY", help="default: evalset_coverage_threshold"
    )
    coverage.add_argument(
        "--embedding", choices=["words", "minilm"], help="default: evalset_coverage_embedding"
    )
    coverage.add_argument(
        "--per-route", type=int, default=5000, metavar="N", help="newest inputs read per route"
    )
    add_store_options(coverage)


def run_coverage(settings: Settings, args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """Print the coverage report (on stdout unless ``out``); 2 (one line on stderr) on an
    input error."""
    # Looked up per call: a default bound at import would keep whatever stdout was then.
    out = out if out is not None else sys.stdout
    # Here, not at the top: every command line builds this parser, few run it.
    from watchkeeper.collector.coverage.evalsets import CoverageError, build_index
    from watchkeeper.collector.coverage.report import route_coverage
    from watchkeeper.collector.evalset.records import parse_time
    from watchkeeper.collector.review.command import open_existing_store
    from watchkeeper.collector.store.coverage import recent_inputs

    threshold = args.threshold if args.threshold is not None else settings.coverage.threshold
    try:
        since_ns = parse_time(args.since) * _NS_PER_MS
        index = build_index(args.evalset, args.embedding or settings.coverage.embedding)
    except (CoverageError, ValueError) as exc:
        print(f"watchkeeper: error: {exc}", file=sys.stderr)
        return 2
    store = open_existing_store(settings)
    try:
        rows = recent_inputs(store, since_ns=since_ns, route=args.route, per_route=args.per_route)
    finally:
        store.close()
    found = route_coverage(index, rows, threshold)
    print_report(found, index.size, args.top, out)
    return 0


def print_report(found: list[RouteCoverage], cases: int, top: int, out: IO[str]) -> None:
    """Per route: inputs read, the share covered, and its most novel inputs."""
    print(
        f"{'route':<24} {'inputs':>7} {'coverage':>9}   (against {cases} evalset inputs)", file=out
    )
    for route in found:
        print(f"{route.route:<24} {route.inputs:>7} {route.coverage:>9.1%}", file=out)
    for route in found:
        if route.novel[:top]:
            print(f"\nmost novel inputs of {route.route}:", file=out)
        for novelty, row in route.novel[:top]:
            text = " ".join(str(row["InputText"]).split())[:100]
            print(f"  {novelty:.2f}  {row['TraceId']}  {text}", file=out)
