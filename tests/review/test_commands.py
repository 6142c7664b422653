"""``watchkeeper evalset export`` and ``watchkeeper tokens``, run as the real command, and
the first admin token a fresh install creates."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from tests.review.support import record
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.review.queues import default_queues
from watchkeeper.collector.review.tokens import (
    ADMIN_TOKEN_FILE,
    Role,
    TokenRegistry,
    ensure_admin_token,
    read_token_file,
)
from watchkeeper.collector.settings import load_settings
from watchkeeper.collector.store.store import Store, WriteBatch

WATCHKEEPER = [sys.executable, "-m", "watchkeeper.collector.cli"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    return subprocess.run(
        [*WATCHKEEPER, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _reviewed(store: Store) -> str:
    """One labelled item in ``errors``; returns its span id."""
    call = record(1, error=True)
    store.write(WriteBatch(review_items=ReviewRouter(default_queues()).route([call], {}, {}).items))
    store.add_label(
        queue="errors",
        span_id=call.span_id,
        trace_id=call.trace_id,
        reviewer="ana",
        verdict="fail",
        scores={"helpfulness": 2},
        corrected_answer="Try again in a minute.",
    )
    return call.span_id


def test_evalset_export_writes_jsonl_and_parquet(store: Store, tmp_path: Path) -> None:
    """The command exports reviewed items of a queue to stdout or a file."""
    span = _reviewed(store)
    store.close()  # chDB: one process per data directory
    result = _run(["evalset", "export", "--queue", "errors", "--data-dir", str(tmp_path)], tmp_path)
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout.splitlines()[0])
    assert (row["id"], row["expected_output"]) == (span, "Try again in a minute.")
    assert "wrote 1 records" in result.stderr
    out = tmp_path / "set.parquet"
    result = _run(
        [
            "evalset",
            "export",
            "--since",
            "1d",
            "--format",
            "parquet",
            "--shape",
            "ragas",
            "-o",
            str(out),
            "--data-dir",
            str(tmp_path),
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert pq.read_table(out).to_pylist()[0]["reference"] == "Try again in a minute."


def test_evalset_export_errors_are_one_line(store: Store, tmp_path: Path) -> None:
    """Unknown queues, bad times, missing data and a busy data directory are named."""
    _reviewed(store)
    busy = _run(["evalset", "export", "--data-dir", str(tmp_path)], tmp_path)
    assert busy.returncode == 2
    assert "in use by a running watchkeeper" in busy.stderr
    store.close()
    for args, says in [
        (["--queue", "nope"], "no queue 'nope'"),
        (["--since", "last tuesday"], "not a time"),
        (["--data-dir", str(tmp_path / "empty")], "no watchkeeper data"),
    ]:
        result = _run(["evalset", "export", "--data-dir", str(tmp_path), *args], tmp_path)
        assert result.returncode == 2, result.stderr
        assert says in result.stderr
        assert "Traceback" not in result.stderr


def test_tokens_create_list_revoke(store: Store, tmp_path: Path) -> None:
    """Tokens made by the command work, are listed without secrets, and can be revoked."""
    store.close()
    created = _run(
        ["tokens", "create", "--role", "reviewer", "--name", "ana", "--data-dir", str(tmp_path)],
        tmp_path,
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("wk_")
    listed = _run(["tokens", "list", "--data-dir", str(tmp_path)], tmp_path)
    assert "reviewer" in listed.stdout
    assert " ana" in listed.stdout
    assert token not in listed.stdout
    token_id = listed.stdout.splitlines()[1].split()[0]
    revoked = _run(["tokens", "revoke", token_id, "--data-dir", str(tmp_path)], tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in _run(["tokens", "list", "--data-dir", str(tmp_path)], tmp_path).stdout
    bad = _run(
        ["tokens", "create", "--role", "viewer", "--name", "<b>", "--data-dir", "x"], tmp_path
    )
    assert bad.returncode == 2
    assert "token name" in bad.stderr


def test_a_fresh_install_gets_one_admin_token_in_a_private_file(
    store: Store, tmp_path: Path
) -> None:
    """No admin yet: one is created and written 0600 under the data directory; the next
    start keeps it. The plaintext is in the file only, the store has its hash."""
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path})
    first = ensure_admin_token(store, settings)
    assert first.created
    assert first.file == tmp_path / ADMIN_TOKEN_FILE
    assert stat.S_IMODE(first.file.stat().st_mode) == 0o600
    assert read_token_file(first.file) == first.token
    principal = TokenRegistry(store).authenticate(str(first.token))
    assert principal is not None
    assert principal.role is Role.ADMIN
    again = ensure_admin_token(store, settings)
    assert (again.created, again.token, again.file) == (False, None, first.file)


def test_an_admin_token_from_a_secret_is_registered(store: Store, tmp_path: Path) -> None:
    """``bootstrap_admin_token`` (e.g. a Kubernetes Secret) is registered, no file written."""
    secret = "wk_" + "s" * 43
    settings = load_settings(
        environ={"WATCHKEEPER_BOOTSTRAP_ADMIN_TOKEN": secret}, overrides={"data_dir": tmp_path}
    )
    result = ensure_admin_token(store, settings)
    assert (result.created, result.file) == (False, None)
    assert not (tmp_path / ADMIN_TOKEN_FILE).exists()
    principal = TokenRegistry(store).authenticate(secret)
    assert principal is not None
    assert principal.role is Role.ADMIN
