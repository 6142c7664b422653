"""``watchkeeper replay``: recorded calls in, one JSON line per call out, stored like live."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from watchkeeper.collector.replay import BadLineError, ReplayOptions, _Clock, parse_line, run_replay
from watchkeeper.collector.settings import Settings, load_settings

FACTS = [
    "Lumen Plus costs 9 dollars per month and includes offline sync.",
    "Lumen Pro costs 15 dollars per month and includes priority support.",
    "Notes export to PDF and Markdown from the share menu.",
]
#: Within the store's TTL (30 days by default): older rows are dropped by ClickHouse.
RECENT = int(time.time()) - 86_400
QUESTIONS = [
    "How much is Plus?",
    "how much is plus",
    "How do I export notes?",
    "What does Pro cost?",
]


def _calls(
    n: int, seed: int = 1, *, long_inputs_from: int | None = None
) -> list[dict[str, object]]:
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    for i in range(n):
        question = rng.choice(QUESTIONS)
        if long_inputs_from is not None and i >= long_inputs_from:
            question += " Here is my log: ERROR sync failed status=502" * 20
        call: dict[str, object] = {
            "input": question,
            "output": FACTS[QUESTIONS.index(question.split(" Here")[0]) % len(FACTS)],
            "model": "gpt-test",
            "route": "support/answer",
            "service": "bot",
            "ts": RECENT + i,
            "duration_s": rng.uniform(0.2, 0.6),
        }
        if i % 2 == 0:
            call["contexts"] = rng.sample(FACTS, 2)
        out.append(call)
    return out


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text(
        "\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows) + "\n",
        encoding="utf-8",
    )
    return path


def _settings(tmp_path: Path) -> Settings:
    return load_settings(None, {"data_dir": tmp_path / "data"}, environ={})


def _replay(settings: Settings, path: Path, *, store: bool = True) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run_replay(settings, ReplayOptions(path, store=store, batch_size=64), out, err)
    return status, out.getvalue(), err.getvalue()


def _stored_calls(settings: Settings) -> int:
    return _count(settings, "calls")


def _count(settings: Settings, table: str) -> int:
    from watchkeeper.collector.store.store import open_store

    store = open_store(settings)
    try:
        rows = store.backend.select(f"SELECT count() AS n FROM {store.database}.{table} FINAL")
        return int(rows[0]["n"])
    finally:
        store.close()


def test_one_line_per_call_in_order_with_the_main_score_families(tmp_path: Path) -> None:
    """Every call gets a line, in input order, with the documented score names; all stored."""
    settings = _settings(tmp_path)
    path = _write(tmp_path / "calls.jsonl", _calls(700))
    status, out, err = _replay(settings, path)
    assert status == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["index"] for line in lines] == list(range(700))
    assert all(set(line) == {"index", "scores", "alarms"} for line in lines)
    rag = lines[650]["scores"]  # even index: has contexts; the length control is learned
    assert 0.0 <= rag["faithfulness"] <= 1.0
    assert "faithfulness_length_control" in rag
    assert "faithfulness" not in lines[651]["scores"]
    assert all(name in lines[651]["scores"] for name in ("consistency", "input_drift", "safety"))
    assert "700 calls" in err
    assert _stored_calls(settings) == 700


def test_bad_lines_are_reported_skipped_and_make_the_status_one(tmp_path: Path) -> None:
    """Each bad line is named on stderr with its number and reason; the others go through."""
    good = _calls(2)
    rows: list[object] = [
        good[0],
        "{not json",
        {"input": 1, "output": "x"},
        [1, 2],
        {"input": "a", "output": "b", "contexts": [1]},
        {"input": "a", "output": "b", "ts": "yesterday"},
        "",
        {"input": "a"},
        good[1],
    ]
    status, out, err = _replay(_settings(tmp_path), _write(tmp_path / "c.jsonl", rows))
    assert status == 1
    assert [json.loads(line)["index"] for line in out.splitlines()] == [0, 8]
    for fragment in [
        "line 2: not valid JSON",
        'line 3: "input" must be a string',
        "line 4: expected a JSON object",
        'line 5: "contexts" must be a list of strings',
        'line 6: "ts" is not an ISO 8601 time',
        'line 8: "output" is missing',
        "6 bad lines skipped",
    ]:
        assert fragment in err
    assert "line 7" not in err  # blank lines are not errors


def test_replaying_a_file_again_gives_the_same_lines_and_no_duplicate_rows(tmp_path: Path) -> None:
    """Ids come from the file's content and line numbers: a re-run rewrites the same rows.

    Detectors start fresh each time and are not checkpointed, so the scores repeat too.
    """
    settings = _settings(tmp_path)
    path = _write(tmp_path / "calls.jsonl", _calls(120))
    first = _replay(settings, path)
    second = _replay(settings, path)
    assert first[0] == second[0] == 0
    assert first[1] == second[1]
    assert _stored_calls(settings) == 120
    assert _count(settings, "detector_state") == 0  # a live collector's checkpoint is untouched


def test_alarms_name_the_detector_and_the_key(tmp_path: Path) -> None:
    """Users pasting logs into questions: an input-length alarm for service|route|model."""
    path = _write(tmp_path / "drift.jsonl", _calls(400, long_inputs_from=250))
    status, out, _ = _replay(_settings(tmp_path), path, store=False)
    assert status == 0
    alarms = [
        (json.loads(line)["index"], alarm)
        for line in out.splitlines()
        for alarm in json.loads(line)["alarms"]
    ]
    found = [(i, a) for i, a in alarms if a["detector"] == "input_length_drift"]
    assert found
    assert 250 <= found[0][0] < 280
    assert found[0][1]["key"] == "bot|support/answer|gpt-test"
    assert "input length rose" in found[0][1]["message"]


def test_no_store_leaves_the_data_directory_alone(tmp_path: Path) -> None:
    """``--no-store`` scores in a throwaway directory and removes it."""
    settings = _settings(tmp_path)
    status, out, err = _replay(settings, _write(tmp_path / "c.jsonl", _calls(10)), store=False)
    assert status == 0
    assert len(out.splitlines()) == 10
    assert not (tmp_path / "data").exists()
    assert "not stored" in err


def test_timestamps_from_iso_epoch_or_the_previous_line() -> None:
    """ISO 8601 (Z, offsets, naive = UTC), epoch seconds, or 1 ms after the previous line."""
    clock = _Clock(0)

    def ts(value: object) -> int:
        line = {"input": "q", "output": "a"} | ({} if value is None else {"ts": value})
        return parse_line(json.dumps(line), 0, b"", clock).timestamp_ns

    assert ts("2024-05-01T12:00:00Z") == 1_714_564_800 * 10**9
    assert ts("2024-05-01T14:00:00+02:00") == 1_714_564_800 * 10**9
    assert ts("2024-05-01T12:00:00.250") == 1_714_564_800 * 10**9 + 250_000_000
    assert ts(None) == 1_714_564_800 * 10**9 + 251_000_000
    assert ts(1_714_564_800) == 1_714_564_800 * 10**9
    for bad in [True, -1, "1st of May"]:
        try:
            ts(bad)
        except BadLineError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


def test_ids_are_deterministic_per_file_and_line() -> None:
    """The same line of the same file gets the same ids; another line or file does not."""
    line = '{"input": "q", "output": "a"}'
    a = parse_line(line, 3, b"file-a", _Clock(0))
    assert a.span_id == parse_line(line, 3, b"file-a", _Clock(0)).span_id
    assert a.span_id != parse_line(line, 4, b"file-a", _Clock(0)).span_id
    assert a.trace_id != parse_line(line, 3, b"file-b", _Clock(0)).trace_id


def _cli(args: list[str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    return subprocess.run(
        [sys.executable, "-m", "watchkeeper.collector.cli", "replay", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_reads_stdin_and_names_a_missing_file_in_one_line(tmp_path: Path) -> None:
    """``replay -`` reads stdin; a missing file is one error line and status 2."""
    result = _cli(["-", "--no-store"], tmp_path, "\n".join(json.dumps(c) for c in _calls(5)))
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["index"] for line in result.stdout.splitlines()] == [0, 1, 2, 3, 4]
    missing = _cli(["nope.jsonl"], tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "watchkeeper: error: cannot read nope.jsonl: No such file or directory"
    ]
