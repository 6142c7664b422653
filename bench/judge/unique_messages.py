"""The collector benchmark's messages with texts no other call has.

The benchmark's texts repeat (``tests/support/otlp_messages.texts`` cycles through the
corpus), so a judge's verdict cache answers many of the calls it picks: live traffic's
questions and answers rarely repeat word for word, FAQ bots aside. Here each call's
prompt and answer end with the call's own tag, so every call's content hash differs and
the cache answers none.
"""

from __future__ import annotations

from bench.collector.bench_throughput import produce
from bench.collector.unique_texts import unique_texts
from tests.support.otlp_messages import message


def unique_message(i: int, run: str) -> tuple[bytes, bytes]:
    """:func:`tests.support.otlp_messages.message` with ``[run/i]`` after each text."""
    return unique_texts(message)(i, run)


def produce_unique(bootstrap: str, topic: str, calls: int, run: str) -> float:
    """Send ``calls`` such messages to ``topic``; returns the seconds taken (as
    ``bench.collector.bench_throughput.produce`` does with the repeating texts)."""
    return produce(bootstrap, topic, calls, run, unique_message)
