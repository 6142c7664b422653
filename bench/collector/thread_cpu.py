"""CPU time of each thread of this process, by name, from ``/proc/self/task`` (Linux).

Python threads are named by ``threading`` (the receiver's, the pipeline's, the store
writer's, the text analysers'); the engine's own threads keep their kernel names
(chDB's ``ThreadPool``, ``MergeMutate``...). A snapshot before and after a run gives each
kind of thread's share of the CPU per call, which the process total alone hides.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def snapshot() -> dict[int, tuple[str, float]]:
    """Thread id -> (name, CPU seconds so far) for every live thread; empty off Linux."""
    names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
    out: dict[int, tuple[str, float]] = {}
    for task in Path("/proc/self/task").glob("*") if Path("/proc/self/task").exists() else ():
        try:
            stat = (task / "stat").read_text()
            comm = (task / "comm").read_text().strip()
        except OSError:
            continue  # the thread ended while we read
        fields = stat.rsplit(")", 1)[1].split()
        tid = int(task.name)
        out[tid] = (names.get(tid, comm), (int(fields[11]) + int(fields[12])) / TICKS)
    return out


def per_name(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], calls: int
) -> dict[str, float]:
    """µs of CPU per call for each thread name between two snapshots (threads that ended in
    between are missing; threads started in between count whole)."""
    out: dict[str, float] = {}
    for tid, (name, cpu) in after.items():
        spent = cpu - before.get(tid, (name, 0.0))[1]
        key = name.rstrip("0123456789-_ ") or name
        out[key] = out.get(key, 0.0) + spent / max(calls, 1) * 1e6
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
