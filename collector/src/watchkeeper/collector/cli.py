"""``python -m watchkeeper.collector.cli``: the ``watchkeeper`` command.

The command itself is :mod:`watchkeeper.ingest.cli`; the collector's subcommands are in
:mod:`watchkeeper.collector.commands`, registered as ``watchkeeper.commands`` entry points.
"""

from __future__ import annotations

import sys

from watchkeeper.ingest.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
