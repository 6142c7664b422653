"""``watchkeeper redteam run``: attacks by category against a target, as a release gate.

Exit status: 0 when no category's attack success rate exceeds its tolerance (default 0),
1 when one does, 2 on a usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from watchkeeper.collector.experiments.command import add_store_options, add_target_options
from watchkeeper.ingest.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The ``redteam`` subcommand and its ``run`` action."""
    redteam = commands.add_parser(
        "redteam",
        help="send an adversarial suite to a target; gate on attack success rates",
        description="Send attack templates by category (instruction override, role-play, "
        "obfuscation, prompt leaking, PII extraction, harmful requests) and attempts "
        "flagged in production; report the attack success rate per category.",
    )
    actions = redteam.add_subparsers(dest="redteam_action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run",
        help="run a suite; exit 1 when a category's success rate exceeds its tolerance",
        description="Exit status: 0 every category within tolerance, 1 one exceeded, "
        "2 usage or input error. An interrupted run resumes from its results file.",
    )
    add_target_options(run)
    run.add_argument("--suite", default="core", metavar="NAME|FILE", help="suite (core)")
    run.add_argument(
        "--attempts",
        type=Path,
        metavar="EVALSET",
        help="attempts flagged in production (evalset export of the safety queue)",
    )
    run.add_argument(
        "--canary", metavar="TEXT", help="a string in the target's system prompt: leaked if seen"
    )
    run.add_argument(
        "--judge", metavar="MODULE:FUNCTION", help="judge(prompt, answer) -> 1 when attack worked"
    )
    run.add_argument(
        "--tolerance",
        action="append",
        default=[],
        type=rate_option,
        metavar="CATEGORY=RATE",
        help="highest tolerated success rate of a category ('*' for all; default 0)",
    )
    run.add_argument("-o", "--output", type=Path, metavar="RESULTS", help="results file")
    add_store_options(run)
    return redteam


def rate_option(text: str) -> tuple[str, float]:
    """``CATEGORY=RATE`` with RATE in [0, 1] (an argparse type)."""
    category, _, value = text.partition("=")
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not CATEGORY=RATE") from None
    if not category or not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: RATE must be between 0 and 1")
    return category, rate


def run(args: argparse.Namespace) -> int:
    """Run the suite; the exit status says whether a category exceeded its tolerance."""
    from watchkeeper.collector.redteam.session import run_redteam

    return run_redteam(args, sys.stdout, sys.stderr)


def errors() -> tuple[type[Exception], ...]:
    """The failures reported in one line with exit status 2."""
    from watchkeeper.collector.experiments.command import errors as experiment_errors
    from watchkeeper.collector.redteam.suite import SuiteError

    return (SuiteError, *experiment_errors())


COMMAND = Command(
    add_parser=add_parser,
    run=run,
    errors=errors,
    position=86,
    examples=("  watchkeeper redteam run --target app:answer   attack success rate per category",),
)
