"""``watchkeeper experiment run``: an evalset through a candidate, compared with a baseline.

Exit status: 0 when no compared metric regressed beyond its tolerance, 1 when one did,
2 on a usage or input error (no usable case, unknown target, unreadable baseline).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from watchkeeper.collector.commands.options import positive_float
from watchkeeper.ingest.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The ``experiment`` subcommand and its ``run`` action."""
    experiment = commands.add_parser(
        "experiment",
        help="run an evalset through a model or prompt version; gate on regressions",
        description="Ask a candidate every case of an evalset, score the answers (detectors, "
        "reference metrics, a judge), and compare with a baseline's results.",
    )
    actions = experiment.add_subparsers(dest="experiment_action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run",
        help="run an evalset; exit 1 when a metric regressed against --baseline",
        description="Exit status: 0 no metric regressed beyond its tolerance, 1 one did, "
        "2 usage or input error, 130 interrupted. An interrupted run resumes from its results "
        "file.",
    )
    run.add_argument("--evalset", type=Path, required=True, metavar="FILE", help="JSONL evalset")
    add_target_options(run)
    run.add_argument("--baseline", type=Path, metavar="RESULTS", help="results to compare with")
    run.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="RESULTS",
        help="results file (default: .watchkeeper/experiments/…)",
    )
    judge = run.add_mutually_exclusive_group()
    judge.add_argument(
        "--judge",
        metavar="MODULE:FUNCTION",
        help="judge(input, output, expected, contexts) -> 0..1, as judge_correctness",
    )
    judge.add_argument(
        "--judge-name",
        metavar="NAME",
        help="a judge of the settings ([watchkeeper.judges.NAME], or 'default') rates "
        "agreement with expected_output, as judge_correctness",
    )
    run.add_argument(
        "--tolerance",
        action="append",
        default=[],
        type=tolerance_option,
        metavar="METRIC=DROP",
        help="largest tolerated drop of a metric's mean (repeatable; adds metrics to compare)",
    )
    run.add_argument("--confidence", type=_fraction, default=0.95, help="interval level (0.95)")
    run.add_argument("--top", type=int, default=5, metavar="N", help="regressed cases shown (5)")
    add_store_options(run)
    return experiment


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """--target, or --target-url with --model; --timeout and --workers."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--target", metavar="MODULE:FUNCTION", help="a callable: text -> answer")
    which.add_argument("--target-url", metavar="BASE_URL", help="an OpenAI-compatible API base")
    parser.add_argument("--model", help="model name for --target-url")
    parser.add_argument(
        "--system-prompt",
        type=Path,
        metavar="FILE",
        help="a system message sent before each input to --target-url (e.g. the app's own)",
    )
    parser.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="NAME",
        help="environment variable holding the API key for --target-url (OPENAI_API_KEY)",
    )
    parser.add_argument(
        "--timeout", type=positive_float, default=60.0, metavar="S", help="per case (60)"
    )
    parser.add_argument("--workers", type=int, default=4, metavar="N", help="cases at once (4)")


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """--store and --data-dir: keep the finished run in the store as well."""
    parser.add_argument(
        "--store",
        dest="store_run",
        action="store_true",
        help="also write the finished run to the store of the settings",
    )
    parser.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="where chDB keeps data (./.watchkeeper)"
    )


def tolerance_option(text: str) -> tuple[str, float]:
    """``METRIC=DROP`` as a pair (an argparse type)."""
    metric, _, value = text.partition("=")
    try:
        drop = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not METRIC=DROP (e.g. token_f1=0.02)"
        ) from None
    if not metric or drop < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not METRIC=DROP with DROP >= 0")
    return metric, drop


def run(args: argparse.Namespace) -> int:
    """Run the experiment; the exit status says whether it regressed."""
    from watchkeeper.collector.experiments.session import run_experiment

    return run_experiment(args, sys.stdout, sys.stderr)


def errors() -> tuple[type[Exception], ...]:
    """The failures reported in one line with exit status 2."""
    from watchkeeper.collector.experiments.cases import EvalsetError
    from watchkeeper.collector.experiments.results import ResultsError
    from watchkeeper.collector.experiments.targets import TargetError
    from watchkeeper.collector.store.backend import StoreError

    return (EvalsetError, ResultsError, TargetError, StoreError, ValueError)


def _fraction(text: str) -> float:
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


COMMAND = Command(
    add_parser=add_parser,
    run=run,
    errors=errors,
    position=85,
    examples=(
        "  watchkeeper experiment run --evalset cases.jsonl --target app:answer "
        "--baseline base.jsonl   gate a release",
    ),
)
