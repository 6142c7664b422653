"""``watchkeeper evalset export``: reviewed items to a JSONL, CSV or Parquet file."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchkeeper.collector.coverage.command import add_coverage_parser
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
    add_coverage_parser(actions)


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
    try:
        if args.output is not None and str(args.output) != "-":
            check_output(args.output)
    except OutputError as exc:
        print(f"watchkeeper: error: {exc}", file=sys.stderr)
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
    try:
        with open_output(args.output) as out:
            count = write_evalset(records, out, args.format, args.shape)
    except (OutputError, OSError) as exc:
        print(f"watchkeeper: error: {_reason(exc)}", file=sys.stderr)
        return 2
    where = args.output or "stdout"
    print(f"wrote {count} records ({args.format}, {args.shape}) to {where}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def open_output(path: Path | None) -> Any:
    """A binary handle on ``path`` (stdout for None or ``-``), in place only once complete."""
    if path is None or str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    check_output(path)
    # Write a new file beside the target (created exclusively, so a planted symlink is never
    # followed), then rename: a failed export never leaves half a file or a stray partial.
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as open() would make it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


class OutputError(ValueError):
    """``--output`` names no writable file; the message says why."""


def check_output(path: Path) -> None:
    """Refuse an output path that is a directory or whose directory is missing."""
    if path.is_dir():
        raise OutputError(f"--output {path} is a directory: name a file")
    if not path.parent.is_dir():
        raise OutputError(f"--output {path}: directory {path.parent} does not exist")


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot write {exc.filename or 'the output'}: {exc.strerror}"
    return str(exc)
