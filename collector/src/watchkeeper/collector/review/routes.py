"""Route tables for the review API and UI: handlers at module level, bound to an app later.

A handler is a plain module-level function whose first parameter is the app's
``ReviewContext``; FastAPI resolves the others from the request as usual. A
``RouteTable`` collects handlers with their method, path and the role they need, and
``RouteTable.router`` turns it into an ``APIRouter`` for one app, so handlers hold no
state and several apps (tests run many) can share the tables.

>>> table = RouteTable()
>>> @table.get("/ping", Role.VIEWER)
... def ping(review: ReviewContext) -> str:
...     return "pong"
>>> [(route.method, route.path, route.role.value) for route in table.routes]
[('GET', '/ping', 'viewer')]
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException

from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.tokens import Role, TokenRegistry
from watchkeeper.collector.review.workflow import ReviewError, ReviewWorkflow

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ReviewContext:
    """What one app's review routes work on: its workflow, authentication and tokens."""

    workflow: ReviewWorkflow
    auth: Auth
    registry: TokenRegistry


@dataclass(frozen=True)
class Route:
    """A handler with the method and path it answers and the role it needs (if any)."""

    method: str
    path: str
    handler: Callable[..., Any]
    role: Role | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


class RouteTable:
    """Routes declared with decorators next to their module-level handlers."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self, method: str, path: str, role: Role | None = None, **options: Any
    ) -> Callable[[F], F]:
        """Declare ``handler`` for ``method path`` (``options`` go to ``add_api_route``)."""

        def declare(handler: F) -> F:
            self.routes.append(Route(method, path, handler, role, options))
            return handler

        return declare

    def get(self, path: str, role: Role | None = None, **options: Any) -> Callable[[F], F]:
        """Declare a GET route."""
        return self.route("GET", path, role, **options)

    def post(self, path: str, role: Role | None = None, **options: Any) -> Callable[[F], F]:
        """Declare a POST route."""
        return self.route("POST", path, role, **options)

    def delete(self, path: str, role: Role | None = None, **options: Any) -> Callable[[F], F]:
        """Declare a DELETE route."""
        return self.route("DELETE", path, role, **options)

    def router(
        self, endpoint: Callable[[Route], Callable[..., Any]], **router_options: Any
    ) -> APIRouter:
        """An ``APIRouter`` with each route's handler made an endpoint by ``endpoint``."""
        router = APIRouter(**router_options)
        for route in self.routes:
            router.add_api_route(
                route.path, endpoint(route), methods=[route.method], **route.options
            )
        return router


def bound_endpoint(
    route: Route,
    call: Callable[..., Any],
    *,
    supplied: tuple[str, ...],
    depends: Mapping[str, Callable[..., Any]] | None = None,
) -> Callable[..., Any]:
    """``call`` presented to FastAPI with ``route.handler``'s name, docs and parameters.

    The parameters named in ``supplied`` are left out (``call`` passes them itself); each
    parameter named in ``depends`` is resolved by the FastAPI dependency given for it.
    """
    signature = inspect.signature(route.handler, eval_str=True)
    depends = depends or {}
    parameters = [
        parameter.replace(annotation=Annotated[parameter.annotation, Depends(depends[name])])
        if name in depends
        else parameter
        for name, parameter in signature.parameters.items()
        if name not in supplied
    ]
    endpoint = functools.update_wrapper(call, route.handler)
    # FastAPI reads an endpoint's parameters from its signature; __signature__ takes
    # precedence over the wrapped handler's.
    endpoint.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return endpoint


@contextmanager
def http_errors() -> Iterator[None]:
    """A review error raised in the block becomes the HTTP error of its status."""
    try:
        yield
    except ReviewError as exc:
        raise HTTPException(exc.status, str(exc)) from None


def api_endpoints(ctx: object, auth: Auth, supplied: str) -> Callable[[Route], Callable[..., Any]]:
    """How :meth:`RouteTable.router` binds an API's routes: each handler gets ``ctx`` as its
    parameter named ``supplied`` and the caller's principal as ``me``, authenticated for
    the route's role (an API route must declare one); review errors become HTTP errors."""

    def endpoint(route: Route) -> Callable[..., Any]:
        if route.role is None:
            raise ValueError(f"API route {route.path} declares no role")

        def call(**kwargs: Any) -> Any:
            with http_errors():
                return route.handler(ctx, **kwargs)

        return bound_endpoint(
            route, call, supplied=(supplied,), depends={"me": auth.api(route.role)}
        )

    return endpoint
