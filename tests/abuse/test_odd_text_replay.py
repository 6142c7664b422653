"""Arbitrary Python strings, lone surrogates included, replayed: every line is a call, and
every call is stored."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

from watchkeeper.collector.replay import ReplayOptions, run_replay
from watchkeeper.collector.settings import Settings
from watchkeeper.collector.store.store import open_store


def _odd_text(rng: random.Random) -> str:
    pieces = [
        lambda: chr(rng.randint(0xD800, 0xDFFF)),
        lambda: chr(rng.randint(0x20, 0x7E)),
        lambda: chr(rng.randint(0x80, 0xFFFF)),
        lambda: chr(rng.randint(0x10000, 0x10FFFF)),
        lambda: rng.choice(["\x00", "\n", "\r", "\u2028", "\ufeff", '"', "\\"]),
    ]
    return "".join(rng.choice(pieces)() for _ in range(rng.randint(0, 60)))


def test_replayed_odd_strings_are_all_stored(tmp_path: Path) -> None:
    """200 calls whose input, output and contexts are arbitrary strings (JSON escapes lone
    surrogates as ``\\udXXX``) replay with exit 0, and 200 calls are in the store."""
    rng = random.Random(1606)
    lines = [
        json.dumps(
            {
                "input": _odd_text(rng),
                "output": _odd_text(rng),
                "contexts": [_odd_text(rng)],
                "route": _odd_text(rng)[:20],
                "ts": 1_800_000_000 + i,
            }
        )
        for i in range(200)
    ]
    calls = tmp_path / "odd.jsonl"
    calls.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings.model_validate({"data_dir": str(tmp_path / "data")})
    out, err = io.StringIO(), io.StringIO()
    assert run_replay(settings, ReplayOptions(calls), out, err) == 0, err.getvalue()
    assert len(out.getvalue().splitlines()) == 200
    store = open_store(settings)
    try:
        assert store.count_calls() == 200
    finally:
        store.close()
