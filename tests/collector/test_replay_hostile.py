"""``watchkeeper replay`` on a file of hostile lines: every valid line scored, the rest
reported with their line numbers, and the replay carries on to the end."""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path

from tests.detectors.hostile_texts import MB, hostile_texts, many_contexts
from watchkeeper.collector import replay
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.replay import ReplayOptions, run_replay
from watchkeeper.collector.settings import load_settings
from watchkeeper.collector.store.store import Store
from watchkeeper.detectors import InputLengthDrift
from watchkeeper.detectors.base import CallView


def _line(value: object) -> bytes:
    """One JSON line as an app writes it: UTF-8 as is, lone surrogates as escapes."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(value).encode()


def _normal(i: int) -> bytes:
    return _line({"input": f"How long do refunds take ({i})?", "output": "Refunds take 30 days."})


#: Lines that are not a call, each with what its error line must say.
BAD_LINES: list[tuple[bytes, str]] = [
    (b'{"input": "caf\xe9", "output": "\xff\xfe"}', "not UTF-8 (byte 0xe9 at position 15)"),
    (b'{"input": "a\x00b", "output": "c"}', "not valid JSON"),
    (b"\xfd" + random.Random(3).randbytes(MB).replace(b"\n", b" "), "not UTF-8 (byte 0xfd"),
    (b"[" * 200_000, "not valid JSON (nested too deeply)"),
    (_line("x" * MB), "expected a JSON object, got str"),
    (_line({"input": "x" * MB}), '"output" is missing'),
    (b'{"input": "q", "output": "a", "duration_s": 1e999}', '"duration_s" must be a non-negative'),
    (b'{"input": "q", "output": "a", "duration_s": NaN}', '"duration_s" must be a non-negative'),
    (b'{"input": "q", "output": "a", "ts": 1e300}', '"ts" is out of range'),
    (_line({"input": "q", "output": "a", "contexts": ["ok", None]}), '"contexts" must be a list'),
]


def _file(tmp_path: Path) -> tuple[Path, list[int], dict[int, str]]:
    """The file, the 0-based indexes of its valid lines, and line number -> expected error."""
    lines: list[bytes] = [b"\xef\xbb\xbf" + _normal(0)]  # a byte-order mark opens the file
    for text in hostile_texts().values():
        lines.append(_line({"input": text, "output": text, "contexts": [text, "Refunds."]}))
    lines.append(_line({"input": "q?", "output": "Orders ship free.", "contexts": many_contexts()}))
    lines.append(_normal(1).replace(b"}", b"}\r"))  # a CRLF line end
    good = list(range(len(lines)))
    errors = {}
    for i, (raw, reason) in enumerate(BAD_LINES):
        errors[len(lines) + 1] = reason  # line numbers count from 1
        lines.append(raw)
        good.append(len(lines))
        lines.append(_normal(2 + i))
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, good, errors


def test_every_valid_line_is_scored_and_every_bad_one_named(tmp_path: Path) -> None:
    """Hostile but valid calls get their line with scores; each bad line gets one error
    line on stderr with its number and reason, and the status is 1."""
    path, good, errors = _file(tmp_path)
    settings = load_settings(None, {"data_dir": tmp_path / "data"}, environ={})
    out, err = io.StringIO(), io.StringIO()
    status = run_replay(settings, ReplayOptions(path, store=False, batch_size=16), out, err)
    written = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["index"] for line in written] == good
    assert all(line["scores"] for line in written)  # every call scored by some detector
    reported = {
        int(line.split(":")[1].split()[1]): line.split(": ", 2)[2]
        for line in err.getvalue().splitlines()
        if line.startswith("watchkeeper replay: line ")
    }
    assert sorted(reported) == sorted(errors)
    for number, reason in errors.items():
        assert reported[number].startswith(reason), (number, reported[number][:200])
        assert len(reported[number]) < 300  # one readable line, not the line's content
    assert status == 1
    assert f"{len(good)} calls, 0 alarms, {len(errors)} bad lines skipped" in err.getvalue()


class RaisesOnNul(InputLengthDrift):
    """The input-length detector, raising on an input that holds a NUL."""

    def update(self, call: CallView) -> None:
        if "\x00" in call.input_text:
            raise ZeroDivisionError("division by zero")
        super().update(call)


def test_a_detector_that_raises_is_named_and_its_scores_are_absent(store: Store) -> None:
    """A detector raising on some calls: every line is still written, those calls lack its
    scores (never guessed), and the summary names the detector and how often it raised."""
    pipeline = Pipeline(store, detectors=[RaisesOnNul()], router=ReviewRouter({}))
    clock = replay._Clock(time.time_ns())
    texts = ["How long do refunds take?", "a\x00b", "Where is my parcel?"]
    batch = [
        (i, replay.parse_line(json.dumps({"input": t, "output": "ok"}), i, b"f", clock))
        for i, t in enumerate(texts)
    ]
    summary, out, err = replay.ReplaySummary(), io.StringIO(), io.StringIO()
    for one in batch:  # one call per run, so only the second call's run fails
        replay._flush(pipeline, [one], summary, out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["index"] for line in lines] == [0, 1, 2]
    assert [bool(line["scores"]) for line in lines] == [True, False, True]
    assert summary.detector_errors == {"input_length_drift": 1}
    replay.report_scoring(summary, err)
    assert "not scored by detectors that raised (runs of calls): input_length_drift on 1" in (
        err.getvalue()
    )
