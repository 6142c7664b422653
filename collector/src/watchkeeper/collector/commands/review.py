"""``watchkeeper tokens`` and ``watchkeeper evalset``: the review app's commands (their
parsers are beside their code, in review/command.py and evalset/command.py)."""

from __future__ import annotations

import argparse

from watchkeeper.collector.commands.options import collector_errors, collector_settings
from watchkeeper.ingest.commands import Command, Subcommands


def add_tokens_parser(commands: Subcommands) -> None:
    """The ``tokens`` subcommand."""
    from watchkeeper.collector.review.command import add_tokens_command

    add_tokens_command(commands)


def run_tokens(args: argparse.Namespace) -> int:
    """Create, list or revoke API tokens."""
    from watchkeeper.collector.review.command import run_tokens as run

    return run(collector_settings(args), args)


def add_evalset_parser(commands: Subcommands) -> None:
    """The ``evalset`` subcommand."""
    from watchkeeper.collector.evalset.command import add_evalset_command

    add_evalset_command(commands)


def run_evalset(args: argparse.Namespace) -> int:
    """Export reviewed items, or measure an evalset's coverage of production."""
    if args.evalset_action == "coverage":
        from watchkeeper.collector.coverage.command import run_coverage

        return run_coverage(collector_settings(args), args)
    from watchkeeper.collector.evalset.command import run_evalset as run

    return run(collector_settings(args), args)


TOKENS = Command(
    add_parser=add_tokens_parser,
    run=run_tokens,
    errors=collector_errors,
    position=70,
    examples=(
        "  watchkeeper tokens create --role reviewer --name ana   an API token for the review UI",
    ),
)
EVALSET = Command(
    add_parser=add_evalset_parser,
    run=run_evalset,
    errors=collector_errors,
    position=60,
    examples=(
        "  watchkeeper evalset export --queue alarms --since 7d --format jsonl -o evalset.jsonl",
    ),
)
