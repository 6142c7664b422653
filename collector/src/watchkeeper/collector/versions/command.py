"""``watchkeeper versions compare``: the live comparison of two versions of a route, from
the calls the store holds (what ``GET /api/versions/compare`` answers).

Exit status: 0 when the candidate did not regress, 1 when it did, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from watchkeeper.collector.versions.identity import DIMENSIONS
from watchkeeper.ingest.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The ``versions`` subcommand and its ``list`` and ``compare`` actions."""
    versions = commands.add_parser(
        "versions",
        help="compare a route's model or prompt versions on stored live traffic",
        description="Versions are request models (--by model), the SDK's prompt versions "
        "(--by prompt), app releases (--by release: service.version) or deploys (--by deploy: "
        "deployment.id). The comparison's interval holds at every time at once, so its "
        "verdict keeps its error rate however often it is read.",
    )
    actions = versions.add_subparsers(dest="versions_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the versions seen on a route")
    compare = actions.add_parser(
        "compare", help="candidate against baseline; exit 1 when the candidate regressed"
    )
    for parser in (listing, compare):
        parser.add_argument("--route", required=True, help="the route (gen_ai route name)")
        parser.add_argument("--by", dest="dimension", choices=DIMENSIONS, default="model")
        parser.add_argument(
            "--data-dir", type=Path, metavar="DIR", help="chDB data (./.watchkeeper)"
        )
    compare.add_argument("--baseline", help="baseline version (default: the one before the newest)")
    compare.add_argument("--candidate", help="candidate version (default: the newest)")
    compare.add_argument(
        "--score", default="faithfulness_drift.faithfulness", help="<detector>.<score> in [0, 1]"
    )
    compare.add_argument("--alpha", type=float, default=0.05, help="error rate (0.05)")
    compare.add_argument("--tolerance", type=float, default=0.0, help="tolerated drop (0)")
    compare.add_argument("--json", action="store_true", help="print the answer as JSON")
    return versions


def run(args: argparse.Namespace) -> int:
    """List the versions, or compare two; 1 when the candidate regressed."""
    from watchkeeper.collector.commands.options import collector_settings
    from watchkeeper.collector.store.store import open_store
    from watchkeeper.collector.store.versions import route_versions
    from watchkeeper.collector.versions.live import compare_stored, pick_versions

    store = open_store(collector_settings(args))
    try:
        seen = route_versions(store, route=args.route, dimension=args.dimension)
        if args.versions_action == "list":
            for row in seen:
                print(f"{row['Version'] or '(none)'}\t{row['Calls']} calls")
            return 0
        baseline, candidate = pick_versions(seen, args.baseline, args.candidate)
        found = compare_stored(
            store,
            route=args.route,
            baseline=baseline,
            candidate=candidate,
            score=args.score,
            dimension=args.dimension,
            alpha=args.alpha,
            tolerance=args.tolerance,
        )
    finally:
        store.close()
    if args.json:
        print(json.dumps(found, default=str))
    else:
        print(
            f"{args.route}: {candidate} against {baseline} on {args.score}: {found['verdict']}; "
            f"difference {found['difference']:+.3f} [{found['low']:+.3f}, {found['high']:+.3f}] "
            f"({found['baseline_calls']} and {found['candidate_calls']} calls)"
        )
    return 1 if found["verdict"] == "regressed" else 0


def errors() -> tuple[type[Exception], ...]:
    """The failures reported in one line with exit status 2."""
    from watchkeeper.collector.store.backend import StoreError

    return (StoreError, ValueError)


COMMAND = Command(
    add_parser=add_parser,
    run=run,
    errors=errors,
    position=87,
    examples=("  watchkeeper versions compare --route chat   newest model against the one before",),
)
