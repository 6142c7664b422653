"""What a ``watchkeeper`` subcommand provides, and the settings it runs with.

A distribution adds a subcommand with an entry point in the group ``watchkeeper.commands``
whose name is the subcommand and whose object is a :class:`Command`::

    [project.entry-points."watchkeeper.commands"]
    sidecar = "watchkeeper.ingest.sidecar.command:COMMAND"

The module that defines it should import little at module level: the dispatcher loads
it to build the parser, and loads only the command being run.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from watchkeeper.ingest.settings import SettingsModel, load_settings

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subcommands = Any

GROUP = "watchkeeper.commands"

Model = TypeVar("Model", bound=SettingsModel)


@dataclass(frozen=True)
class Command:
    """One subcommand of ``watchkeeper``."""

    #: Adds the subcommand's parser (its name, help and options) to ``watchkeeper``'s.
    add_parser: Callable[[Subcommands], object]
    #: Runs the parsed command; returns the exit status.
    run: Callable[[argparse.Namespace], int]
    #: The failures a user can fix (bad input, unreachable service), reported in one line
    #: with exit status 2; the settings' and the HTTP server's errors always are. Called
    #: only once the command failed, so their modules are imported only then.
    errors: Callable[[], tuple[type[Exception], ...]] = lambda: ()
    #: Where ``watchkeeper --help`` lists the command and its examples (smaller first).
    position: int = 100
    #: Example lines for ``watchkeeper --help``, each ``  watchkeeper ...   what it does``.
    examples: tuple[str, ...] = ()


def command_settings(
    model: type[Model], args: argparse.Namespace, *, ignored: Collection[str] = ()
) -> Model:
    """The settings of a parsed command line: ``--config``, the environment, and every
    option whose destination is a settings key (``--port`` sets ``http_port``)."""
    overrides = {key: getattr(args, key, None) for key in model.flat_keys()}
    return load_settings(model, getattr(args, "config", None), overrides, ignored=ignored)


def wait_for_stop() -> None:
    """Block a long-running command's main thread until SIGTERM or Ctrl-C (SIGINT)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
