"""Experiments against a real HTTP server speaking the OpenAI chat-completions API."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from tests.experiments.openai_stand_in import API_KEY
from watchkeeper.ingest.cli import main


def test_the_stand_in_speaks_the_api_the_official_client_expects(openai_server: str) -> None:
    """The official client parses the stand-in's answer (so the server is the real shape)."""
    client = openai.OpenAI(base_url=openai_server, api_key=API_KEY, max_retries=0)
    reply = client.chat.completions.create(
        model="good", messages=[{"role": "user", "content": "Who wrote Hamlet?"}]
    )
    assert reply.choices[0].message.content == "William Shakespeare"


def test_endpoint_gate(
    evalset: Path,
    tmp_path: Path,
    openai_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Model ``good`` then ``worse`` over HTTP: identical passes (0), worse fails (1); the
    key comes from the variable --api-key-env names and is never printed."""
    monkeypatch.setenv("STAND_IN_KEY", API_KEY)
    endpoint = ("--target-url", openai_server, "--api-key-env", "STAND_IN_KEY")
    base, same, worse = tmp_path / "b.jsonl", tmp_path / "s.jsonl", tmp_path / "w.jsonl"

    def run(model: str, out: Path, *more: str | Path) -> int:
        args = ["experiment", "run", "--evalset", str(evalset), *endpoint, "--model", model]
        return main([*args, "-o", str(out), *map(str, more)])

    assert run("good", base) == 0
    assert run("good", same, "--baseline", base) == 0
    assert run("worse", worse, "--baseline", base) == 1
    captured = capsys.readouterr()
    assert API_KEY not in captured.out + captured.err
    assert API_KEY not in base.read_text()


def test_a_wrong_key_fails_every_case_without_crashing(
    evalset: Path, tmp_path: Path, openai_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP 401 on every call: every case failed, the run completes (exit 0 without a
    baseline), each result says what the endpoint answered."""
    monkeypatch.setenv("OPENAI_API_KEY", "wrong")
    out = tmp_path / "r.jsonl"
    args = ["--target-url", openai_server, "--model", "good", "-o", str(out)]
    assert main(["experiment", "run", "--evalset", str(evalset), *args]) == 0
    text = out.read_text()
    assert text.count('"ok": false') == 20
    assert "HTTP 401" in text
