"""What the demo shows while it runs: one compact panel redrawn in place on a terminal, or
a progress line every few seconds and a line per alarm when the output is not a terminal;
then a short summary of what drifted and where to look."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

#: Alarms the panel lists (the newest); the summary lists them all.
PANEL_ALARMS = 4


@dataclass(frozen=True)
class AlarmSeen:
    """An alarm as the demo reports it: when it fired, on what, why, and its page."""

    elapsed_s: float
    detector: str
    key: str
    reason: str
    url: str

    def line(self) -> str:
        """One line for logs: ``ALARM <detector> on <key>: <reason> -> <url>``."""
        return f"ALARM {self.detector} on {self.key}: {self.reason} -> {self.url}"


@dataclass
class DemoStatus:
    """A snapshot of the demo, refreshed a few times a second."""

    elapsed_s: float = 0.0
    phase: str = "baseline"
    drift_after: int = 0
    sent: int = 0
    errors_raised: int = 0
    stored: int = 0
    #: calls the data directory held before this run (a demo run again adds to them)
    stored_before: int = 0
    calls_per_s: float = 0.0
    alarms: list[AlarmSeen] = field(default_factory=list)
    #: pages of the alarms earlier runs raised, not this run's to report
    earlier_alarms: set[str] = field(default_factory=set)
    queues: dict[str, int] = field(default_factory=dict)
    url: str = ""
    #: the overview with the admin token in the fragment (empty without a token file)
    login_url: str = ""
    data_dir: str = ""

    @property
    def overview_url(self) -> str:
        """Where to look: the login link when there is one, else the overview."""
        return self.login_url or self.url + "/"

    def line(self) -> str:
        """One progress line for logs and non-terminal output."""
        queues = " ".join(f"{q}={n}" for q, n in sorted(self.queues.items()))
        return (
            f"[{self.elapsed_s:6.1f}s] {self.phase:8s} sent={self.sent} stored={self.stored} "
            f"({self.calls_per_s:.0f} calls/s) alarms={len(self.alarms)} queues: {queues}"
        )


def render(status: DemoStatus) -> Panel:
    """The live panel."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    phase = Text(status.phase, style="bold yellow" if status.phase == "drifted" else "green")
    phase.append(
        f"   (baseline -> drifted after call {status.drift_after}: users paste logs)",
        style="dim",
    )
    table.add_row("phase", phase)
    table.add_row(
        "calls",
        f"sent {status.sent}, stored {status.stored}  ({status.calls_per_s:.0f}/s, "
        f"{status.errors_raised} failed on purpose)",
    )
    alarms = Text()
    for alarm in status.alarms[-PANEL_ALARMS:]:
        alarms.append(f"{alarm.elapsed_s:5.0f}s ", style="dim")
        alarms.append(alarm.detector, style="bold red")
        alarms.append(f": {alarm.reason}\n")
    if len(status.alarms) > PANEL_ALARMS:
        alarms.append(f"(+{len(status.alarms) - PANEL_ALARMS} more on the alarms page)\n")
    table.add_row("alarms", alarms if status.alarms else Text("none yet", style="dim"))
    table.add_row(
        "review queues",
        " ".join(f"{q} {n}" for q, n in sorted(status.queues.items())) or "-",
    )
    table.add_row("overview", Text(status.overview_url, style="underline"))
    return Panel(
        Group(table),
        title=f"watchkeeper demo · {status.elapsed_s:.0f} s",
        subtitle="Ctrl-C to stop",
        expand=False,
    )


def summary(status: DemoStatus, dead_letters: int = 0) -> list[str]:
    """The lines printed at the end: counts, what drifted, where to look."""
    lines = [
        "watchkeeper demo summary",
        f"  duration        {status.elapsed_s:.1f} s",
        f"  calls sent      {status.sent} ({status.errors_raised} failed on purpose)",
        f"  calls stored    {status.stored}",
        f"  alarms          {len(status.alarms)}",
    ]
    if status.sent > status.drift_after:
        lines.append(
            f"What drifted: from call {status.drift_after} on, users pasted sync logs into "
            "their questions (inputs about ten times longer)."
        )
    for alarm in status.alarms:
        lines.append(f"  - {alarm.detector} at {alarm.elapsed_s:.0f} s: {alarm.reason}")
        lines.append(f"    {alarm.url}")
    if not status.alarms:
        lines.append("  No alarm fired yet: run longer (--duration) to see the drift caught.")
    lines += [
        "Where to look:",
        f"  overview        {status.overview_url}",
        f"  alarms          {status.url}/ui/alarms",
        "  review queues   "
        + ", ".join(f"{q}: {n}" for q, n in sorted(status.queues.items()))
        + f" -> {status.url}/ui/queues",
        f"  dead letters    {dead_letters}",
        f"  data            {status.data_dir} "
        f"(`watchkeeper up --data-dir {status.data_dir}` serves these pages again)",
    ]
    return lines
