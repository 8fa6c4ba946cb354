"""Route lookup by the path's first two segments, in front of FastAPI's router.

FastAPI's router tries its routes in order, and an included router's routes one by one inside
it (with a fair amount of bookkeeping each), so a path served by a late router (`/healthz`,
`/v1/webhooks`) pays for a regex test of nearly every route of the API first: 300 µs of CPU
for `/healthz` here, more than the rest of the request. This index hands each request to a copy
of the router holding only the routes that could match the path at all: those whose path,
up to its first parameter, agrees with the path's first two segments. Order, partial matches
(405), trailing-slash redirects, low-priority routes and the 404 are the router's own, on that
subset; a route the index cannot read (no plain path) stays in every subset.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter, _IncludedRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

MAX_KEYS = 1024  # subsets remembered; a path outside them is looked up again (still correct)

Key = tuple[str, ...]


def path_key(path: str) -> Key:
    """The path's first two segments, stopping at an empty one ("/v1/" is ("v1",))."""
    key: list[str] = []
    for segment in path.split("/", 3)[1:3]:
        if not segment:
            break
        key.append(segment)
    return tuple(key)


def _may_match(template: str, key: Key) -> bool:
    """Whether a path template's literal part (up to its first `{`) agrees with `key`."""
    literal = template.split("{", 1)[0].split("/")[1:]
    for index, segment in enumerate(key):
        if index == len(literal) - 1:  # the template's last literal piece may continue
            return segment.startswith(literal[index])
        if literal[index] != segment:
            return False
    return True


def _templates(route: BaseRoute) -> list[str] | None:
    """Every path template a top-level route serves, or None when it cannot be read."""
    if isinstance(route, _IncludedRouter):
        found: list[str] = []
        contexts = [*route.effective_route_contexts(), *route.effective_low_priority_routes()]
        for context in contexts:
            if isinstance(context.original_route, APIRoute) and context.path:
                found.append(context.path)  # the path as included (prefixes applied)
            elif isinstance(context.starlette_route, Route | Mount):
                found.append(context.starlette_route.path)
            else:
                return None
        return found
    if isinstance(route, Route | Mount):
        return [route.path]
    return None


class RouteIndex:
    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self._routes: list[BaseRoute] | None = None
        self._count = -1
        self._templates: list[tuple[BaseRoute, list[str] | None]] = []
        self._subsets: dict[Key, APIRouter] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.router.app(scope, receive, send)
            return
        routes = self.router.routes
        if routes is not self._routes or len(routes) != self._count:
            self._reindex(routes)
        key = path_key(get_route_path(scope))
        subset = self._subsets.get(key)
        if subset is None:
            subset = self._subset(key)
        if "router" not in scope:
            scope["router"] = self.router  # url_for and friends see every route
        await subset.app(scope, receive, send)

    def _reindex(self, routes: list[BaseRoute]) -> None:
        self._templates = [(route, _templates(route)) for route in routes]
        self._subsets = {}
        self._routes, self._count = routes, len(routes)

    def _subset(self, key: Key) -> APIRouter:
        subset: Any = copy.copy(self.router)
        subset.routes = [
            route
            for route, templates in self._templates
            if templates is None or any(_may_match(t, key) for t in templates)
        ]
        if len(self._subsets) < MAX_KEYS:
            self._subsets[key] = subset
        return subset


def install_route_index(app: FastAPI) -> None:
    """Put the index in front of the app's router (after every route is added; routes added
    later are indexed at the next request)."""
    app.router.middleware_stack = RouteIndex(app.router)
