"""What else the machine did during a timed run: the hypervisor's steal, other processes'
CPU, this process's page faults and context switches (Linux ``/proc/stat`` and
``getrusage``).

On a shared VM the same run moves by 10-15% between sittings; a run whose steal or
others' CPU is high was not quiet, and page faults or involuntary switches per call that
jump show the process itself doing more. Printed beside the rates, so that runs can be
compared knowing what they shared the machine with.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Sample:
    """Counters at one moment."""

    wall: float
    #: Machine-wide CPU seconds: busy (user, nice, system, irq, softirq) and steal.
    busy: float
    steal: float
    #: This process's CPU seconds, minor faults, voluntary and involuntary switches.
    cpu: float
    faults: int
    switches: int
    preempted: int


def sample() -> Sample:
    """The counters now (machine-wide ones are 0 off Linux)."""
    busy = steal = 0.0
    stat = Path("/proc/stat")
    if stat.exists():
        fields = [int(v) for v in stat.read_text().splitlines()[0].split()[1:]]
        # user nice system idle iowait irq softirq steal ...
        busy = (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / TICKS
        steal = fields[7] / TICKS if len(fields) > 7 else 0.0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Sample(
        wall=time.perf_counter(),
        busy=busy,
        steal=steal,
        cpu=usage.ru_utime + usage.ru_stime,
        faults=usage.ru_minflt,
        switches=usage.ru_nvcsw,
        preempted=usage.ru_nivcsw,
    )


def between(before: Sample, after: Sample, calls: int) -> dict[str, float]:
    """Steal and others' CPU as % of one CPU over the wall time; faults and switches of
    this process per call."""
    wall = max(after.wall - before.wall, 1e-9)
    ours = after.cpu - before.cpu
    per_call = 1 / max(calls, 1)
    return {
        "steal_pct": (after.steal - before.steal) / wall * 100,
        "others_pct": max(0.0, (after.busy - before.busy) - ours) / wall * 100,
        "faults_per_call": (after.faults - before.faults) * per_call,
        "switches_per_call": (after.switches - before.switches) * per_call,
        "preempted_per_call": (after.preempted - before.preempted) * per_call,
    }


def describe(load: dict[str, float]) -> str:
    """One line for a report."""
    return (
        f"steal {load['steal_pct']:.1f}% of a CPU, other processes {load['others_pct']:.0f}%, "
        f"per call: {load['faults_per_call']:.1f} page faults, "
        f"{load['switches_per_call']:.2f} waits, {load['preempted_per_call']:.2f} preemptions"
    )
