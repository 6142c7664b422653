"""Request bounds every watchkeeper HTTP app applies: body size as it streams, encodings.

A client decides how it sends a body (``Content-Length`` or chunked, compressed or not), so
the bound is enforced on the bytes actually read, not on what the headers declare: a
declared length over the bound is refused before reading (413), and a body that grows past
it while streaming is refused as soon as it does (413), whatever its framing. A
``Content-Encoding`` the route cannot decode is refused with 415 instead of being read as
plain bytes. Slow or stalled bodies are the connection's business (``protocol.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Bodies of routes no rule names: JSON API calls and small forms.
DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024


class BodyTooLargeError(HTTPException):
    """A request body grew past its route's bound while being read (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes: send smaller requests")
        self.limit = limit


def json_refusal(status: int, message: str, content_type: str) -> Response:
    """A refusal as ``{"code", "message"}`` JSON."""
    return JSONResponse({"code": status, "message": message}, status_code=status)


#: Makes the response of a refusal from its status, message and the request's Content-Type.
Refusal = Callable[[int, str, str], Response]


@dataclass(frozen=True)
class BodyRule:
    """The bound and the accepted content encodings of the routes under ``prefix``, and how
    their refusals are written (OTLP routes answer in the OTLP error format)."""

    prefix: str
    max_bytes: int
    encodings: frozenset[str] = frozenset({"identity"})
    refusal: Refusal = json_refusal


class RequestLimits:
    """ASGI middleware: refuses bodies over their route's bound and unknown encodings.

    The first rule whose ``prefix`` starts the path applies; other paths get
    ``default_max_bytes`` and no content encoding.
    """

    def __init__(
        self,
        app: ASGIApp,
        rules: tuple[BodyRule, ...] = (),
        default_max_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.rules = rules
        self.default = BodyRule("", default_max_bytes)

    def rule(self, path: str) -> BodyRule:
        """The rule that applies to ``path``."""
        return next((r for r in self.rules if path.startswith(r.prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.rule(scope["path"])
        headers = {k.lower(): v for k, v in scope["headers"]}
        refused = _refused(headers, rule)
        if refused is not None:
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            response = rule.refusal(*refused, content_type)
            # The unread body may still be coming: end the connection, not just the reply.
            response.headers["connection"] = "close"
            await response(scope, receive, send)
            return
        await self.app(scope, _bounded(receive, rule.max_bytes), send)


def _refused(headers: dict[bytes, bytes], rule: BodyRule) -> tuple[int, str] | None:
    """Status and message when the headers alone rule the request out."""
    encoding = headers.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
    if encoding not in rule.encodings and encoding != "identity":
        accepted = ", ".join(sorted(rule.encodings))
        return 415, f"content encoding {encoding!r} is not supported here; use: {accepted}"
    declared = headers.get(b"content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            return 400, "Content-Length is not a number"
        if length > rule.max_bytes:
            return 413, f"request body of {length} bytes is over {rule.max_bytes}"
    return None


def _bounded(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises ``BodyTooLargeError`` once more than ``limit`` bytes came."""
    seen = 0

    async def bounded_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLargeError(limit)
        return message

    return bounded_receive
