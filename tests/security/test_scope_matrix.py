"""Authentication and scopes before the body, generated from the app's routes: every /v1
operation answers 401 without a token and 403 to a token lacking its scope, whatever the
body (here: not JSON at all), and every /v1 operation requires a scope."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from app.http.routing import GuardedRoute
from app.runtime import Runtime
from tests.auth.factories import ALL_SCOPES, new_actor
from tests.security.world import classify, operations

GARBAGE = {"content": b'{"name": "x",, ]', "headers": {"content-type": "application/json"}}


def filled(path: str, params: list[str]) -> str:
    for name in params:
        path = path.replace("{" + name + "}", uuid.uuid4().hex)
    return path


async def test_every_route_is_guarded_and_scoped(app: FastAPI) -> None:
    ops = operations(app)
    # A route without the guard must be public and take no input the guard would check.
    unguarded = [op for op in ops if not isinstance(op.route, GuardedRoute)]
    takes_input = [
        str(op)
        for op in unguarded
        if classify(op) != "public"
        or op.params
        or op.route.dependant.query_params
        or op.route.body_field is not None
    ]
    assert not takes_input, f"routes that need GuardedRoute: {takes_input}"
    api_ops = [op for op in ops if classify(op) != "public"]
    unscoped = [str(op) for op in api_ops if not op.scopes]
    assert not unscoped, f"/v1 operations that require no scope: {unscoped}"


async def test_no_token_is_401_and_a_missing_scope_403_before_the_body(
    app: FastAPI, runtime: Runtime, api: httpx.AsyncClient
) -> None:
    api_ops = [op for op in operations(app) if classify(op) != "public"]
    lacking: dict[tuple[str, ...], dict[str, str]] = {}
    failures = []
    for op in api_ops:
        path = filled(op.path, op.params)
        anonymous = await api.request(op.method, path, **GARBAGE)
        if anonymous.status_code != 401 or "www-authenticate" not in anonymous.headers:
            failures.append(f"{op} without a token: {anonymous.status_code} {anonymous.text[:150]}")
        key = tuple(op.scopes)
        if key not in lacking:
            others = [s for s in ALL_SCOPES if s not in op.scopes]
            lacking[key] = (await new_actor(runtime, api, others)).headers
        denied = await api.request(
            op.method,
            path,
            headers={**GARBAGE["headers"], **lacking[key]},
            content=GARBAGE["content"],
        )
        if denied.status_code != 403 or denied.json().get("missing_scopes") != op.scopes:
            failures.append(f"{op} lacking {op.scopes}: {denied.status_code} {denied.text[:150]}")
    print(
        f"\nscope matrix: {len(api_ops)} operations x (no token, token lacking the scope)"
        f" = {2 * len(api_ops)} requests, each with a body that is not JSON"
    )
    assert not failures, "\n".join(failures)
    assert len(api_ops) >= 51  # 51 operations under /v1 when this was written
