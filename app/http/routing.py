"""The route class of the API: authenticate and authorise before the body is read.

FastAPI parses a JSON body before it runs any dependency, so without this a malformed body
without a token answers 422 instead of 401. `GuardedRoute` looks, once, at the dependencies a
route declares (`CurrentPrincipal`, `require_scopes(...)`) and at each request first verifies
the token (401) and the scopes (403, audited like any refusal), then refuses control
characters in path and query parameters, then reads the body: not JSON → 422 saying where;
control characters in any string → 422 naming the field. Only then does FastAPI parse and
validate the body and run the route, whose dependencies reuse the principal found here.

Every router of the service declares it: `APIRouter(..., route_class=GuardedRoute)`.

FastAPI solves the dependency tree a route declares at every request, and that tree is written
for the OpenAPI document as much as for the request: `authenticate` lists both security
schemes (solved, uselessly, once for `Depends(authenticate)` and once more for each
`Security(authenticate, scopes=...)`), and the router-level `rate_limited` is one more node.
The handler therefore solves a pruned copy (the document still reads the declared tree):
`authenticate` without its scheme sub-dependencies (it returns the principal the guard already
found), and the rate limit called by the guard itself at the point where FastAPI solved it, the
first dependency: after the scope and input checks, before any other dependency or the audit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from email.message import Message
from functools import cached_property, lru_cache
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _effective_route_context_var

from app.audit.capture import record_refusal
from app.auth.dependencies import authenticate, authenticate_request, ensure_scopes
from app.errors import Forbidden
from app.http import text_checks
from app.http.cursors import check_signature, cursor_scope
from app.http.rate_limit import rate_limited


def auth_needs(dependant: Dependant) -> tuple[bool, list[str]]:
    """Whether a route authenticates, and every scope its dependencies require."""
    authenticated, scopes = False, []
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        authenticated = authenticated or dep.call is authenticate
        scopes.extend(getattr(dep.call, "required_scopes", ()))
        stack.extend(dep.dependencies)
    return authenticated, sorted(set(scopes))


async def _principal(request: Request) -> Any:
    """`authenticate` as the handler solves it: the principal of the request (found by the
    guard, or now), without the security schemes' sub-dependencies (for the document only)."""
    return await authenticate_request(request)


_SCOPED: dict[Any, Any] = {}


def _scope_check_leaf(dependant: Dependant) -> Dependant | None:
    """`require_scopes(...)`'s check, solved as one leaf (it was a node over `authenticate`):
    the principal, its scopes checked again (the guard checked them first)."""
    needed = getattr(dependant.call, "required_scopes", None)
    if needed is None:
        return None
    leaf = _SCOPED.get(dependant.call)
    if leaf is None:

        async def leaf(request: Request) -> Any:
            principal = await authenticate_request(request)
            ensure_scopes(principal, needed)
            return principal

        _SCOPED[dependant.call] = leaf
    return dataclasses.replace(dependant, call=leaf, dependencies=[], request_param_name="request")


def _without_auth_schemes(dependant: Dependant) -> Dependant:
    if dependant.call is authenticate:
        return dataclasses.replace(dependant, call=_principal, dependencies=[])
    leaf = _scope_check_leaf(dependant)
    if leaf is not None:
        return leaf
    if not dependant.dependencies:
        return dependant
    return dataclasses.replace(
        dependant, dependencies=[_without_auth_schemes(dep) for dep in dependant.dependencies]
    )


def runtime_dependant(dependant: Dependant) -> tuple[Dependant, bool]:
    """The tree the handler solves per request, and whether the guard must apply the rate
    limit (a first-level `rate_limited`, taken out of the tree)."""
    limited = any(dep.call is rate_limited for dep in dependant.dependencies)
    kept = [dep for dep in dependant.dependencies if dep.call is not rate_limited]
    pruned = _without_auth_schemes(dataclasses.replace(dependant, dependencies=kept))
    return pruned, limited


@lru_cache(maxsize=256)  # a handful of content types in practice; parsing one costs ~30 us
def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # FastAPI reads a body without a content type as JSON too
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class GuardedRoute(APIRoute):
    @cached_property
    def requirements(self) -> tuple[bool, list[str]]:
        """(authenticates, scopes): from the route's own dependencies, read on first use."""
        return auth_needs(self.dependant)

    @cached_property
    def takes_cursor(self) -> bool:
        return any(param.name == "cursor" for param in self.dependant.query_params)

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        # The route as included (with its router's dependencies), as APIRoute reads it.
        route: Any = self
        context = _effective_route_context_var.get()
        if context is not None and context.original_route is self:
            route = context
        declared = route.dependant
        runtime, limited = runtime_dependant(declared)
        route.dependant = runtime
        try:
            handle = super().get_route_handler()
        finally:
            route.dependant = declared

        async def guarded(request: Request) -> Response:
            tenant = ""
            authenticated, scopes = self.requirements
            if authenticated:
                principal = await authenticate_request(request)
                tenant = principal.tenant_id
                try:
                    ensure_scopes(principal, scopes)
                except Forbidden as refused:
                    await record_refusal(request, principal, request.app.state.runtime, refused)
                    raise
            text_checks.check_params("path", request.path_params.items())
            text_checks.check_params("query", request.query_params.multi_items())
            await self._check_body(request)
            token = cursor_scope.set(f"{self.unique_id}|{tenant}")
            try:
                # A list's cursor is checked before anything reads the list's parent, so a
                # forged one is a 422 on /{id}/events as on any list.
                if self.takes_cursor and "cursor" in request.query_params:
                    check_signature(request.query_params["cursor"])
                if limited:
                    await rate_limited(
                        await authenticate_request(request), request.app.state.runtime
                    )
                return await handle(request)
            finally:
                cursor_scope.reset(token)

        return guarded

    async def _check_body(self, request: Request) -> None:
        if self.body_field is None:
            return
        content_type = request.headers.get("content-type")
        if content_type and content_type.startswith("application/x-www-form-urlencoded"):
            form = await request.form()  # cached: FastAPI reuses it
            text_checks.check_params(
                "body", [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
            )
            return
        raw = await request.body()  # cached: FastAPI reads the same bytes
        if raw and _is_json(content_type):
            text_checks.check_json(text_checks.parse_json_body(raw))
