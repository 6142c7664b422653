"""API tokens: roles, hashing at rest, a cached registry in ClickHouse, the first admin.

A token is ``wk_`` + 43 random URL-safe characters (256 bits). Only its SHA-256 is stored
(table ``api_tokens``); a fast hash is enough because the token is random, not a
password. Lookups compare hashes with :func:`hmac.compare_digest`. The registry keeps the
active tokens in memory and reloads them every few seconds, so a token revoked from the
CLI or another replica stops working everywhere within ``refresh_s``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from watchkeeper.collector.settings import ConfigError
from watchkeeper.collector.settings.review import TOKEN_PREFIX

if TYPE_CHECKING:
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import Store

#: Token names double as reviewer names on labels: short, printable, no markup.
NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
ADMIN_TOKEN_FILE: Final = "admin-token"
_BOOTSTRAP_NAME: Final = "admin"


class Role(enum.StrEnum):
    """What a token may do.

    viewer < reviewer < admin: each includes the ones below it. ``alerts`` stands apart,
    for machines: it may post alert notifications (Alertmanager, Grafana) and nothing else,
    so the token kept in their configuration cannot read calls or labels.
    """

    VIEWER = "viewer"
    REVIEWER = "reviewer"
    ADMIN = "admin"
    ALERTS = "alerts"

    @property
    def rank(self) -> int:
        """viewer 0 < reviewer 1 < admin 2; alerts -1 (outside the ladder)."""
        return -1 if self is Role.ALERTS else list(Role).index(self)


_ROLE_NAMES: Final = frozenset(role.value for role in Role)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the token's id, name (the reviewer name) and role."""

    token_id: str
    name: str
    role: Role

    def allows(self, needed: Role) -> bool:
        """Whether this principal's role includes ``needed``.

        Posting alerts needs the alerts role or admin; an alerts token allows nothing else.
        """
        if needed is Role.ALERTS:
            return self.role in (Role.ALERTS, Role.ADMIN)
        return self.role is not Role.ALERTS and self.role.rank >= needed.rank


def new_token() -> str:
    """A fresh random token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 of a token, hex: what the store keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id(digest: str) -> str:
    """The public id of a token: the first 12 hex digits of its hash.

    Deterministic, so replicas registering the same bootstrap token write the same row.
    """
    return digest[:12]


def check_name(name: str) -> str:
    """``name`` if it is a valid token name, else ``ValueError``."""
    if not re.match(NAME_PATTERN, name):
        raise ValueError(
            f"token name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-' "
            "and start with a letter or digit"
        )
    return name


class TokenRegistry:
    """Creates, lists, revokes and checks tokens stored in ClickHouse."""

    def __init__(
        self,
        store: Store,
        *,
        refresh_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._active: list[tuple[str, Principal]] = []
        self._loaded_at: float | None = None
        self._last_miss_reload = -1e18

    def create(self, name: str, role: Role | str) -> tuple[str, Principal]:
        """A new token; the plaintext is returned once and never stored."""
        token = new_token()
        return token, self.register(token, name, role)

    def register(self, token: str, name: str, role: Role | str) -> Principal:
        """Store ``token`` (e.g. one given in a Secret) under ``name`` with ``role``."""
        check_name(name)
        role = Role(role)
        digest = token_hash(token)
        principal = Principal(token_id(digest), name, role)
        now = _now_ms()
        self.store.put_token(
            {
                "UpdatedAt": now,
                "TokenId": principal.token_id,
                "Name": name,
                "Role": role.value,
                "TokenHash": digest,
                "CreatedAt": now,
                "Revoked": 0,
            }
        )
        self.invalidate()
        return principal

    def revoke(self, token_id_: str) -> bool:
        """Revoke a token by id; False when there is no such active token."""
        for row in self.store.tokens():
            if row["TokenId"] == token_id_ and not int(row["Revoked"]):
                self.store.put_token(
                    {
                        "UpdatedAt": _now_ms(),
                        "TokenId": row["TokenId"],
                        "Name": row["Name"],
                        "Role": row["Role"],
                        "TokenHash": row["TokenHash"],
                        "CreatedAt": _ms_text(int(row["CreatedAtMs"])),
                        "Revoked": 1,
                    }
                )
                self.invalidate()
                return True
        return False

    def list(self) -> list[dict[str, Any]]:
        """Every token (hashes left out), newest first."""
        return [
            {
                "token_id": row["TokenId"],
                "name": row["Name"],
                "role": row["Role"],
                "created_at_ms": int(row["CreatedAtMs"]),
                "revoked": bool(int(row["Revoked"])),
            }
            for row in sorted(self.store.tokens(), key=lambda r: -int(r["CreatedAtMs"]))
        ]

    def has_active(self, role: Role) -> bool:
        """Whether an active token with exactly ``role`` exists."""
        self._refresh(force=True)
        return any(p.role == role for _, p in self._active)

    def authenticate(self, token: str) -> Principal | None:
        """The principal of an active token, or None. Constant-time over the hashes."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = token_hash(token)
        self._refresh()
        found = self._match(digest)
        if found is None:
            # A token created a moment ago elsewhere (CLI, another replica): look again,
            # at most once a second so bad tokens cannot hammer the store.
            now = self._clock()
            if now - self._last_miss_reload >= 1.0:
                self._last_miss_reload = now
                self._refresh(force=True)
                found = self._match(digest)
        return found

    def invalidate(self) -> None:
        """Forget the cache; the next check reloads from the store."""
        with self._lock:
            self._loaded_at = None

    def _match(self, digest: str) -> Principal | None:
        found = None
        for stored, principal in self._active:
            # No early exit: the time taken does not depend on which token matched.
            if hmac.compare_digest(stored, digest):
                found = principal
        return found

    def _refresh(self, *, force: bool = False) -> None:
        with self._lock:
            now = self._clock()
            if not force and self._loaded_at is not None and now - self._loaded_at < self.refresh_s:
                return
            rows = self.store.tokens()
            self._active = [
                (row["TokenHash"], Principal(row["TokenId"], row["Name"], Role(row["Role"])))
                for row in rows
                if not int(row["Revoked"]) and row["Role"] in _ROLE_NAMES
            ]
            self._loaded_at = now


@dataclass(frozen=True)
class AdminBootstrap:
    """What :func:`ensure_admin_token` did: ``token`` is set only when it made one now."""

    token: str | None
    file: Path | None
    created: bool


def ensure_admin_token(store: Store, settings: Settings) -> AdminBootstrap:
    """Make sure an admin can log in, without ever starting open.

    - ``bootstrap_admin_token`` set (e.g. from a Kubernetes Secret): it is registered as
      admin token "admin" (idempotent: its id derives from its hash).
    - Otherwise, when no active admin token exists, one is created and written to
      ``<data_dir>/admin-token`` (mode 0600) for the local user to read.
    - Otherwise nothing changes; ``file`` points at an earlier admin-token file if any.
    """
    registry = TokenRegistry(store)
    secret = settings.bootstrap_admin_token
    if secret is not None:
        registry.register(secret.get_secret_value(), _BOOTSTRAP_NAME, Role.ADMIN)
        return AdminBootstrap(None, None, created=False)
    path = Path(settings.data_dir) / ADMIN_TOKEN_FILE
    if registry.has_active(Role.ADMIN):
        return AdminBootstrap(None, path if path.is_file() else None, created=False)
    token = new_token()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the start: the token is never readable by others, even briefly.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
    except OSError as exc:
        raise ConfigError(
            f"cannot write the first admin token to {path} ({exc.strerror}); choose a "
            "writable --data-dir or set WATCHKEEPER_BOOTSTRAP_ADMIN_TOKEN"
        ) from None
    # Stored only once the file holds it: no admin token nobody can read.
    registry.register(token, _BOOTSTRAP_NAME, Role.ADMIN)
    return AdminBootstrap(token, path, created=True)


def read_token_file(path: Path) -> str | None:
    """The token in an admin-token file, or None when absent or unreadable."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if text.startswith(TOKEN_PREFIX) else None


def _now_ms() -> str:
    return _ms_text(time.time_ns() // 1_000_000)


def _ms_text(ms: int) -> str:
    """Milliseconds since the epoch as a ClickHouse ``DateTime64(3)`` literal."""
    return f"{ms // 1000}.{ms % 1000:03d}"
