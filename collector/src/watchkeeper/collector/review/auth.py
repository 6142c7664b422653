"""Authentication for the review API and UI.

The API takes ``Authorization: Bearer <token>`` only — never the UI's cookie — so a page on
another site cannot make a logged-in browser call it. The UI keeps the token in an
``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` behind HTTPS), and every form carries
a CSRF token derived from the session token, checked on each POST. No token: 401; a role
too low: 403. ``/v1/traces`` (machine ingest), ``/metrics`` and ``/healthz`` are not
behind this authentication.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Final

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from watchkeeper.collector.review.tokens import Principal, Role, TokenRegistry

if TYPE_CHECKING:
    from watchkeeper.collector.metrics import PipelineMetrics

SESSION_COOKIE: Final = "wk_session"
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token (`watchkeeper tokens create --role reviewer --name ana`).",
)


class UiAuthError(Exception):
    """A UI request without a usable session (401) or with too low a role (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Auth:
    """Checks tokens for the API (bearer) and the UI (cookie + CSRF)."""

    def __init__(self, registry: TokenRegistry, metrics: PipelineMetrics | None = None) -> None:
        self.registry = registry
        self.metrics = metrics

    def api(self, needed: Role) -> Callable[..., Principal]:
        """A FastAPI dependency admitting bearer tokens with at least ``needed``."""

        def dependency(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        ) -> Principal:
            if credentials is None:
                self.deny("missing")
                raise HTTPException(
                    401,
                    "missing bearer token: send 'Authorization: Bearer <token>'",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            principal = self.registry.authenticate(credentials.credentials)
            if principal is None:
                self.deny("invalid")
                raise HTTPException(
                    401,
                    "invalid or revoked token",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            if not principal.allows(needed):
                self.deny("forbidden")
                raise HTTPException(
                    403, f"needs role {needed.value}; token {principal.name!r} is {principal.role}"
                )
            return principal

        return dependency

    def ui_session(self, request: Request) -> Principal | None:
        """The principal of the UI session cookie, if valid."""
        token = request.cookies.get(SESSION_COOKIE)
        return self.registry.authenticate(token) if token else None

    def ui(self, request: Request, needed: Role) -> Principal:
        """The UI session's principal with at least ``needed``, else ``UiAuthError``."""
        principal = self.ui_session(request)
        if principal is None:
            self.deny("missing" if SESSION_COOKIE not in request.cookies else "invalid")
            raise UiAuthError(401, "Log in with an API token.")
        if not principal.allows(needed):
            self.deny("forbidden")
            raise UiAuthError(403, f"This needs the {needed.value} role; you are {principal.role}.")
        return principal

    def check_csrf(self, request: Request, submitted: str) -> None:
        """Refuse a UI form whose CSRF token does not belong to the session (403)."""
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token or not hmac.compare_digest(csrf_token(token), submitted):
            self.deny("csrf")
            raise UiAuthError(403, "The form expired or came from another site; reload the page.")

    def deny(self, reason: str) -> None:
        """Count a refused request by reason."""
        if self.metrics is not None:
            self.metrics.auth_denied.labels(reason).inc()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: an HMAC of a fixed purpose under the session token.

    Only someone holding the session token (the logged-in browser's page) can compute it.
    """
    return hmac.new(session_token.encode(), b"watchkeeper-csrf", hashlib.sha256).hexdigest()
