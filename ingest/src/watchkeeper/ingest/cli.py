"""The ``watchkeeper`` command: global options and the subcommands installed packages add.

Subcommands are entry points of the group ``watchkeeper.commands`` (see
:mod:`watchkeeper.ingest.commands`): this package adds ``sidecar``, the collector ``up``,
``collect``, ``demo`` and the others. Only the subcommand being run is loaded, so
``watchkeeper sidecar`` imports nothing of the collector even where it is installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, distribution, entry_points
from pathlib import Path

from watchkeeper.ingest.commands import GROUP, Command
from watchkeeper.ingest.http.server import ServerError
from watchkeeper.ingest.settings import ConfigError

CONFIGURATION = """\
configuration: defaults < --config FILE (TOML, keys as in `[watchkeeper]`) <
WATCHKEEPER_* environment variables < command-line options. A wrong key or value stops
the command with a message naming it.
"""
#: Where the commands this package does not have come from.
COLLECTOR = "watchkeeper-collector"
#: Global options that take a value: skipped when looking for the command's name.
_VALUED_OPTIONS = ("--config", "--log-level")


def installed_commands(only: str | None = None) -> dict[str, Command]:
    """The subcommands of the installed packages, by name, in their help order.

    With ``only``, just that one is loaded (when it is installed).
    """
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    if only is not None and only in found:
        found = {only: found[only]}
    commands: dict[str, Command] = {name: ep.load() for name, ep in found.items()}
    return dict(sorted(commands.items(), key=lambda item: (item[1].position, item[0])))


def parser(commands: Mapping[str, Command] | None = None) -> argparse.ArgumentParser:
    """``watchkeeper``'s argument parser with ``commands`` (default: every installed one)."""
    if commands is None:
        commands = installed_commands()
    examples = [line for command in commands.values() for line in command.examples]
    top = argparse.ArgumentParser(
        prog="watchkeeper",
        description="Production quality monitoring for LLM applications.",
        epilog=CONFIGURATION + ("\nexamples:\n" + "\n".join(examples) if examples else ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    top.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity on stderr (default: WARNING)",
    )
    top.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subcommands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands.values():
        command.add_parser(subcommands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``watchkeeper`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    name = _command_name(argv)
    commands = installed_commands(only=name)
    if name is not None and name not in commands and not _installed(COLLECTOR):
        print(
            f"watchkeeper: error: no command {name!r} here (installed: "
            f"{', '.join(commands) or 'none'}); the collector's commands come with "
            f"`pip install {COLLECTOR}`",
            file=sys.stderr,
        )
        return 2
    args = parser(commands).parse_args(argv)
    _configure_logging(args.log_level)
    command = commands[args.command]
    try:
        return command.run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.debug or not _reported(exc, command):
            raise
        print(f"watchkeeper: error: {exc}", file=sys.stderr)
        return 2


def _reported(exc: Exception, command: Command) -> bool:
    """Whether a failure is the user's to fix, reported in one line (exit status 2)."""
    if isinstance(exc, (ConfigError, ServerError)):
        return True
    return isinstance(exc, command.errors())  # only now: it may import the command's modules


def _command_name(argv: Sequence[str]) -> str | None:
    """The first word that is neither a global option nor its value."""
    words: Iterator[str] = iter(argv)
    for word in words:
        if word in _VALUED_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _installed(name: str) -> bool:
    try:
        distribution(name)
    except PackageNotFoundError:
        return False
    return True


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        # kafka-python logs every failed connection attempt at ERROR; our receivers report
        # what matters once, in one line.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


if __name__ == "__main__":
    sys.exit(main())
