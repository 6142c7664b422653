"""``watchkeeper replay``: recorded calls through the detectors, one JSON line per call."""

from __future__ import annotations

import argparse
from pathlib import Path

from watchkeeper.collector.commands.options import collector_errors, collector_settings
from watchkeeper.ingest.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The ``replay`` subcommand."""
    replay = commands.add_parser(
        "replay",
        help="run recorded calls (JSON Lines) through the detectors; one JSON line per call",
        description="Read one JSON object per line (input, output; optional contexts, model, "
        "route, service, ts, duration_s, error, input_tokens, output_tokens, finish_reasons), "
        "run the pipeline, store the calls like live traffic, and write "
        '{"index": i, "scores": {...}, "alarms": [...]} per call to stdout. Bad lines are '
        "reported on stderr and skipped; the exit status is then 1.",
    )
    replay.add_argument("file", type=Path, metavar="FILE.jsonl", help="recorded calls ('-': stdin)")
    replay.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where chDB keeps data (default: ./.watchkeeper)",
    )
    replay.add_argument(
        "--no-store", action="store_true", help="score only: store in a throwaway directory"
    )
    return replay


def run(args: argparse.Namespace) -> int:
    """Replay the file; exit status 1 when lines were skipped."""
    from watchkeeper.collector.replay import ReplayOptions, run_replay

    return run_replay(collector_settings(args), ReplayOptions(args.file, store=not args.no_store))


COMMAND = Command(
    add_parser=add_parser,
    run=run,
    errors=collector_errors,
    position=80,
    examples=(
        "  watchkeeper replay calls.jsonl > scores.jsonl   score recorded calls, store them",
    ),
)
