"""Production traffic and an evalset with a planted gap, from chatterbot-corpus prompts:
the evalset holds every prompt of five topics; production asks those (reworded) and
also every prompt of a sixth topic, ``money``, that no case covers."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from tests.support.workload import by_topic, paraphrase
from watchkeeper.collector.record import CallRecord

COVERED = ("ai", "coding", "psychology", "emotion", "science")
GAP = "money"


def prompts(topic: str) -> list[str]:
    """The distinct prompts of one corpus topic, in corpus order."""
    return list(dict.fromkeys(c.prompt for c in by_topic([topic])))


def write_evalset(path: Path, topics: tuple[str, ...] = COVERED) -> Path:
    """An evalset of every prompt of ``topics``."""
    with path.open("w", encoding="utf-8") as out:
        for number, text in enumerate(p for topic in topics for p in prompts(topic)):
            out.write(json.dumps({"id": f"case-{number}", "input": text}) + "\n")
    return path


def traffic(seed: int = 3) -> tuple[list[CallRecord], set[str]]:
    """Calls of route ``support`` in the last hour, and the span ids of the gap's calls."""
    rng = random.Random(seed)
    asked = [(topic, paraphrase(rng, p)) for topic in COVERED for p in prompts(topic)]
    asked += [(GAP, p) for p in prompts(GAP)]
    rng.shuffle(asked)
    start = time.time_ns() - 3600 * 10**9
    calls, gap = [], set()
    for n, (topic, text) in enumerate(asked):
        span = f"{n + 1:016x}"
        if topic == GAP:
            gap.add(span)
        calls.append(
            CallRecord(
                trace_id=f"{n:032x}",
                span_id=span,
                timestamp_ns=start + n * 1_000_000_000,
                duration_ns=1_000_000,
                service_name="shop",
                route="support",
                request_model="model-a",
                input_text=text,
                output_text="Let me help you with that.",
            )
        )
    return calls, gap
