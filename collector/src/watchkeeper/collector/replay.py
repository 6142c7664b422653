"""``watchkeeper replay``: recorded calls through the pipeline, one JSON line out per call.

Input: JSON Lines, one object per call with at least ``input`` and ``output`` (strings);
optional ``contexts`` (list of strings), ``model``, ``route``, ``service``, ``ts`` (ISO
8601, or seconds since the epoch), ``duration_s``, ``error`` (true, or an error type),
``input_tokens``, ``output_tokens``, ``finish_reasons``. Output, on stdout, for every good
line in input order::

    {"index": 0, "scores": {"input_drift": 0.41, "safety": 0.0, ...}, "alarms": []}

``index`` is the 0-based line number in the file. ``scores`` holds each score name once:
when several detectors report the same name (``input_drift``, ``safety``), the worst value
(lowest for ``faithfulness`` and ``consistency``, highest otherwise). Each alarm names its
``detector``, ``key`` (service|route|model) and ``message``. With judges configured
(docs/judges.md), the calls their sampling picks are judged before their line is written,
and ``scores`` also holds ``judge.<name>.<dimension>``.

Calls, scores and alarms are stored like live traffic (the data directory of the settings,
``./.watchkeeper`` by default): a backfill lands where dashboards and review queues look.
The last line on stderr names the version of each model behind the scores (the
injection classifier's weights, the faithfulness scorer ...), as each stored scores row
does (``call_scores.ScorerVersions``).
Detectors start fresh and their state is not saved: the same file always gives the same
scores, and the state a live collector resumes from is left alone.
Ids are derived from the file's content and the line number, and timestamps from ``ts``,
so replaying the same file again rewrites the same rows instead of adding new ones. Lines
without ``ts`` are stamped 1 ms after the previous line (the first at the replay's start).

Bad lines (not UTF-8, not JSON, a missing ``input``, a context that is not a string ...)
are reported on stderr with their line number and reason, skipped, and counted; the exit
status is 1 when there were any, 0 otherwise. Any text of a good line is scored or left
unscored, whatever its size or characters (a detector reads the first few thousand
characters); should a detector raise, its scores are absent from the lines of that run
of calls and stderr names it at the end. Progress goes to stderr every few seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.settings import Settings
from watchkeeper.ingest.text_repair import repair_strings

SOURCE = "replay"
#: Calls without ``ts`` follow the previous call by this much.
_STEP_NS = 1_000_000
_MAX_EPOCH_S = 2**63 / 1e9


class ReplayError(RuntimeError):
    """The replay cannot start (unreadable file ...); the message says why."""


class BadLineError(ValueError):
    """One input line is unusable; the message says why."""


@dataclass
class ReplayOptions:
    """What to replay and how."""

    path: Path
    #: Store calls, scores and alarms in the configured data dir (False: a throwaway one).
    store: bool = True
    batch_size: int = 1000
    #: Seconds between progress lines on stderr.
    progress_every_s: float = 5.0


@dataclass
class ReplaySummary:
    """Counts of one replay."""

    calls: int = 0
    bad_lines: int = 0
    alarms: int = 0
    #: detector -> version of the model behind its scores (detectors that have one)
    scorer_versions: dict[str, str] = field(default_factory=dict)
    #: detector -> runs of calls it raised on (its scores for those calls are absent)
    detector_errors: Counter[str] = field(default_factory=Counter)


def run_replay(
    settings: Settings,
    options: ReplayOptions,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Replay ``options.path``; returns the exit status (1 when lines were skipped)."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    with _opened(options.path) as (lines, digest):
        scratch = None
        if not options.store:
            scratch = Path(tempfile.mkdtemp(prefix="watchkeeper-replay-"))
            settings = settings.model_copy(update={"store": "chdb", "data_dir": scratch})
        try:
            summary = _replay(settings, options, lines, digest, out=out, err=err)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
    where = "not stored" if not options.store else f"stored in {_where(settings)}"
    print(
        f"watchkeeper replay: {summary.calls} calls, {summary.alarms} alarms, "
        f"{summary.bad_lines} bad lines skipped; {where}",
        file=err,
        flush=True,
    )
    report_scoring(summary, err)
    return 1 if summary.bad_lines else 0


def report_scoring(summary: ReplaySummary, err: IO[str]) -> None:
    """The detectors that raised (their scores are absent from those calls' lines) and the
    models behind the scores, a line each, when there are any."""
    if summary.detector_errors:
        failed = ", ".join(f"{d} on {n}" for d, n in sorted(summary.detector_errors.items()))
        print(
            f"watchkeeper replay: not scored by detectors that raised (runs of calls): {failed}; "
            "their scores are absent from those calls' lines, the log names the errors",
            file=err,
            flush=True,
        )
    if summary.scorer_versions:
        models = ", ".join(f"{d} {v}" for d, v in sorted(summary.scorer_versions.items()))
        print(f"watchkeeper replay: scored with {models}", file=err, flush=True)


def _replay(
    settings: Settings,
    options: ReplayOptions,
    lines: IO[bytes],
    digest: bytes,
    *,
    out: IO[str],
    err: IO[str],
) -> ReplaySummary:
    from watchkeeper.collector.judge.start import build_judges
    from watchkeeper.collector.runtime import build_pipeline, ensure_data_dir
    from watchkeeper.collector.store.store import open_store

    if settings.store == "chdb":
        ensure_data_dir(Path(settings.data_dir))
    store = open_store(settings)
    judges = None
    try:
        # Fresh detectors, never checkpointed: the same file always gives the same scores,
        # and the state the live collector resumes from is left alone.
        pipeline = build_pipeline(settings, store, resume=False)
        judges = build_judges(settings, store, pipeline.metrics.judge)
        summary = ReplaySummary(scorer_versions=pipeline.detect.scorer_versions)
        started = time.monotonic()
        next_progress = started + options.progress_every_s
        clock = _Clock(time.time_ns())
        batch: list[tuple[int, CallRecord]] = []
        try:
            for index, raw in enumerate(lines):
                if not raw.strip():
                    continue
                try:
                    batch.append((index, parse_line(raw, index, digest, clock)))
                except BadLineError as exc:
                    summary.bad_lines += 1
                    print(f"watchkeeper replay: line {index + 1}: {exc}", file=err, flush=True)
                if len(batch) >= options.batch_size:
                    _flush(pipeline, batch, summary, out, judges)
                    now = time.monotonic()
                    if now >= next_progress:
                        _progress(summary, now - started, err)
                        next_progress = now + options.progress_every_s
            _flush(pipeline, batch, summary, out, judges)
        except BrokenPipeError:
            # The reader went away (`| head`): what was processed is stored; stop quietly.
            _silence(out)
        pipeline.flush_review()  # not close(): that would also checkpoint detector state
    finally:
        if judges is not None:
            judges.close()
        store.close()
    return summary


def _flush(
    pipeline: Any,
    batch: list[tuple[int, CallRecord]],
    summary: ReplaySummary,
    out: IO[str],
    judges: Any = None,
) -> None:
    from watchkeeper.collector.scores import merge_worst

    if not batch:
        return
    result = pipeline.process_calls([call for _, call in batch], SOURCE)
    scores: dict[str, dict[str, float]] = {}
    for call, wide in result.detection.scores:
        merge_worst(scores.setdefault(call.span_id, {}), wide)
    if judges is not None:
        judged = judges.judge_now([call for _, call in batch], result.detection.flagged)
        for span_id, judge_scores in judged.items():
            scores.setdefault(span_id, {}).update(judge_scores)
    alarms: dict[str, list[dict[str, str]]] = {}
    for row in result.detection.alarms:
        alarms.setdefault(row["SpanId"], []).append(
            {"detector": row["Detector"], "key": row["DetectorKey"], "message": row["Message"]}
        )
    for index, call in batch:
        line = {
            "index": index,
            "scores": {k: round(v, 6) for k, v in sorted(scores.get(call.span_id, {}).items())},
            "alarms": alarms.get(call.span_id, []),
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()
    summary.calls += len(batch)
    summary.alarms += len(result.detection.alarms)
    summary.detector_errors.update(result.detection.errors)
    batch.clear()


def _silence(out: IO[str]) -> None:
    """Point a closed pipe at /dev/null, so the interpreter's final flush does not fail."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())


def _progress(summary: ReplaySummary, elapsed_s: float, err: IO[str]) -> None:
    rate = summary.calls / elapsed_s if elapsed_s > 0 else 0.0
    print(
        f"watchkeeper replay: {summary.calls} calls ({rate:.0f}/s), {summary.alarms} alarms, "
        f"{summary.bad_lines} bad lines",
        file=err,
        flush=True,
    )


def _where(settings: Settings) -> str:
    return str(settings.data_dir) if settings.store == "chdb" else f"{settings.store} store"


# --- input --------------------------------------------------------------------------------
@contextlib.contextmanager
def _opened(path: Path) -> Iterator[tuple[IO[bytes], bytes]]:
    """The input as a binary stream plus the SHA-256 of its content (stdin is spooled)."""
    digest = hashlib.sha256()
    if str(path) == "-":
        handle: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
        for chunk in iter(lambda: sys.stdin.buffer.read(1 << 20), b""):
            digest.update(chunk)
            handle.write(chunk)
    else:
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise ReplayError(f"cannot read {path}: {exc.strerror or exc}") from None
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    with handle:
        handle.seek(0)
        yield handle, digest.digest()


class _Clock:
    """Timestamps for lines without ``ts``: 1 ms after the previous line."""

    def __init__(self, start_ns: int) -> None:
        self.last_ns = start_ns - _STEP_NS

    def next(self, ts_ns: int | None) -> int:
        self.last_ns = ts_ns if ts_ns is not None else self.last_ns + _STEP_NS
        return self.last_ns


def parse_line(raw: bytes | str, index: int, digest: bytes, clock: _Clock) -> CallRecord:
    """The call recorded on one line; raises :class:`BadLineError` saying what is wrong.

    >>> clock = _Clock(0)
    >>> call = parse_line('{"input": "hi", "output": "hello", "ts": 1.5}', 0, b"", clock)
    >>> call.input_text, call.timestamp_ns, len(call.trace_id), len(call.span_id)
    ('hi', 1500000000, 32, 16)
    >>> try:
    ...     parse_line('{"input": "hi"}', 1, b"", clock)
    ... except BadLineError as exc:
    ...     print(exc)
    "output" is missing
    """
    try:
        # "\ud800" is valid JSON but no storable text: lone surrogates become U+FFFD.
        data = repair_strings(json.loads(raw))
    except UnicodeDecodeError as exc:
        raise BadLineError(
            f"not UTF-8 (byte 0x{exc.object[exc.start]:02x} at position {exc.start + 1}); "
            "convert the file to UTF-8"
        ) from None
    except RecursionError:
        raise BadLineError("not valid JSON (nested too deeply)") from None
    except json.JSONDecodeError as exc:
        raise BadLineError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadLineError(f"expected a JSON object, got {type(data).__name__}")
    input_text = _text(data, "input", required=True)
    output_text = _text(data, "output", required=True)
    contexts = data.get("contexts", [])
    if contexts is None:
        contexts = []
    if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
        raise BadLineError('"contexts" must be a list of strings')
    error = data.get("error", False)
    if not isinstance(error, (bool, str)) and error is not None:
        raise BadLineError('"error" must be true/false or an error type')
    finish = data.get("finish_reasons", data.get("finish_reason", []))
    if isinstance(finish, str):
        finish = [finish]
    if not isinstance(finish, list) or not all(isinstance(f, str) for f in finish):
        raise BadLineError('"finish_reasons" must be a list of strings')
    ids = hashlib.sha256(digest + b":" + str(index).encode()).hexdigest()
    return CallRecord(
        trace_id=ids[:32],
        span_id=ids[32:48],
        timestamp_ns=clock.next(_timestamp(data.get("ts"))),
        duration_ns=round(_number(data, "duration_s") * 1e9),
        service_name=_text(data, "service"),
        route=_text(data, "route"),
        request_model=_text(data, "model"),
        input_text=input_text,
        output_text=output_text,
        contexts=contexts,
        input_tokens=int(_number(data, "input_tokens")),
        output_tokens=int(_number(data, "output_tokens")),
        finish_reasons=finish,
        status_code="ERROR" if error else "UNSET",
        error_type=error if isinstance(error, str) else "",
        source=SOURCE,
    )


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise BadLineError(f'"{key}" is missing')
        return ""
    if not isinstance(value, str):
        raise BadLineError(f'"{key}" must be a string, got {type(value).__name__}')
    return value


def _number(data: dict[str, Any], key: str) -> float:
    value = data.get(key, 0)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadLineError(f'"{key}" must be a number')
    if not math.isfinite(value) or value < 0 or value > _MAX_EPOCH_S:
        raise BadLineError(f'"{key}" must be a non-negative number, got {value}')
    return float(value)


def _timestamp(value: object) -> int | None:
    """Nanoseconds since the epoch from ``ts``: ISO 8601 (UTC if no zone) or seconds."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadLineError('"ts" must be an ISO 8601 string or seconds since the epoch')
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not 0 <= value < _MAX_EPOCH_S:
            raise BadLineError(f'"ts" is out of range: {value}')
        return round(value * 1e9)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadLineError(f'"ts" is not an ISO 8601 time: {value!r}') from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = int(moment.timestamp())
        if seconds < 0:
            raise BadLineError(f'"ts" is before 1970: {value!r}')
        return seconds * 1_000_000_000 + moment.microsecond * 1000
    raise BadLineError('"ts" must be an ISO 8601 string or seconds since the epoch')
