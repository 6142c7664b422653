"""What every UI page module answers alike: HTML with the security headers, the page for
a refused session, and the CSRF token of the session cookie."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from watchkeeper.collector.review import pages
from watchkeeper.collector.review.auth import SESSION_COOKIE, UiAuthError, csrf_token


def html_response(text: str, status: int = 200) -> HTMLResponse:
    """``text`` as an HTML page with the UI's security headers."""
    return HTMLResponse(text, status_code=status, headers=pages.SECURITY_HEADERS)


def session_csrf(request: Request) -> str:
    """The CSRF token the session's forms carry ("" without a session cookie)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    return csrf_token(token) if token else ""


def refusal_response(exc: UiAuthError, next_path: str) -> HTMLResponse:
    """No session (401): the login form, back to ``next_path`` after; a role too low
    (403): a Forbidden page saying why."""
    if exc.status == 401:
        return html_response(pages.login(next_path), 401)
    return html_response(pages.message("Forbidden", str(exc)), 403)
