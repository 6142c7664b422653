"""What the demo shows while it runs: a live terminal panel, or progress lines when headless."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table


@dataclass
class DemoStatus:
    """A snapshot of the demo, refreshed a few times a second."""

    elapsed_s: float = 0.0
    phase: str = "baseline"
    sent: int = 0
    errors_raised: int = 0
    stored: int = 0
    calls_per_s: float = 0.0
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # detector -> mean,max
    alarms: list[str] = field(default_factory=list)
    queues: dict[str, int] = field(default_factory=dict)
    url: str = ""
    data_dir: str = ""

    def line(self) -> str:
        """One progress line for logs and non-terminal output."""
        scores = ", ".join(f"{k} mean {m:.2f}" for k, (m, _) in sorted(self.scores.items()))
        queues = ", ".join(f"{q}={n}" for q, n in sorted(self.queues.items()))
        return (
            f"[{self.elapsed_s:6.1f}s] {self.phase:8s} sent={self.sent} stored={self.stored} "
            f"({self.calls_per_s:.0f} calls/s) alarms={len(self.alarms)} {scores} | {queues}"
        )


def render(status: DemoStatus) -> Table:
    """The live panel."""
    table = Table(title="watchkeeper demo", show_header=False, expand=False, min_width=70)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    table.add_row("elapsed", f"{status.elapsed_s:.0f} s   (traffic phase: {status.phase})")
    table.add_row(
        "calls", f"sent {status.sent}, stored {status.stored}, errors {status.errors_raised}"
    )
    table.add_row("rate", f"{status.calls_per_s:.1f} calls/s")
    for name, (mean, peak) in sorted(status.scores.items()):
        table.add_row(name, f"last 10 s: mean {mean:.2f}, max {peak:.2f}")
    table.add_row("alarms", "\n".join(status.alarms[-5:]) or "none yet")
    table.add_row(
        "review queues", ", ".join(f"{q}: {n}" for q, n in sorted(status.queues.items())) or "-"
    )
    table.add_row("review UI", status.url + "/")
    table.add_row("metrics", status.url + "/metrics")
    table.add_row("data", status.data_dir)
    table.caption = "Ctrl-C to stop"
    return table
