"""The two false-page benchmarks take the same traffic options, so that
``false_page_sources`` at a ``--seed`` replays the stable calls ``false_pages`` saw."""

from __future__ import annotations

import subprocess
import sys

TRAFFIC = ("--hours", "--rate", "--keys", "--budget", "--seed")


def _traffic_help(module: str) -> list[str]:
    """The ``--help`` lines of ``module`` that describe a traffic option."""
    shown = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={"COLUMNS": "100", "PATH": ""},
    ).stdout
    lines = [line.split() for line in shown.splitlines()]
    return [" ".join(words) for words in lines if words and words[0] in TRAFFIC]


def test_both_benchmarks_describe_the_same_traffic_options() -> None:
    """Each option of the traffic, with its default, reads the same in both benchmarks."""
    pages = _traffic_help("bench.alerting.false_pages")
    sources = _traffic_help("bench.alerting.false_page_sources")
    assert [line.split()[0] for line in pages] == list(TRAFFIC)
    assert sources == pages
