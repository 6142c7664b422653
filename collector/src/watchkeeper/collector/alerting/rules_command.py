"""``watchkeeper alerting rules -o DIR``: the quality SLOs' burn-rate rules and the budget
rules, as Prometheus rule files, from the settings."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from watchkeeper.ingest.commands import Command, Subcommands

SLO_FILE = "watchkeeper-slos.yml"
BUDGET_FILE = "watchkeeper-budgets.yml"


def add_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The ``alerting`` subcommand and its ``rules`` action."""
    alerting = commands.add_parser(
        "alerting",
        help="Prometheus rules from the alerting settings: SLO burn rates, budgets",
        description="Rules generated from alerting_slos, alerting_windows and "
        "alerting_false_pages_per_week (docs/alerting.md).",
    )
    actions = alerting.add_subparsers(dest="alerting_command", metavar="ACTION", required=True)
    rules = actions.add_parser(
        "rules",
        help="write the SLO burn-rate rules and the budget rules to a directory",
        description=f"Write {SLO_FILE} (multi-window, multi-burn-rate alerts per SLO) and "
        f"{BUDGET_FILE} (false-page budget, 30-day error budgets) under DIR; load them in "
        "Prometheus beside the shipped rule files.",
    )
    # SUPPRESS: given before the command (``watchkeeper --config F alerting rules``), it stays.
    rules.add_argument(
        "--config", type=Path, metavar="FILE", default=argparse.SUPPRESS, help="settings (TOML)"
    )
    rules.add_argument(
        "-o", "--output", type=Path, required=True, metavar="DIR", help="output directory"
    )
    return alerting


def run(args: argparse.Namespace) -> int:
    """Write the rule files; exit status 0."""
    import yaml  # type: ignore[import-untyped,unused-ignore]

    from watchkeeper.collector.alerting.budget_rules import budget_rules
    from watchkeeper.collector.alerting.slo import slo_rules
    from watchkeeper.collector.commands.options import collector_settings

    alerting = collector_settings(args).alerting
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    files = {
        SLO_FILE: slo_rules(alerting.slos, alerting.windows),
        BUDGET_FILE: budget_rules(alerting.false_pages_per_week, alerting.slos),
    }
    for name, rules in files.items():
        (out / name).write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    print(
        f"wrote {SLO_FILE} ({len(alerting.slos)} SLOs) and {BUDGET_FILE} "
        f"({alerting.false_pages_per_week:g} false pages a week) under {out}",
        file=sys.stderr,
    )
    return 0


def _errors() -> tuple[type[Exception], ...]:
    return (OSError,)


COMMAND = Command(
    add_parser=add_parser,
    run=run,
    errors=_errors,
    position=55,
    examples=(
        "  watchkeeper alerting rules --config watchkeeper.toml -o rules/   SLO and budget rules",
    ),
)
