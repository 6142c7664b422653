"""``watchkeeper evalset export``: reviewed items to a JSONL, CSV or Parquet file."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchkeeper.collector.evalset.formats import FORMATS, SHAPES, write_evalset
from watchkeeper.collector.evalset.records import build_evalset, parse_time
from watchkeeper.collector.review.command import add_store_options, open_existing_store
from watchkeeper.collector.review.rubric import Rubric

if TYPE_CHECKING:
    from watchkeeper.collector.settings import Settings


def add_evalset_command(commands: Any) -> None:
    """The ``evalset`` subcommand."""
    evalset = commands.add_parser(
        "evalset",
        help="export reviewed items as an evalset (JSONL, CSV, Parquet)",
        description="Reviewed calls with their input, contexts, output, the reviewers' "
        "corrected answer, labels and provenance (trace id, model, time), one per test "
        "case (deduplicated), in field names DeepEval, Ragas or OpenAI evals read.",
    )
    actions = evalset.add_subparsers(dest="evalset_action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write reviewed items to a file or stdout")
    export.add_argument(
        "--queue",
        action="append",
        default=[],
        metavar="QUEUE",
        help="only items of this queue (repeatable; default: every queue)",
    )
    export.add_argument("--since", metavar="WHEN", help="labelled since: 7d, 24h, 2025-01-31 ...")
    export.add_argument("--until", metavar="WHEN", help="labelled before (default: now)")
    export.add_argument("--format", choices=FORMATS, default="jsonl", help="default: jsonl")
    export.add_argument(
        "--shape",
        choices=list(SHAPES),
        default="watchkeeper",
        help="field names: watchkeeper (DeepEval names + labels + provenance, default), "
        "ragas, openai",
    )
    export.add_argument(
        "--keep-duplicates",
        action="store_true",
        help="one row per reviewed call even when inputs repeat",
    )
    export.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="output file (default: stdout)"
    )
    add_store_options(export)


def run_evalset(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``evalset export``; returns the exit status."""
    try:
        since_ms = parse_time(args.since) if args.since else 0
        until_ms = parse_time(args.until) if args.until else None
    except ValueError as exc:
        print(f"watchkeeper: error: --since/--until: {exc}", file=sys.stderr)
        return 2
    unknown = [q for q in args.queue if q not in settings.review_queues]
    if unknown:
        print(
            f"watchkeeper: error: no queue {unknown[0]!r}; queues: "
            + ", ".join(settings.review_queues),
            file=sys.stderr,
        )
        return 2
    if args.output is None and args.format == "parquet" and sys.stdout.isatty():
        print("watchkeeper: error: Parquet is binary: give --output FILE", file=sys.stderr)
        return 2
    store = open_existing_store(settings)
    try:
        records = build_evalset(
            store,
            Rubric(settings.review_rubric),
            queues=args.queue,
            since_ms=since_ms,
            until_ms=until_ms,
            dedupe=not args.keep_duplicates,
        )
    finally:
        store.close()
    with _opened(args.output) as out:
        count = write_evalset(records, out, args.format, args.shape)
    where = args.output or "stdout"
    print(f"wrote {count} records ({args.format}, {args.shape}) to {where}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _opened(path: Path | None) -> Any:
    if path is None or str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    # Write beside the target, then rename: a failed export never leaves half a file.
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        yield handle
    os.replace(partial, path)
