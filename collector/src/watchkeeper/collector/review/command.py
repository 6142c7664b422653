"""``watchkeeper tokens ...``: create, list and revoke API tokens from the command line.

These open the store directly. chDB lets one process use a data directory at a time, so
while ``watchkeeper up``/``demo`` runs on the same directory use the API (``/api/tokens``)
or the UI (``/ui/tokens``) instead; against a ClickHouse server both work at once.
"""

from __future__ import annotations

import argparse
import fcntl
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchkeeper.collector.review.tokens import Role, TokenRegistry, check_name, new_token

if TYPE_CHECKING:
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import Store


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """--data-dir, --store and --clickhouse-url, as the server commands spell them."""
    parser.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="chDB data (default: ./.watchkeeper)"
    )
    parser.add_argument(
        "--store", choices=["chdb", "clickhouse"], help="chdb (default) or clickhouse"
    )
    parser.add_argument("--clickhouse-url", metavar="URL", help="ClickHouse server URL")


def add_tokens_command(commands: Any) -> None:
    """The ``tokens`` subcommand and its actions."""
    tokens = commands.add_parser(
        "tokens",
        help="create, list or revoke API tokens for the review API and UI",
        description="API tokens carry a role: viewer (read queues, labels, exports), "
        "reviewer (also claim and label), admin (also manage tokens); alerts (only post alert "
        "notifications: the token for Alertmanager or Grafana). Only a SHA-256 of each "
        "token is stored; the token itself is printed once.",
    )
    actions = tokens.add_subparsers(dest="tokens_action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it (once)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", required=True, help="who uses it (the reviewer name)")
    add_store_options(create)
    listing = actions.add_parser("list", help="list tokens (ids, names, roles; no secrets)")
    add_store_options(listing)
    revoke = actions.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id", metavar="TOKEN_ID", help="12 hex digits, from `list`")
    add_store_options(revoke)
    actions.add_parser(
        "generate",
        help="print a new random token without storing it (for bootstrap_admin_token)",
    )


def run_tokens(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``tokens <action>``; returns the exit status."""
    if args.tokens_action == "generate":
        print(new_token())
        return 0
    if args.tokens_action == "create":
        try:
            check_name(args.name)
        except ValueError as exc:
            print(f"watchkeeper: error: {exc}", file=sys.stderr)
            return 2
    store = open_existing_store(settings)
    try:
        registry = TokenRegistry(store)
        if args.tokens_action == "create":
            token, principal = registry.create(args.name, args.role)
            print(token)
            print(
                f"created {principal.role} token {principal.token_id} for {principal.name}; "
                "it is shown only this once",
                file=sys.stderr,
            )
            return 0
        if args.tokens_action == "list":
            print(f"{'id':<13} {'role':<9} {'state':<8} name")
            for row in registry.list():
                state = "revoked" if row["revoked"] else "active"
                print(f"{row['token_id']:<13} {row['role']:<9} {state:<8} {row['name']}")
            return 0
        if not registry.revoke(args.token_id):
            print(f"watchkeeper: error: no active token {args.token_id}", file=sys.stderr)
            return 1
        print(f"revoked {args.token_id}", file=sys.stderr)
        return 0
    finally:
        store.close()


def open_existing_store(settings: Settings) -> Store:
    """The store for a command that reads what a server wrote, with clear errors."""
    from watchkeeper.collector.store.backend import StoreError
    from watchkeeper.collector.store.store import open_store

    if settings.store == "chdb":
        folder = Path(settings.data_dir) / "chdb"
        if not folder.is_dir():
            raise StoreError(
                f"no watchkeeper data under {settings.data_dir}; point --data-dir at the "
                "directory `watchkeeper up` used"
            )
        if _locked(folder / "status"):
            raise StoreError(
                f"{settings.data_dir} is in use by a running watchkeeper (chDB allows one "
                "process per data directory); use its API or UI instead (see README "
                '"Review and evalsets"), or stop it first'
            )
    return open_store(settings)


def _locked(status: Path) -> bool:
    """Whether a ClickHouse engine holds the data directory (it flocks ``status``)."""
    try:
        handle = status.open("rb")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
