"""The progress of a run on stderr: a live bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import IO, Any


class RunProgress:
    """Counts answered and failed cases and shows them as they come."""

    def __init__(self, label: str, total: int, err: IO[str] | None = None, every_s: float = 5.0):
        self.label, self.total, self.done, self.failed = label, total, 0, 0
        self._err = err if err is not None else sys.stderr
        self._every_s = every_s
        self._next = time.monotonic() + every_s
        self._bar: Any = None
        if self._err.isatty() and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed"),
                console=Console(file=self._err),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(label, total=total, failed=0)

    def advance(self, ok: bool) -> None:
        """One more case answered (``ok``) or failed."""
        self.done += 1
        self.failed += 0 if ok else 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=self.failed)
            return
        now = time.monotonic()
        if now >= self._next or self.done == self.total:
            self._next = now + self._every_s
            print(f"{self.label}: {self.line()}", file=self._err, flush=True)

    def line(self) -> str:
        """``12/40 cases, 1 failed``."""
        return f"{self.done}/{self.total} cases, {self.failed} failed"

    def close(self) -> None:
        """Stop the live bar (plain lines need no closing)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
